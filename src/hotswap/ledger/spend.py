"""A router's running totals for its session: what the status line shows, kept in memory.

Updated by the ledger observer with each finished exchange (on the event loop, after the
response), seeded from the ledger when the router starts, so `hotswap statusline` gets it
from /_hotswap/status and never opens the database.
"""

from __future__ import annotations

from typing import Any

from hotswap.config.prices import ANTHROPIC, Price, PriceTable, lookup
from hotswap.router.exchange import CLIENT_GONE, OK, ExchangeRecord, Usage

MAX_PRICED_MODELS = 256  # (backend, model, client model) triples whose prices are kept


def priced_model(record: ExchangeRecord) -> str | None:
    """The model a record's tokens are priced as: the one sent, else the one that answered."""
    return record.wire_model or record.response_model or record.client_model


class Spend:
    """Cost and savings of the exchanges seen so far (unknown prices counted, not guessed)."""

    def __init__(self, table: PriceTable) -> None:
        self.table = table
        self.requests = 0
        self.failed = 0  # of the requests: no answer, or an error answer (as `hotswap cost`)
        self.cost_usd = 0.0
        self.savings_usd = 0.0
        self.unpriced = 0  # exchanges that used tokens on a model without a price
        # Each (backend, model, client model)'s price and Claude price: looked up (globs)
        # once, not on every exchange.
        self._prices: dict[tuple[str | None, ...], tuple[Price | None, Price | None]] = {}

    def add(self, record: ExchangeRecord) -> None:
        self.failed += record.outcome not in (OK, CLIENT_GONE)  # queries.FAILED_SQL
        self.add_usage(record.usage, record.backend, priced_model(record), record.client_model)

    def add_usage(
        self,
        usage: Usage,
        backend: str | None,
        model: str | None,
        client_model: str | None,
        requests: int = 1,
        with_tokens: int | None = None,
    ) -> None:
        """`requests` exchanges whose tokens sum to `usage` (`with_tokens` of them used any)."""
        self.requests += requests
        if usage.total == 0:
            return  # no tokens cost a known $0
        price, claude = self._priced(backend, model, client_model)
        if price is None:
            self.unpriced += requests if with_tokens is None else with_tokens
            return
        cost = price.cost(usage)
        self.cost_usd += cost
        if claude is not None:
            self.savings_usd += claude.cost(usage) - cost

    def cost_of(self, record: ExchangeRecord) -> float | None:
        """What `record` cost (None: no price), by this spend's cached price lookups: what
        the budgets count (ledger/budgets.py), priced once per model, not per exchange."""
        if record.usage.total == 0:
            return 0.0
        price, _ = self._priced(record.backend, priced_model(record), record.client_model)
        return None if price is None else price.cost(record.usage)

    def _priced(
        self, backend: str | None, model: str | None, client_model: str | None
    ) -> tuple[Price | None, Price | None]:
        key = (backend, model, client_model)
        found = self._prices.get(key)
        if found is None:
            if len(self._prices) >= MAX_PRICED_MODELS:
                self._prices.clear()
            claude = lookup(self.table, ANTHROPIC, client_model)
            found = (lookup(self.table, backend, model), claude)
            self._prices[key] = found
        return found

    def snapshot(self) -> dict[str, Any]:
        return {
            "cost_usd": round(self.cost_usd, 6),
            "savings_usd": round(self.savings_usd, 6),
            "requests": self.requests,
            "failed": self.failed,
            "unknown_price": self.unpriced > 0,
        }

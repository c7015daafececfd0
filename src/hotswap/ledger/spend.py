"""A router's running totals for its session: what the status line shows, kept in memory.

Updated by the ledger observer with each finished exchange (on the event loop, after the
response), seeded from the ledger when the router starts, so `hotswap statusline` gets it
from /_hotswap/status and never opens the database.
"""

from __future__ import annotations

from typing import Any

from hotswap.exchange import ExchangeRecord, Usage
from hotswap.prices import PriceTable, price_usage


def priced_model(record: ExchangeRecord) -> str | None:
    """The model a record's tokens are priced as: the one sent, else the one that answered."""
    return record.wire_model or record.response_model or record.client_model


class Spend:
    """Cost and savings of the exchanges seen so far (unknown prices counted, not guessed)."""

    def __init__(self, table: PriceTable) -> None:
        self.table = table
        self.requests = 0
        self.cost_usd = 0.0
        self.savings_usd = 0.0
        self.unpriced = 0  # exchanges that used tokens on a model without a price

    def add(self, record: ExchangeRecord) -> None:
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
        costed = price_usage(self.table, usage, backend, model, client_model)
        if costed.cost_usd is None:
            self.unpriced += requests if with_tokens is None else with_tokens
            return
        self.cost_usd += costed.cost_usd
        if costed.savings_usd is not None:
            self.savings_usd += costed.savings_usd

    def snapshot(self) -> dict[str, Any]:
        return {
            "cost_usd": round(self.cost_usd, 6),
            "savings_usd": round(self.savings_usd, 6),
            "requests": self.requests,
            "unknown_price": self.unpriced > 0,
        }

"""A router's ledger: one writer thread and the session's running spend, fed by one
exchange observer (and, with `[budgets]`, the budgets' tracker: ledger/budgets.py).
`open_ledger(state)` where routers start; `close()` where they stop."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from hotswap.config.prices import price_table
from hotswap.ledger.budgets import RouterBudgets, open_budgets
from hotswap.ledger.queries import session_failures, session_usage
from hotswap.ledger.spend import Spend
from hotswap.ledger.store import connect, ledger_path
from hotswap.ledger.writer import CLOSE_WAIT_S, LedgerWriter, WriteError
from hotswap.router.exchange import ExchangeRecord

if TYPE_CHECKING:
    from hotswap.router.state import RouterState

log = logging.getLogger("hotswap")

# Flushing on shutdown: a ledger busy longer than this gets the rest through the spill file.
CLOSE_TIMEOUT_S = CLOSE_WAIT_S


class RouterLedger:
    """What a router holds of the ledger: its exchange sink (exchange.ExchangeSink)."""

    def __init__(self, writer: LedgerWriter, spend: Spend) -> None:
        self.writer = writer
        self.spend = spend
        self.budgets: RouterBudgets | None = None  # [budgets] configured (ledger/budgets.py)

    def observe(self, record: ExchangeRecord) -> None:
        """The exchange observer: count it, queue it. Never waits on the disk."""
        self.spend.add(record)
        self.writer.submit(record)

    def status(self) -> dict[str, Any]:
        return {"ledger": self.writer.health(), "spend": self.spend.snapshot()}

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> bool:
        return self.writer.close(timeout)


def open_ledger(state: RouterState) -> RouterLedger:
    """Start the router's ledger writer, seed its spend, and add it to the router's
    exchange sinks (the observer seam: the state holds no ledger of its own)."""
    config = state.config
    path = ledger_path(config.state_dir)
    spend = Spend(price_table(config.prices))
    seed(spend, state.session_id, state.started, path)
    writer = LedgerWriter(path, retention_days=config.ledger_retention_days).start()
    ledger = RouterLedger(writer, spend)
    state.observers.add_sink(ledger)
    ledger.budgets = open_budgets(state, path, spend)
    return ledger


async def close_ledger(ledger: RouterLedger, timeout: float = CLOSE_TIMEOUT_S) -> bool:
    """After the router stopped: let already scheduled observers run, then flush."""
    if ledger.budgets is not None:
        await ledger.budgets.close()
    await asyncio.sleep(0)
    return await asyncio.to_thread(ledger.close, timeout)


def seed(spend: Spend, session: str | None, since: float, path: Any) -> None:
    """The session's exchanges already in the ledger (since it started: an older session
    that had the same short id is not counted). A ledger that cannot be read seeds nothing:
    the writer reports the problem."""
    try:
        conn = connect(path)
        try:
            for usage, backend, model, client_model, n, with_tokens in session_usage(
                conn, session, since
            ):
                spend.add_usage(usage, backend, model, client_model, n, with_tokens)
            spend.failed += session_failures(conn, session, since)
        finally:
            conn.close()
    except WriteError as exc:
        log.debug("ledger: not seeding the session's spend: %s", exc)

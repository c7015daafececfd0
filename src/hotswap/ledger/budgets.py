"""A router's budgets (`[budgets.NAME]`, config/budgets.py): each budgeted backend's spend
this day / week / month, shared by every session on the machine through the ledger.

The spend of a (backend, period) is two parts:
- **other routers'**: read from the ledger (ledger.queries.cost, as `hotswap cost` reads
  and prices it: one query per distinct period start, the budgeted backends only), at start
  and then every `[router] budget_refresh_s` in a worker thread, never on the event loop.
  This router's own rows are left out of the read (their ids carry its random prefix,
  exchange.ExchangeIds.prefix), so nothing is counted twice;
- **this router's own**: each exchange added as it finishes (an exchange sink, so on the
  event loop after the response, never on the request path).

After each change the tracker hands the router one verdict per backend whose budget is
spent (RouterState.budget_reached): the request path reads that and nothing else
(router/budget_gate.py). A budget can so be passed by at most the requests already in
flight when it was reached, plus what other sessions spent since the last re-read
(docs/budgets.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from hotswap.config.budgets import SPAN_WORDS, Budget, period_end, period_start, reset_words
from hotswap.config.prices import PriceTable
from hotswap.figures import usd
from hotswap.ledger.queries import CostLine, Filter, cost
from hotswap.ledger.spend import Spend
from hotswap.ledger.store import LEDGER_ERRORS, open_read_only
from hotswap.router.budget_gate import BudgetVerdict
from hotswap.router.exchange import ExchangeRecord

if TYPE_CHECKING:
    from hotswap.router.state import RouterState

log = logging.getLogger("hotswap")

OK, WARN, REACHED = "ok", "warn", "reached"
Clock = Callable[[], float]
Totals = dict[tuple[str, str], float]  # (backend, period) -> usd


class Read(NamedTuple):
    """One read of the ledger: the period starts it was made for, and per (backend,
    period) the priced spend and the exchanges without a price (not counted)."""

    starts: dict[str, float]
    spent: Totals
    unpriced: dict[tuple[str, str], int]


class BudgetTracker:
    """The spend of each budget, and the verdicts the router's request path reads."""

    def __init__(
        self,
        budgets: tuple[Budget, ...],
        table: PriceTable,
        prefix: str | None = None,
        clock: Clock = time.time,
        cost_of: Callable[[ExchangeRecord], float | None] | None = None,
    ) -> None:
        self.budgets = budgets
        self.table = table
        self.cost_of = cost_of or Spend(table).cost_of  # the router's ledger's, when given
        self.prefix = prefix  # this router's exchange ids' prefix (its rows, left out)
        self.clock = clock
        self.others: Totals = {}  # other routers' spend, at the last read
        self.others_unpriced: dict[tuple[str, str], int] = {}  # ...exchanges without a price
        self._others_starts: dict[str, float] = {}  # the period starts of that read
        self.own: Totals = {}  # this router's, since each period began
        self.own_unpriced: dict[tuple[str, str], int] = {}  # ...its exchanges without a price
        self._own_starts: dict[str, float] = {}
        self.reached: dict[str, BudgetVerdict] = {}

    def periods(self) -> set[str]:
        return {period for b in self.budgets for period, _ in b.limits}

    def starts(self, now: float) -> dict[str, float]:
        return {period: period_start(period, now) for period in self.periods()}

    def read_others(self, path: Path, now: float) -> Read:
        """Other routers' spend on each budgeted backend since each period began (a
        blocking read: call it from a thread). An unreadable ledger reads as nothing."""
        starts = self.starts(now)
        budgeted = tuple(b.backend for b in self.budgets)
        try:
            conn = open_read_only(path)
        except (FileNotFoundError, *LEDGER_ERRORS):
            return Read(starts, {}, {})
        try:
            since = {start: self._read(conn, start, budgeted) for start in set(starts.values())}
        except LEDGER_ERRORS as exc:
            log.warning("budgets: cannot read the ledger: %s", exc)
            return Read(self._others_starts, self.others, self.others_unpriced)
        finally:
            conn.close()
        spent: Totals = {}
        unpriced: dict[tuple[str, str], int] = {}
        for b in self.budgets:
            for period, _ in b.limits:
                line = since[starts[period]].get(b.backend)
                spent[(b.backend, period)] = line.cost_usd if line else 0.0
                unpriced[(b.backend, period)] = line.unpriced if line else 0
        return Read(starts, spent, unpriced)

    def _read(
        self, conn: sqlite3.Connection, start: float, backends: tuple[str, ...]
    ) -> dict[str, CostLine]:
        """Other routers' cost lines since `start`, by backend (`hotswap cost --by backend`)."""
        where = Filter(since=start, not_prefix=self.prefix, backends=backends)
        return {line.key: line for line in cost(conn, self.table, "backend", where)[0]}

    def took(self, read: Read) -> None:
        """A read of the ledger is in: the verdicts are made again."""
        self._others_starts, self.others, self.others_unpriced = read
        self.judge()

    def observe(self, record: ExchangeRecord) -> None:
        """The exchange sink: one of this router's exchanges finished."""
        if record.backend is None or record.usage.total == 0:
            return
        if not any(b.backend == record.backend for b in self.budgets):
            return
        cost = self.cost_of(record)
        for period, start in self.starts(self.clock()).items():
            if self._own_starts.get(period) != start:  # a new period: the old one's is gone
                self._own_starts[period] = start
                for own in (self.own, self.own_unpriced):
                    for key in [k for k in own if k[1] == period]:
                        del own[key]
            key = (record.backend, period)
            if cost is None:
                self.own_unpriced[key] = self.own_unpriced.get(key, 0) + 1
            else:
                self.own[key] = self.own.get(key, 0.0) + cost
        self.judge()

    def spent(self, backend: str, period: str, starts: dict[str, float]) -> tuple[float, int]:
        """Both parts (USD, and exchanges without a price), each only if it belongs to the
        period holding now."""
        key, usd, unpriced = (backend, period), 0.0, 0
        if self._own_starts.get(period) == starts[period]:
            usd, unpriced = self.own.get(key, 0.0), self.own_unpriced.get(key, 0)
        if self._others_starts.get(period) == starts[period]:
            usd += self.others.get(key, 0.0)
            unpriced += self.others_unpriced.get(key, 0)
        return usd, unpriced

    def rows(self) -> list[dict[str, Any]]:
        """Each (backend, period): its limit, its spend, its state (ok, warn, reached)."""
        now = self.clock()
        starts = self.starts(now)
        out = []
        for b in self.budgets:
            for period, limit in b.limits:
                spent, unpriced = self.spent(b.backend, period, starts)
                state = REACHED if spent >= limit else WARN if spent >= limit * b.warn_at else OK
                row = budget_row(b, period, limit, spent, state, period_end(period, now))
                row["unpriced"] = unpriced
                out.append(row)
        return out

    def judge(self) -> None:
        """The verdicts, made once here for the request path to read (a new dict, handed
        over whole: a reader never sees half of one)."""
        reached: dict[str, BudgetVerdict] = {}
        for row in self.rows():
            if row["state"] == REACHED and row["backend"] not in reached:
                message = spent_message(row)
                reached[row["backend"]] = BudgetVerdict(
                    row["backend"], row["then"], message, row["resets_at"]
                )
        self.reached = reached

    def status(self) -> dict[str, Any]:
        return {"budgets": self.rows()}


def budget_row(
    b: Budget, period: str, limit: float, spent: float, state: str, resets_at: float
) -> dict[str, Any]:
    return {
        "backend": b.backend,
        "period": period,
        "limit_usd": limit,
        "spent_usd": round(spent, 6),
        "percent": round(100 * spent / limit),
        "state": state,
        "warn_at": b.warn_at,
        "then": b.then,
        "resets_at": resets_at,
    }


def spent_message(row: dict[str, Any]) -> str:
    """`hotswap: anthropic's daily budget of $20.00 is spent ($20.31 today); it resets at
    00:00`."""
    period = row["period"]
    when = reset_words(period, row["resets_at"])
    return (
        f"hotswap: {row['backend']}'s {period} budget of {usd(row['limit_usd'])} is spent "
        f"({usd(row['spent_usd'])} {SPAN_WORDS[period]}); it resets "
        f"{'at ' if period == 'daily' else ''}{when}"
    )


class RouterBudgets:
    """What a router holds of its budgets: the tracker as an exchange sink, and the task
    that re-reads the ledger."""

    def __init__(self, tracker: BudgetTracker, state: RouterState, path: Path) -> None:
        self.tracker, self.state, self.path = tracker, state, path
        self.task: asyncio.Task[None] | None = None
        self.reads = 0

    def observe(self, record: ExchangeRecord) -> None:
        self.tracker.observe(record)
        self._hand_over()

    def status(self) -> dict[str, Any]:
        return self.tracker.status()

    async def refresh(self) -> None:
        """Re-read the ledger in a worker thread, then judge on the event loop."""
        read = await asyncio.to_thread(self.tracker.read_others, self.path, self.tracker.clock())
        self.tracker.took(read)
        self.reads += 1
        self._hand_over()

    async def run(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.refresh()
            except Exception:  # a bug here never stops the router; the next read retries
                log.exception("budgets: re-reading the ledger failed")

    def _hand_over(self) -> None:
        self.state.budgets_changed(self.tracker.reached)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def ledger_budgets(
    budgets: tuple[Budget, ...], table: PriceTable, path: Path
) -> list[dict[str, Any]]:
    """Every budget's spend this period, from the ledger alone (`hotswap budgets`: no
    router needed)."""
    tracker = BudgetTracker(budgets, table)
    tracker.took(tracker.read_others(path, tracker.clock()))
    return tracker.rows()


def open_budgets(state: RouterState, path: Path, spend: Spend) -> RouterBudgets | None:
    """A router's budgets, when the config has any: seeded from the ledger now (one
    query), then an exchange sink, and a task re-reading the ledger."""
    config = state.config
    if not config.budgets:
        return None
    tracker = BudgetTracker(config.budgets, spend.table, state.exchange_ids.prefix,
                            cost_of=spend.cost_of)  # fmt: skip
    tracker.took(tracker.read_others(path, tracker.clock()))
    budgets = RouterBudgets(tracker, state, path)
    budgets._hand_over()
    state.observers.add_sink(budgets)
    budgets.task = asyncio.get_running_loop().create_task(
        budgets.run(config.router.budget_refresh_s)
    )
    return budgets

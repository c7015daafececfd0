"""The gateway's ledger: every finished exchange, with its user, in PostgreSQL.

The router's observer (`observe`, on the event loop after the response) prices the record
and queues one row; a writer task takes what has queued (up to BATCH_ROWS) and inserts it
in one transaction, so the hot path never waits on PostgreSQL. While PostgreSQL is down,
rows are appended to a local spill file (JSON lines) and written, in order, once it answers
again (row ids make a replay idempotent: ON CONFLICT DO NOTHING).
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from hotswap.config.prices import PriceTable, price_usage
from hotswap.gateway.caller import CallerSlot
from hotswap.gateway.database import Database, DatabaseError
from hotswap.ledger.rows import EXCHANGE_COLUMNS, attempt_dicts, exchange_row
from hotswap.ledger.spend import priced_model
from hotswap.ledger.spill import append_lines, json_lines
from hotswap.router.exchange import ExchangeRecord

log = logging.getLogger("hotswap")

BATCH_ROWS = 500
# A batch waits this long for more rows after its first: a transaction per exchange took a
# sixth of a worker's time under a steady stream of requests (py-spy, docs/performance.md).
BATCH_WAIT_S = 0.25
MAX_QUEUED = 100_000  # rows waiting for the writer; past this they go to the spill file
RETRY_S = 2.0  # PostgreSQL down: how often the writer tries again
# In the order the table grew (a spilled row from an older gateway lacks the last ones,
# which _read fills with NULL). Every column but the user's and the prices is the personal
# ledger's (ledger/rows.EXCHANGE_COLUMNS; `id` is its exchange_id), valued as it values them.
COLUMN_NAMES = (
    "id", "user_id", "user_name", "session", "started", "endpoint", "stream", "client_model",
    "active", "backend", "wire_model", "response_model", "status", "outcome", "error",
    "fell_back_from", "fallback_kind", "input_tokens", "output_tokens", "cache_read_tokens",
    "cache_write_tokens", "cost_usd", "claude_usd", "ttfb_ms", "duration_ms", "route",
    "stop_reason", "request_bytes", "response_bytes", "conversation", "agent", "attempts",
)  # fmt: skip
N_COLUMNS = len(COLUMN_NAMES)
COST_COLUMN = COLUMN_NAMES.index("cost_usd")
_SHARED = [(COLUMN_NAMES.index("id" if c == "exchange_id" else c), i)
           for i, c in enumerate(EXCHANGE_COLUMNS) if c != "session"]  # fmt: skip
_STREAM = COLUMN_NAMES.index("stream")
_PLACES = ", ".join("%s::jsonb" if c == "attempts" else "%s" for c in COLUMN_NAMES)
INSERT = (
    f"INSERT INTO gateway_exchanges ({', '.join(COLUMN_NAMES)}) VALUES ({_PLACES})"
    " ON CONFLICT (id) DO NOTHING"
)


def row_of(
    record: ExchangeRecord, uid: int, user: str, session: str | None, prices: PriceTable
) -> list[Any]:
    """The record as the personal ledger's row (rows.exchange_row), plus the user, the
    caller's session (Claude Code's id, not a hotswap session's), the prices, and the
    attempts as JSON (rows.attempt_dicts)."""
    costed = price_usage(prices, record.usage, record.backend, priced_model(record),
                         record.client_model)  # fmt: skip
    shared = exchange_row(record)
    row: list[Any] = [None] * N_COLUMNS
    for mine, theirs in _SHARED:
        row[mine] = shared[theirs]
    row[1:4] = [uid, user, session]
    row[_STREAM] = bool(record.stream)  # (a boolean column: the personal ledger's is 0/1)
    row[COST_COLUMN : COST_COLUMN + 2] = [costed.cost_usd, costed.claude_usd]
    row[-1] = json.dumps(attempt_dicts(record))
    return row


class GatewayLedger:
    """The gateway's ExchangeSink (router.exchange): a queue, a writer task, a spill file."""

    def __init__(self, db: Database, slot: CallerSlot, prices: PriceTable, spill: Path) -> None:
        self.db, self.slot, self.prices, self.spill = db, slot, prices, spill
        self.queue: asyncio.Queue[list[Any]] = asyncio.Queue()
        self.written = 0
        self.spilled = 0
        self.problem: str | None = None
        self._task: asyncio.Task[None] | None = None
        self.on_cost: list[Any] = []  # callbacks (user id, usd): the daily budgets

    def observe(self, record: ExchangeRecord) -> None:
        caller = self.slot.get()
        if caller is None:
            return  # not a user's request (none reach the router without a key)
        row = row_of(record, caller.user.id, caller.user.name, caller.session, self.prices)
        if self.queue.qsize() >= MAX_QUEUED:
            append_lines(self.spill, [row])
            self.spilled += 1
        else:
            self.queue.put_nowait(row)
        for callback in self.on_cost:
            callback(caller.user, row[COST_COLUMN] or 0.0)

    def status(self) -> dict[str, Any]:
        return {
            "ledger": {
                "ok": self.problem is None,
                "problem": self.problem,
                "written": self.written,
                "queued": self.queue.qsize(),
                "spilled": self.spilled,
                "store": "postgresql",
            }
        }

    def start(self) -> GatewayLedger:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def _run(self) -> None:
        while True:
            if self.spill.exists() or self._replaying.exists():
                await self._replay()
            if self.problem is not None:  # PostgreSQL down: tried again every RETRY_S
                await asyncio.to_thread(append_lines, self.spill, self._drain())
                await asyncio.sleep(RETRY_S)
                continue
            rows = [await self.queue.get()]
            try:  # let the exchanges of the next moment join it: one transaction for all
                await asyncio.sleep(BATCH_WAIT_S)
                while len(rows) < BATCH_ROWS and not self.queue.empty():
                    rows.append(self.queue.get_nowait())
                await self._write(rows)
            except asyncio.CancelledError:  # close(): it writes what is queued, these too
                for row in rows:  # (ON CONFLICT DO NOTHING: a batch written twice is once)
                    self.queue.put_nowait(row)
                raise

    async def _write(self, rows: list[list[Any]]) -> None:
        try:
            await self.db.many(INSERT, rows)
            self.written += len(rows)
            self.problem = None
        except DatabaseError as exc:
            if self.problem is None:
                log.warning("gateway ledger: %s; spilling to %s", exc, self.spill)
            self.problem = str(exc)
            await asyncio.to_thread(append_lines, self.spill, rows)
            self.spilled += len(rows)

    @property
    def _replaying(self) -> Path:
        return self.spill.with_suffix(".replaying")

    def _drain(self) -> list[list[Any]]:
        rows = []
        while not self.queue.empty():
            rows.append(self.queue.get_nowait())
        self.spilled += len(rows)
        return rows

    async def _replay(self) -> None:
        """The spilled rows, oldest first; the file is moved aside while it is replayed
        (rows spilled meanwhile start a new one), and removed once written."""
        if not self._replaying.exists():
            self.spill.replace(self._replaying)
        rows = await asyncio.to_thread(_read, self._replaying)
        try:
            for start in range(0, len(rows), BATCH_ROWS):
                await self.db.many(INSERT, rows[start : start + BATCH_ROWS])
        except DatabaseError as exc:
            self.problem = str(exc)
            return
        self._replaying.unlink(missing_ok=True)
        self.written += len(rows)
        if self.problem is not None:
            log.info("gateway ledger: PostgreSQL is back; %d spilled rows written", len(rows))
        self.problem = None

    async def close(self) -> None:
        """Stop the writer; what is still queued is written (or spilled)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])  # stopped where it waited (never raises)
        rows = self._drain()
        self.spilled -= len(rows)
        if rows:
            await self._write(rows)


def _read(path: Path) -> list[list[Any]]:
    """The spilled rows; a damaged line is left out (spill.json_lines), a row spilled by an
    older gateway gets NULL for the columns added since."""
    return [row + [None] * (N_COLUMNS - len(row))
            for _, row in json_lines(path) if isinstance(row, list)]  # fmt: skip

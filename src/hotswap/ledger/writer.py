"""One writer thread per router: exchange records in, batched transactions out.

`submit()` is what the router's observer calls: it appends to a bounded queue and returns
at once, whatever the disk is doing. The thread sleeps while nothing is queued (an idle
router costs no wake-ups); the first record wakes it, and what arrives within
FLUSH_EVERY_S (or a full batch, at once) is written in one transaction per BATCH rows: a
busy router costs a few transactions a second, not one per exchange (each one takes file
locks, and the thread holds the GIL while it builds rows).

When the ledger cannot be written (read-only, disk full, locked longer than the busy
timeout, a newer schema) the rows stay queued and are retried with backoff; past
`max_queued` the oldest are dropped and counted. `health()` says which (the router shows
it in /_hotswap/status). `close()` flushes what is queued, waiting a bounded time: what the
ledger cannot take by then (another process holds its lock) goes to the spill file beside
it (spill.py), merged at the next open, so a stopping session neither hangs nor loses rows.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hotswap.ledger import rows, spill
from hotswap.ledger.store import LEDGER_ERRORS, connect, prune
from hotswap.router.exchange import ExchangeRecord

log = logging.getLogger("hotswap")

MAX_QUEUED = 10_000  # ~3 MB of records: hours of a busy session while the disk is full
BATCH = 500  # rows per transaction at most
FLUSH_EVERY_S = 0.25  # rows reach the file (and `hotswap logs -f`) this often at most
RETRY_MIN_S = 0.5
RETRY_MAX_S = 30.0
PRUNE_EVERY_S = 86400.0
DAY_S = 86400.0
CLOSE_WAIT_S = 2.0  # at exit, for a busy ledger; then the rest is spilled

WriteError = LEDGER_ERRORS


class LedgerWriter:
    """Writes one router's exchange records to the ledger at `path`."""

    def __init__(
        self,
        path: Path,
        *,
        max_queued: int = MAX_QUEUED,
        batch: int = BATCH,
        retention_days: float | None = None,
        opener: Callable[[Path], sqlite3.Connection] = connect,
    ) -> None:
        self.path = path
        self.max_queued = max_queued
        self.batch = batch
        self.retention_days = retention_days
        self._open = opener
        self._queue: deque[ExchangeRecord] = deque()
        self._inflight: list[ExchangeRecord] = []  # taken by the thread, not committed yet
        self._closed = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hotswap-ledger", daemon=True)
        self._conn: sqlite3.Connection | None = None
        self._pruned_at = 0.0
        self.written = 0
        self.dropped = 0
        self.spilled = 0  # saved to the spill file at close
        self.problem: str | None = None

    def start(self) -> LedgerWriter:
        self._thread.start()
        return self

    def submit(self, record: ExchangeRecord) -> None:
        """Queue a record; never blocks on the disk, never raises."""
        with self._lock:
            if len(self._queue) >= self.max_queued:
                self._queue.popleft()
                self.dropped += 1
            first = not self._queue
            self._queue.append(record)
            full = len(self._queue) == self.batch
        if first or full:  # an idle thread sleeps until there is something to write
            self._wake.set()

    def health(self) -> dict[str, Any]:
        """`queued`: every row not committed yet (the batch being written included)."""
        with self._lock:
            queued = len(self._queue) + len(self._inflight)
        return {
            "ok": self.problem is None,
            "problem": self.problem,
            "queued": queued,
            "dropped": self.dropped,
            "spilled": self.spilled,
            "written": self.written,
            "path": str(self.path),
        }

    def close(self, timeout: float = CLOSE_WAIT_S) -> bool:
        """Flush and stop, waiting at most `timeout`; what is left then is spilled (a batch
        still being written too: if it lands after all, the merge skips it). True when
        every row reached the ledger."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        with self._lock:
            left = [*self._inflight, *self._queue]
            self._queue.clear()
            self._inflight = []
            self._closed = True  # a batch failing after this is in the spill file already
        if left:
            self._spill(left)
        return not left and not self._thread.is_alive()

    def _spill(self, left: list[ExchangeRecord]) -> None:
        where = spill.spill_path(self.path)
        try:
            self.spilled += spill.save(self.path, left)
        except OSError as exc:
            self.dropped += len(left)
            log.error("ledger: %d exchange(s) lost: not written, not saved to %s: %s",
                      len(left), where, exc.strerror or exc)  # fmt: skip
            return
        log.warning("ledger: %d exchange(s) saved to %s, to be merged at its next open (%s)",
                    len(left), where, self.problem or "the ledger was busy")  # fmt: skip

    # -- the thread --------------------------------------------------------------------

    def _run(self) -> None:
        retry_s = RETRY_MIN_S
        try:
            while True:
                stopping = self._stop.is_set()
                written = self._drain()
                if stopping:
                    return  # drained once more on the way out; close() reports what is left
                if written:
                    retry_s = RETRY_MIN_S
                    self._maybe_prune()
                    self._idle()
                else:
                    self._stop.wait(retry_s)
                    retry_s = min(retry_s * 2, RETRY_MAX_S)
        finally:
            self._close_conn()

    def _idle(self) -> None:
        """Sleep until a record arrives (no wake-ups while the router is idle), then let
        FLUSH_EVERY_S of them gather into one transaction (a full batch goes at once)."""
        self._wake.wait()
        self._wake.clear()
        if not self._stop.is_set() and len(self._queue) < self.batch:
            self._wake.wait(FLUSH_EVERY_S)
            self._wake.clear()

    def _drain(self) -> bool:
        """Write everything queued, a batch per transaction; False when a write failed."""
        while batch := self._take():
            if not self._write(batch):
                return False
        return True

    def _take(self) -> list[ExchangeRecord]:
        with self._lock:
            n = min(self.batch, len(self._queue))
            self._inflight = [self._queue.popleft() for _ in range(n)]
            return self._inflight

    def _put_back(self, batch: list[ExchangeRecord]) -> None:
        """Failed rows go back in front, oldest dropped past the bound."""
        with self._lock:
            self._inflight = []
            if self._closed:
                return
            self._queue.extendleft(reversed(batch))
            while len(self._queue) > self.max_queued:
                self._queue.popleft()
                self.dropped += 1

    def _write(self, batch: list[ExchangeRecord]) -> bool:
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                rows.insert(conn, batch)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except WriteError as exc:
            self._put_back(batch)
            self._fail(exc)
            return False
        with self._lock:
            self._inflight = []
        self.written += len(batch)
        if self.problem is not None:
            log.info("ledger: writing to %s again", self.path)
            self.problem = None
        return True

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._open(self.path)
        return self._conn

    def _fail(self, exc: BaseException) -> None:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        problem = f"cannot write {self.path}: {reason}"
        if problem != self.problem:
            log.warning("ledger: %s (requests are still served; rows wait in memory)", problem)
        self.problem = problem
        self._close_conn()  # reopen next time: the file may have come back

    def _close_conn(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def _maybe_prune(self) -> None:
        """`[ledger] retention_days`: delete older exchanges at start and once a day."""
        now = time.time()
        days = self.retention_days
        if days is None or now - self._pruned_at < PRUNE_EVERY_S:
            return
        self._pruned_at = now
        try:
            removed = prune(self._connection(), now - days * DAY_S)
        except WriteError as exc:
            self._fail(exc)
            return
        if removed:
            log.info("ledger: pruned %d exchange(s) older than %g days", removed, days)

"""The writer thread: batches, flushes on close, never blocks or raises in submit, keeps rows
queued (bounded) while the ledger cannot be written, and loses nothing with 8 writers."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from hotswap.ledger import spill
from hotswap.ledger.store import connect
from hotswap.ledger.writer import LedgerWriter
from hotswap.router.exchange import AttemptRecord, Usage
from records import record


def _count(path: Path, table: str = "exchanges") -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def test_close_flushes_everything_submitted(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    writer = LedgerWriter(path).start()
    failed = AttemptRecord(
        "anthropic", 529, "switch", "HTTP 529 overloaded_error", "claude-opus-5-5"
    )
    delivered = AttemptRecord("deepseek", 200, "deliver", "", "deepseek-v4-pro")
    for _ in range(1200):
        writer.submit(record(attempts=(failed, delivered), fell_back_from="anthropic"))
    assert writer.close(10)
    assert _count(path) == 1200 and _count(path, "attempts") == 2400
    health = writer.health()
    assert health["ok"] and health["written"] == 1200 and health["queued"] == 0


def test_rows_hold_what_the_record_said(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    writer = LedgerWriter(path).start()
    writer.submit(
        record(
            "deepseek",
            usage=Usage(11, 22, 33, 44),
            fell_back_from="anthropic",
            fallback_kind="sticky",
            error=None,
        )
    )
    assert writer.close()
    conn = connect(path)
    row = conn.execute(
        "SELECT backend, active, fell_back_from, fallback_kind, input_tokens, output_tokens, "
        "cache_read_tokens, cache_write_tokens, session, ttfb_ms FROM exchanges"
    ).fetchone()
    assert row == ("deepseek", "anthropic", "anthropic", "sticky", 11, 22, 33, 44, "s1", 120.0)


def _read_only(path: Path) -> sqlite3.Connection:
    """What a ledger on a read-only disk is to SQLite (root ignores file modes)."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)


def _wait_for_problem(writer: LedgerWriter) -> dict[str, object]:
    deadline = time.monotonic() + 10
    while writer.health()["problem"] is None and time.monotonic() < deadline:
        time.sleep(0.01)  # the writer thread's verdict, not a readiness guess
    return writer.health()


@pytest.mark.parametrize("how", ["chmod 0400", "read-only open"])
def test_a_read_only_ledger_never_fails_a_submit_and_says_why(tmp_path: Path, how: str) -> None:
    if how == "chmod 0400" and (sys.platform == "win32" or os.geteuid() == 0):
        pytest.skip("root ignores file modes")
    path = tmp_path / "ledger.db"
    connect(path).close()
    path.chmod(0o400)
    opener = _read_only if how == "read-only open" else connect
    writer = LedgerWriter(path, max_queued=5, opener=opener).start()
    started = time.perf_counter()
    for _ in range(8):
        writer.submit(record())  # returns at once, whatever the disk says
    assert time.perf_counter() - started < 0.05
    health = _wait_for_problem(writer)
    assert not health["ok"] and "readonly" in str(health["problem"]).replace(" ", "")
    assert health["queued"] + health["dropped"] == 8 and health["queued"] <= 5
    assert not writer.close(1)  # rows left: said, not raised
    path.chmod(0o600)
    assert _count(path) == 0


def test_rows_wait_while_the_ledger_cannot_be_opened_then_land(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the state folder should be")
    writer = LedgerWriter(blocked / "ledger.db").start()
    writer.submit(record())
    health = _wait_for_problem(writer)
    assert health["problem"] and health["queued"] == 1
    blocked.unlink()
    blocked.mkdir()
    assert writer.close(10)  # the last try on the way out succeeds
    assert _count(blocked / "ledger.db") == 1 and writer.health()["ok"]


def test_past_the_bound_the_oldest_are_dropped_and_counted(tmp_path: Path) -> None:
    writer = LedgerWriter(tmp_path / "ledger.db", max_queued=3)  # not started: nothing drains
    for i in range(5):
        writer.submit(record(client_model=f"claude-{i}"))
    assert writer.health()["queued"] == 3 and writer.health()["dropped"] == 2
    writer.start()
    assert writer.close(10)
    conn = connect(tmp_path / "ledger.db")
    kept = [r[0] for r in conn.execute("SELECT client_model FROM exchanges ORDER BY id")]
    assert kept == ["claude-2", "claude-3", "claude-4"]


def _write_many(path: str, n: int, tag: str) -> None:
    writer = LedgerWriter(Path(path), batch=50).start()
    for _ in range(n):
        writer.submit(record(session=tag))
        if _ % 100 == 0:
            time.sleep(0)  # let the thread interleave with the other processes' writers
    if not writer.close(60):
        raise SystemExit(f"{tag}: {writer.health()}")


def test_eight_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    connect(path).close()
    n = 400
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_many, args=(str(path), n, f"p{i}")) for i in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * 8
    conn = connect(path)
    per_session = dict(conn.execute("SELECT session, COUNT(*) FROM exchanges GROUP BY session"))
    assert per_session == {f"p{i}": n for i in range(8)}
    assert conn.execute("SELECT COUNT(*) FROM attempts").fetchone() == (8 * n,)


def _lock(path: Path) -> sqlite3.Connection:
    """Another process's long write: the ledger cannot be written until it ends."""
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    return locker


def test_a_ledger_locked_at_close_gets_its_rows_through_the_spill_file_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    connect(path).close()
    locker = _lock(path)
    writer = LedgerWriter(path).start()
    for _ in range(50):
        writer.submit(record())
    deadline = time.monotonic() + 10
    while writer._queue and time.monotonic() < deadline:
        time.sleep(0.01)  # the thread took the batch and waits on the lock
    assert writer.health()["queued"] == 50  # held by the thread, not written: still queued
    started = time.monotonic()
    assert not writer.close()
    assert time.monotonic() - started < 3  # not the busy timeout, twice
    health = writer.health()
    assert health["queued"] == 0 and health["spilled"] == 50 and health["dropped"] == 0
    saved = spill.spill_path(path)
    assert saved.parent == tmp_path and (saved.stat().st_mode & 0o777) == 0o600
    assert len(saved.read_text().splitlines()) == 50
    copy = saved.read_bytes()
    locker.execute("ROLLBACK")
    locker.close()

    connect(path).close()  # the next open merges
    assert _count(path) == 50 and _count(path, "attempts") == 50
    assert spill.pending(path) == []
    # A merge that committed, then was killed before deleting its file: merged again, no
    # row twice; a torn last line (a spill cut short) is skipped.
    (tmp_path / f"{spill.FILENAME}.1.cut.merging").write_bytes(copy + b'{"exchange": {"ex')
    connect(path).close()
    assert _count(path) == 50 and _count(path, "attempts") == 50
    assert spill.pending(path) == []


def test_rows_spilled_while_the_ledger_stays_locked_wait_for_a_later_open(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    connect(path).close()
    writer = LedgerWriter(path)  # not started: everything is still queued at close
    for _ in range(3):
        writer.submit(record())
    writer.start()
    locker = _lock(path)
    writer.close(0)
    assert writer.health()["spilled"] + writer.health()["written"] == 3
    spilled = writer.health()["spilled"]
    locker.execute("ROLLBACK")
    locker.close()
    assert _count(path) == 3 - spilled
    connect(path).close()
    assert _count(path) == 3


def test_a_spill_after_a_line_cut_short_starts_on_a_line_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    connect(path).close()
    saved = spill.spill_path(path)
    saved.write_bytes(b'{"exchange": {"ex')  # a spill killed mid-write
    assert spill.save(path, [record(), record()]) == 2
    connect(path).close()  # the next open merges: the two, not lost to the torn line
    assert _count(path) == 2 and spill.pending(path) == []

"""Ledger write throughput: rows per second one router's writer sustains while 8 routers
(processes) write one ledger at once, and the ledger's size per exchange.

    python bench/ledger_throughput.py [--writers 8] [--rows 5000]

Each process runs one LedgerWriter (the router's writer thread) and submits `--rows`
exchange records as fast as it can (each with two attempts, as after a fallback), then
closes it (flush). A writer's rate is its rows over the time from its first submit to the
end of its flush; all start together (a barrier). Bytes per exchange are measured on the
finished file after VACUUM. Runs in a temp dir; bounded: writers x rows rows in all.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from hotswap.ledger.store import connect
from hotswap.ledger.writer import LedgerWriter
from hotswap.router.exchange import AttemptRecord, ExchangeRecord, Usage


def exchange(i: int, session: str) -> ExchangeRecord:
    """A typical Claude Code exchange that fell back from Anthropic to DeepSeek."""
    return ExchangeRecord(
        id=f"{session}-{i:08d}-0123456789abcdef0123",
        started=time.time(),
        session=session,
        endpoint="messages",
        stream=True,
        client_model="claude-opus-5-5",
        active="anthropic",
        backend="deepseek",
        wire_model="deepseek-v4-pro",
        response_model="deepseek-v4-pro",
        status=200,
        outcome="ok",
        fell_back_from="anthropic",
        fallback_kind="transient",
        usage=Usage(1843, 612, 84512, 2210),
        stop_reason="tool_use",
        ttfb_ms=812.5,
        duration_ms=6234.25,
        request_bytes=352_118,
        response_bytes=4_913,
        attempts=(
            AttemptRecord(
                "anthropic",
                529,
                "retry",
                "HTTP 529 overloaded_error: Overloaded",
                "claude-opus-5-5",
                301.0,
                302.5,
            ),
            AttemptRecord("deepseek", 200, "deliver", "", "deepseek-v4-pro", 812.5, 6234.25),
        ),
    )


def write(path: str, rows: int, session: str, barrier: object, out: object) -> None:
    records = [exchange(i, session) for i in range(rows)]
    writer = LedgerWriter(Path(path), max_queued=rows)
    barrier.wait()  # type: ignore[attr-defined]
    started = time.perf_counter()
    writer.start()
    for r in records:
        writer.submit(r)
    ok = writer.close(300)
    out.put((session, rows / (time.perf_counter() - started), ok))  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--rows", type=int, default=5000, help="rows per writer")
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.db"
        connect(path).close()
        barrier, out = ctx.Barrier(args.writers + 1), ctx.Queue()
        procs = [
            ctx.Process(target=write, args=(str(path), args.rows, f"w{i}", barrier, out))
            for i in range(args.writers)
        ]
        for p in procs:
            p.start()
        barrier.wait()
        wall = time.perf_counter()
        results = [out.get(timeout=600) for _ in procs]
        wall = time.perf_counter() - wall
        for p in procs:
            p.join(60)
        conn = sqlite3.connect(path)
        total = conn.execute("SELECT COUNT(*) FROM exchanges").fetchone()[0]
        conn.execute("VACUUM")
        conn.close()
        size = path.stat().st_size
    rates = sorted(rate for _, rate, _ in results)
    expected = args.writers * args.rows
    print(f"writers: {args.writers} processes x {args.rows} rows; rows in the ledger: {total}")
    print(f"lost: {expected - total}; every writer flushed: {all(ok for *_, ok in results)}")
    print(
        f"per writer, while {args.writers} write at once: median {statistics.median(rates):,.0f}"
        f" rows/s (min {rates[0]:,.0f}, max {rates[-1]:,.0f})"
    )
    print(f"all writers together: {total / wall:,.0f} rows/s")
    print(f"ledger size: {size / total:,.0f} bytes per exchange (with its 2 attempts, indexes)")


if __name__ == "__main__":
    main()

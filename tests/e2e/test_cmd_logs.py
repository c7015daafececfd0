"""`hotswap logs` as a user types it: recent exchanges, --json, and -f following new rows."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

from hotswap.ledger.writer import LedgerWriter
from hotswap.router.exchange import AttemptRecord, Usage
from records import record

HOTSWAP = Path(sys.executable).parent / "hotswap"


def _write(home: Path, *records: object) -> None:
    writer = LedgerWriter(home / "ledger.db").start()
    for r in records:
        writer.submit(r)  # type: ignore[arg-type]
    assert writer.close()


def _fell_back() -> object:
    return record(
        "deepseek",
        session="9b1c",
        fell_back_from="anthropic",
        fallback_kind="sticky",
        attempts=(
            AttemptRecord("anthropic", 402, "switch", "HTTP 402 billing_error: no credit"),
            AttemptRecord("deepseek", 200, "deliver", "", "deepseek-v4-pro"),
        ),
    )


def logs(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOTSWAP_HOME": str(home), **extra}
    env = {k: v for k, v in env.items() if k != "COLUMNS" or "COLUMNS" in extra}
    return subprocess.run(
        [str(HOTSWAP), "logs", *args], env=env, capture_output=True, text=True, timeout=30
    )


def test_logs_one_line_per_exchange(home: Path) -> None:
    _write(home, record("anthropic", session="3f2a", wire_model="claude-opus-5-5"), _fell_back())
    done = logs(home)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert "3f2a" in first and "anthropic" in first and " 200 " in first and "ttfb 120 ms" in first
    assert "deepseek" in second and "fell back from anthropic (sticky): HTTP 402" in second
    assert "$" in second


LONG_MODEL = "accounts/fireworks/models/qwen3-coder-480b-a35b-instruct-fp8-with-a-suffix"


def test_a_long_model_name_never_shifts_the_columns(home: Path) -> None:
    """In a terminal, widths come from the lines shown, capped: the long name is cut with …,
    the columns after it stay where they are; --wide shows it whole, as does a pipe; an
    unknown price is `unknown`."""
    _write(
        home,
        record("deepseek", session="3f2a", usage=Usage(14_000, 0)),
        record("fireworks", session="3f2a", wire_model=LONG_MODEL, usage=Usage(1_000, 10)),
        record("deepseek", session="3f2a", usage=Usage(1_000, 0)),
    )
    lines = logs(home, COLUMNS="200").stdout.splitlines()
    assert [line.index(" 200 ") for line in lines] == [lines[0].index(" 200 ")] * 3
    assert [line.index("ttfb") for line in lines] == [lines[0].index("ttfb")] * 3
    assert LONG_MODEL not in lines[1] and "accounts/fireworks/models/qwen3-cod…" in lines[1]
    assert "$0.0061" in lines[0] and "unknown" in lines[1]  # no price for that model
    assert LONG_MODEL in logs(home, "--wide", COLUMNS="200").stdout
    assert LONG_MODEL in logs(home).stdout


def test_logs_fit_columns(home: Path) -> None:
    _write(home, _fell_back(), record("fireworks", wire_model=LONG_MODEL))
    done = logs(home, COLUMNS="100")
    assert done.returncode == 0, done.stderr
    assert max(len(line) for line in done.stdout.splitlines()) <= 100
    assert "fell back from anthropic" in done.stdout and "…" in done.stdout
    wide = logs(home, "--wide", COLUMNS="100").stdout
    assert "fell back from anthropic (sticky): HTTP 402 billing_error: no credit" in wide


def test_logs_json_n_and_session(home: Path) -> None:
    _write(home, record("anthropic", session="3f2a"), _fell_back(), record("glm", session="3f2a"))
    done = logs(home, "--json", "-n", "2", "--session", "3f2a")
    entries = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["backend"] for e in entries] == ["anthropic", "glm"]
    assert entries[0]["cost_usd"] is None  # deepseek-v4-pro is no anthropic model: unknown
    assert entries[0]["attempts"][0]["verdict"] == "deliver"
    entries = [json.loads(x) for x in logs(home, "--json", "-n", "1").stdout.splitlines()]
    assert entries[0]["backend"] == "glm" and entries[0]["session"] == "3f2a"


def test_logs_follow_prints_new_rows_and_ctrl_c_exits_cleanly(home: Path) -> None:
    _write(home, record("anthropic", session="3f2a", wire_model="claude-opus-5-5"))
    env = {**os.environ, "HOTSWAP_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [str(HOTSWAP), "logs", "-f", "-n", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True)
    reader.start()
    try:
        assert "anthropic" in lines.get(timeout=20)
        _write(home, record("deepseek", session="3f2a", usage=Usage(5, 6)))
        assert "deepseek" in lines.get(timeout=20)
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(20)
    assert proc.stderr is not None
    assert code == 0 and "Traceback" not in proc.stderr.read()

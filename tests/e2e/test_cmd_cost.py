"""`hotswap cost` as a user types it (the installed console script), human and --json."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hotswap.ledger.writer import LedgerWriter
from hotswap.router.exchange import Usage
from records import record

HOTSWAP = Path(sys.executable).parent / "hotswap"
M = 1_000_000


def hotswap(home: Path, *args: str, columns: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env |= {"HOTSWAP_HOME": str(home)} | ({"COLUMNS": columns} if columns else {})
    return subprocess.run(
        [str(HOTSWAP), *args], env=env, capture_output=True, text=True, timeout=30
    )


def fill(home: Path) -> None:
    writer = LedgerWriter(home / "ledger.db").start()
    now = time.time()
    writer.submit(
        record(
            "anthropic",
            session="3f2a",
            wire_model="claude-opus-5-5",
            usage=Usage(M, 0),
            started=now - 10 * 86400,
        )
    )
    writer.submit(record("deepseek", session="3f2a", usage=Usage(M, M, 0, 0), started=now - 60))
    writer.submit(record("deepseek", session="9b1c", usage=Usage(M, 0), started=now - 30))
    assert writer.close()


def test_cost_json_is_what_a_script_parses(home: Path) -> None:
    fill(home)
    done = hotswap(home, "cost", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    rows = {r["key"]: r for r in data["rows"]}
    assert rows["anthropic"]["cost_usd"] == pytest.approx(4.0)  # 1M input on Opus 5.5
    assert rows["deepseek"]["requests"] == 2
    assert rows["deepseek"]["cost_usd"] == pytest.approx(0.435 * 2 + 0.87)
    assert rows["deepseek"]["savings_usd"] == pytest.approx(4.0 * 2 + 20.0 - (0.435 * 2 + 0.87))
    assert data["total"]["requests"] == 3 and data["by"] == "backend"


def test_cost_filters_by_session_since_and_groups(home: Path) -> None:
    fill(home)
    data = json.loads(hotswap(home, "cost", "--json", "--session", "3f2a", "--since", "7d").stdout)
    assert [(r["key"], r["requests"]) for r in data["rows"]] == [("deepseek", 1)]
    data = json.loads(hotswap(home, "cost", "--json", "--by", "session").stdout)
    assert {r["key"]: r["requests"] for r in data["rows"]} == {"3f2a": 2, "9b1c": 1}


def test_cost_table_is_read_at_a_glance(home: Path) -> None:
    fill(home)
    done = hotswap(home, "cost")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == [
        "BACKEND", "REQ", "FAIL", "FALLBACK", "INPUT", "OUTPUT",
        "CACHE", "RD", "CACHE", "WR", "HIT", "COST", "SAVED",
    ]  # fmt: skip
    assert lines[1].split()[:2] == ["anthropic", "1"] and "$4.00" in lines[1]
    assert lines[-1].split()[:2] == ["total", "3"]


def test_cost_with_no_ledger_says_so(home: Path) -> None:
    done = hotswap(home, "cost")
    assert done.returncode == 0 and "no exchanges recorded yet" in done.stdout
    assert json.loads(hotswap(home, "cost", "--json").stdout)["rows"] == []


def test_bad_options_are_errors_not_tracebacks(home: Path) -> None:
    fill(home)
    for args in (["--since", "yesterday"], ["--prune-before", "soon"]):
        done = hotswap(home, "cost", *args)
        assert done.returncode == 2 and done.stderr.startswith("Error: ")
        assert "Traceback" not in done.stderr


def test_a_ledger_from_a_newer_hotswap_is_an_error_with_a_fix(home: Path) -> None:
    fill(home)
    conn = sqlite3.connect(home / "ledger.db")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    for command in ("cost", "logs"):
        done = hotswap(home, command)
        assert done.returncode == 2 and "newer" in done.stderr and "fix: upgrade" in done.stderr


def test_prune_before_deletes_old_exchanges(home: Path) -> None:
    fill(home)
    done = hotswap(home, "cost", "--prune-before", "7d")
    assert done.returncode == 0 and done.stdout.strip() == "pruned 1 exchange"
    data = json.loads(hotswap(home, "cost", "--json").stdout)
    assert data["total"]["requests"] == 2


def test_retention_days_prunes_when_a_router_writes(home: Path) -> None:
    fill(home)
    (home / "config.toml").write_text("[ledger]\nretention_days = 7\n")
    from hotswap.config.loading import load_config

    writer = LedgerWriter(
        home / "ledger.db", retention_days=load_config().ledger_retention_days
    ).start()
    assert writer.close()
    data = json.loads(hotswap(home, "cost", "--json").stdout)
    assert data["total"]["requests"] == 2


def test_cost_by_conversation_and_by_agent(home: Path) -> None:
    """Claude Code's conversation and subagent ids, as the router records them."""
    writer = LedgerWriter(home / "ledger.db").start()
    writer.submit(record("deepseek", usage=Usage(M, 0), conversation="conv-a"))
    writer.submit(record("deepseek", usage=Usage(M, 0), conversation="conv-a", agent="a5de"))
    writer.submit(record("deepseek", usage=Usage(M, 0), conversation="conv-b"))
    assert writer.close()
    done = hotswap(home, "cost", "--by", "conversation", "--json")
    assert done.returncode == 0, done.stderr
    rows = {r["key"]: r["requests"] for r in json.loads(done.stdout)["rows"]}
    assert rows == {"conv-a": 2, "conv-b": 1}
    done = hotswap(home, "cost", "--by", "agent")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("AGENT") and "(main)" in done.stdout and "a5de" in done.stdout
    done = hotswap(home, "logs", "--json")
    entries = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(e["conversation"], e["agent"]) for e in entries] == [
        ("conv-a", None),
        ("conv-a", "a5de"),
        ("conv-b", None),
    ]


def test_cost_by_model_fits_columns_and_wide_shows_the_whole_name(home: Path) -> None:
    """The first column (a model, a session) is what gives in a narrow terminal."""
    model = "accounts/fireworks/models/qwen3-coder-480b-a35b-instruct-fp8"
    writer = LedgerWriter(home / "ledger.db").start()
    writer.submit(record("fireworks", wire_model=model, usage=Usage(1_000, 10)))
    writer.submit(record("deepseek", usage=Usage(14_000, 0)))
    assert writer.close()
    narrow = hotswap(home, "cost", "--by", "model", columns="100").stdout
    assert max(len(line) for line in narrow.splitlines()) <= 100
    assert model not in narrow and "accounts/firewo" in narrow and "…" in narrow
    assert "$0.0061" in narrow and "unknown" in narrow and "1 exchange used" in narrow
    assert model in hotswap(home, "cost", "--by", "model", "--wide", columns="100").stdout

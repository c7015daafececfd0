"""Cost aggregation (by backend / model / day / session, since, session) and recent exchanges."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime
from pathlib import Path

import pytest

from hotswap.config.prices import price_table
from hotswap.ledger import queries, rows
from hotswap.ledger.report import cost_json, cost_table, log_entry, log_line
from hotswap.ledger.store import connect
from hotswap.router.exchange import AttemptRecord, Usage
from records import record

TABLE = price_table()
NOW = time.time()


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    conn = connect(tmp_path / "ledger.db")
    refused = AttemptRecord("anthropic", 402, "switch", "HTTP 402 billing_error: no credit")
    conn.execute("BEGIN")
    rows.insert(
        conn,
        [
            record("anthropic", session="a", wire_model="claude-opus-5-5", started=NOW - 3 * 86400),
            record("deepseek", session="a", started=NOW - 3600),
            record(
                "deepseek",
                session="b",
                started=NOW - 60,
                fell_back_from="anthropic",
                fallback_kind="sticky",
                attempts=(refused, AttemptRecord("deepseek", 200, "deliver")),
            ),
            record(None, session="b", wire_model=None, usage=Usage(), status=502, outcome="failed"),
            record("openrouter", session=None, wire_model="x/y", usage=Usage(10, 10)),
        ],
    )
    conn.execute("COMMIT")
    return conn


def test_cost_by_backend_counts_requests_failures_and_fallbacks(conn: sqlite3.Connection) -> None:
    lines, total = queries.cost(conn, TABLE, "backend")
    by = {line.key: line for line in lines}
    assert set(by) == {"anthropic", "deepseek", "openrouter", "(no answer)"}
    assert (by["deepseek"].requests, by["deepseek"].fallbacks) == (2, 1)
    assert by["(no answer)"].failures == 1 and total.failures == 1
    assert by["openrouter"].unpriced == 1 and total.unpriced == 1
    assert by["anthropic"].savings_usd == 0 and by["deepseek"].savings_usd > 0
    assert total.requests == 5
    assert total.cost_usd == pytest.approx(sum(line.cost_usd for line in lines))
    u = by["deepseek"].usage
    assert (u.input_tokens, u.cache_read_tokens) == (2000, 10000)
    assert by["deepseek"].cache_hit_rate == pytest.approx(10000 / (2000 + 10000 + 200))


def test_cost_by_model_day_and_session(conn: sqlite3.Connection) -> None:
    models = {line.key for line in queries.cost(conn, TABLE, "model")[0]}
    assert models == {"claude-opus-5-5", "deepseek-v4-pro", "x/y"}
    days = [line.key for line in queries.cost(conn, TABLE, "day")[0]]
    today = datetime.fromtimestamp(NOW).strftime("%Y-%m-%d")
    assert days[-1] == today and days == sorted(days) and len(days) >= 2
    sessions = {line.key: line.requests for line in queries.cost(conn, TABLE, "session")[0]}
    assert sessions == {"a": 2, "b": 2, "(serve)": 1}


def test_since_and_session_filter(conn: sqlite3.Connection) -> None:
    where = queries.Filter(session="a", since=queries.parse_since("1d", NOW))
    lines, _ = queries.cost(conn, TABLE, "backend", where)
    assert [(line.key, line.requests) for line in lines] == [("deepseek", 1)]
    with pytest.raises(ValueError, match="cannot group by"):
        queries.cost(conn, TABLE, "week")


def test_parse_since() -> None:
    assert queries.parse_since("7d", 1000000.0) == 1000000.0 - 7 * 86400
    assert queries.parse_since("12h", 100000.0) == 100000.0 - 12 * 3600
    assert queries.parse_since("2026-12-01") == datetime(2026, 12, 1).timestamp()
    with pytest.raises(ValueError, match="not a duration"):
        queries.parse_since("last tuesday")


def test_recent_and_after_carry_attempts_oldest_first(conn: sqlite3.Connection) -> None:
    last = queries.recent(conn, 3)
    assert [r["session"] for r in last] == ["b", "b", None]
    fell = last[0]
    assert [a["backend"] for a in fell["attempts"]] == ["anthropic", "deepseek"]
    line = log_line(log_entry(fell, TABLE))
    assert "deepseek" in line and "fell back from anthropic (sticky): HTTP 402" in line
    assert [r["id"] for r in queries.after(conn, fell["id"])] == [r["id"] for r in last[1:]]
    assert queries.recent(conn, 5, session="a")[0]["backend"] == "anthropic"


def test_reports_render_totals_and_unknowns(conn: sqlite3.Connection) -> None:
    lines, total = queries.cost(conn, TABLE, "backend")
    text = cost_table(lines, total, "backend")
    assert text.splitlines()[0].split()[:3] == ["BACKEND", "REQ", "FAIL"]
    assert text.splitlines()[-2].startswith("total") and "unknown" in text
    data = cost_json(lines, total, "backend")
    openrouter = next(r for r in data["rows"] if r["key"] == "openrouter")
    assert openrouter["cost_usd"] is None and openrouter["unpriced_requests"] == 1
    assert data["total"]["requests"] == 5 and data["total"]["cost_usd"] > 0

"""What the dashboard gathers: the ledger's per-(day, backend) cost and last failures, the
spend of 30 days, session rows (stale ones kept), the log's tail, and the feed that sends
only what changed."""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dashboard_scene import register_stale
from hotswap.config.loading import load_config
from hotswap.config.prices import price_table
from hotswap.dashboard.data import (
    Gatherer,
    Tick,
    breaker_summary,
    key_state,
    session_row,
    with_health,
)
from hotswap.dashboard.live import Feed
from hotswap.dashboard.spend import backend_color, day_start, spend
from hotswap.ledger import queries
from hotswap.ledger.store import connect
from hotswap.ledger.writer import LedgerWriter
from hotswap.router.exchange import AttemptRecord, Usage
from records import record

M = 1_000_000
TODAY = date(2026, 12, 5)
NOON = datetime(2026, 12, 5, 12).timestamp()


def write(home: Path, *records: Any) -> None:
    writer = LedgerWriter(home / "ledger.db").start()
    for r in records:
        writer.submit(r)
    assert writer.close(10)


def test_cost_by_day_groups_local_days_then_backends(home: Path) -> None:
    day = 86400
    write(
        home,
        record("deepseek", usage=Usage(M, 0), started=NOON - day),
        record("deepseek", usage=Usage(M, 0), started=NOON),
        record("anthropic", wire_model="claude-opus-5-5", usage=Usage(M, 0), started=NOON),
    )
    conn = connect(home / "ledger.db")
    grid = queries.cost_by_day(conn, price_table(), "backend")
    assert [(d, b, line.requests) for d, b, line in grid] == [
        ("2026-12-04", "deepseek", 1),
        ("2026-12-05", "anthropic", 1),
        ("2026-12-05", "deepseek", 1),
    ]
    assert grid[0][2].cost_usd == pytest.approx(0.435) and grid[0][2].key == "deepseek"
    with pytest.raises(ValueError):
        queries.cost_by_day(conn, price_table(), "day")


def test_failed_attempts_keep_each_backends_latest(home: Path) -> None:
    def failing(reason: str, started: float) -> Any:
        attempts = (
            AttemptRecord("kimi", 529, "switch", reason),
            AttemptRecord("deepseek", 200, "deliver"),
        )
        return record("deepseek", fell_back_from="kimi", attempts=attempts, started=started)

    write(home, failing("old", NOON - 60), failing("new", NOON), record("deepseek"))
    conn = connect(home / "ledger.db")
    latest = queries.failed_attempts(conn, NOON - 3600)
    assert set(latest) == {"kimi"}
    assert latest["kimi"]["reason"] == "new" and latest["kimi"]["status"] == 529
    assert queries.failed_attempts(conn, NOON + 1) == {}


def test_spend_stacks_backends_per_day_with_savings_and_hit_rate(home: Path) -> None:
    write(
        home,
        record("deepseek", usage=Usage(M, 0, 3 * M, 0), started=NOON),
        record("anthropic", wire_model="claude-opus-5-5", usage=Usage(M, 0), started=NOON),
        record("deepseek", usage=Usage(M, 0), started=NOON - 2 * 86400),
        record("deepseek", usage=Usage(M, 0), started=NOON - 40 * 86400),  # too old
    )
    data = spend(connect(home / "ledger.db"), price_table(), TODAY)
    assert len(data["days"]) == 30 and data["days"][-1] == "2026-12-05"
    assert [b["name"] for b in data["backends"]] == ["anthropic", "deepseek"]  # costliest first
    anthropic, deepseek = (b["cost"] for b in data["backends"])
    assert anthropic[-1] == pytest.approx(4.0) and sum(anthropic) == pytest.approx(4.0)
    assert deepseek[-3] == pytest.approx(0.435) and deepseek[-2] == 0
    assert data["requests"][-1] == 2 and data["requests"][-3] == 1 and sum(data["requests"]) == 3
    assert data["total"][-1] == pytest.approx(anthropic[-1] + deepseek[-1])
    assert data["savings"][-3] == pytest.approx(4.0 - 0.435)
    assert data["hit_rate"][-1] == pytest.approx(0.6) and data["hit_rate"][0] is None
    assert data["summary"]["requests"] == 3


def test_key_state_never_has_a_character_of_the_value() -> None:
    row = {"auth": "x-api-key", "key_env": "DEEPSEEK_API_KEY", "key_set": True}
    assert key_state(row) == "DEEPSEEK_API_KEY set"
    assert key_state({**row, "key_set": False}) == "DEEPSEEK_API_KEY missing"
    assert key_state({**row, "auth": "none"}) == "none needed"
    assert key_state({**row, "auth": "passthrough", "key_env": None}) == "Claude Code's own login"


def test_breaker_summary_names_the_open_ones() -> None:
    status: dict[str, object] = {
        "breakers": {
            "anthropic": {"state": "closed"},
            "kimi": {"state": "open", "retry_in_s": 12.5},
            "glm": {"state": "half-open", "retry_in_s": None},
        }
    }
    assert breaker_summary(status) == ("open", "glm half-open, kimi open (retry in 12.5 s)")
    assert breaker_summary({"breakers": {}}) == ("closed", "closed")
    assert breaker_summary({}) == ("", "")


def test_each_backend_shows_its_breaker_in_each_live_router_and_its_last_error() -> None:
    rows = [{"name": "kimi"}, {"name": "deepseek"}]
    statuses: dict[str, dict[str, object]] = {
        "ab12": {"breakers": {"kimi": {"state": "open"}, "deepseek": {"state": "closed"}}},
        "cd34": {
            "breakers": {"kimi": {"state": "half-open"}},
            "missing_keys": {"deepseek": "DEEPSEEK_API_KEY"},
        },
    }
    error = {"at": NOON, "status": 529, "reason": "HTTP 529", "session": "ab12"}
    kimi, deepseek = with_health(rows, statuses, {"kimi": error})
    assert kimi["breaker"] == "open in ab12, half-open in cd34" and kimi["last_error"] == error
    assert deepseek["breaker"] == "closed" and deepseek["last_error"] is None
    assert deepseek["key_missing_in"] == ["cd34"] and kimi["key_missing_in"] == []


def test_a_session_row_says_what_sessions_says(home: Path) -> None:
    config = load_config()
    stale = register_stale(config, "ab12")
    status: dict[str, object] = {
        "requests": {"deepseek": 3, "anthropic": 2},
        "fallback": "anthropic refused (HTTP 402): on deepseek from now on",
        "breakers": {"anthropic": {"state": "open", "retry_in_s": 20}},
    }
    (config.sessions_dir / "ab12" / "mode").write_text("deepseek\n")
    row = session_row(config, stale, True, status, None)
    assert row["backend"] == "deepseek" and row["requests"] == 5
    assert row["note"] == "anthropic refused (HTTP 402): on deepseek from now on"
    assert row["breaker"] == "open" and row["breakers"] == "anthropic open (retry in 20 s)"
    assert row["cost_today"] == "$0.00"
    assert session_row(config, stale, False, {}, None)["note"].startswith("stale")
    assert session_row(config, stale, True, {}, None)["note"] == "its router does not answer"


def test_a_tick_keeps_stale_sessions_and_tails_the_ledger(home: Path) -> None:
    config = load_config()
    register_stale(config, "dead")
    write(home, record("deepseek", session="dead"), record("deepseek", session="dead"))
    gatherer = Gatherer(config, {})
    first = gatherer.tick()
    assert [(r["id"], r["alive"]) for r in first.sessions] == [("dead", False)]
    assert first.sessions[0]["cost_today"] != "$0.00"  # its exchanges today
    assert first.log_reset and len(first.log) == 2
    assert gatherer.tick().log == []  # nothing new
    write(home, record("kimi", session="dead", wire_model="kimi-k2.7-code"))
    third = gatherer.tick()
    assert not third.log_reset and [e["backend"] for e in third.log] == ["kimi"]
    assert (home / "sessions" / "dead").exists()


def test_day_start_is_local_midnight() -> None:
    start = day_start(TODAY)
    assert datetime.fromtimestamp(start) == datetime(2026, 12, 5)
    assert day_start(TODAY + timedelta(days=1)) - start in (82800, 86400, 90000)


class StubGatherer:
    """Ticks from a script, for the feed."""

    def __init__(self, *ticks: Tick) -> None:
        self.ticks = list(ticks)

    def tick(self) -> Tick:
        return self.ticks.pop(0) if len(self.ticks) > 1 else self.ticks[0]


def _tick(sessions: list[dict[str, Any]], log: list[dict[str, Any]] | None = None) -> Tick:
    return Tick(sessions, [], {"days": []}, log or [])


async def test_the_feed_sends_the_whole_picture_then_only_changes() -> None:
    rows = [{"id": "ab12"}]
    stub = StubGatherer(_tick(rows), _tick(rows), _tick(rows, [{"id": 7}]), _tick([{"id": "cd34"}]))
    feed = Feed(stub, poll_s=0.01)  # type: ignore[arg-type]
    events: list[bytes] = []
    started = time.monotonic()

    async def read() -> None:
        async for event in feed.listen():
            events.append(event)
            if b"cd34" in event:
                return

    await asyncio.wait_for(read(), 10)
    await feed.close()
    names = [e.split(b"\n", 1)[0].decode() for e in events]
    assert names[0] == "event: log" and b'"reset":true' in events[0]  # the (empty) picture
    assert names.count("event: sessions") == 2  # ab12 once (unchanged twice), then cd34
    log_events = [e for e in events if e.startswith(b"event: log") and b'"id":7' in e]
    assert len(log_events) == 1
    assert time.monotonic() - started < 10


def test_the_ticks_spend_is_spend_while_earlier_days_are_kept(home: Path) -> None:
    """Earlier days are read once, today's on each new exchange: the sum is the same."""
    now = time.time()
    write(home, record("deepseek", usage=Usage(M, 0), started=now - 3 * 86400))
    gatherer = Gatherer(load_config(), {})
    gatherer.tick()
    write(home, record("anthropic", wire_model="claude-opus-5-5", usage=Usage(M, 0)))
    tick = gatherer.tick()
    assert tick.spend == spend(connect(home / "ledger.db"), price_table(), date.today())
    assert sum(tick.spend["requests"]) == 2 and gatherer._past_read is not None


def test_unknown_prices_read_unknown_and_the_saved_column_is_a_lower_bound(home: Path) -> None:
    """An unpriced backend's day is `unknown`, not $0.00; the day's total and savings carry
    ≥ when they leave it out, as the summary above the table does."""
    write(
        home,
        record("deepseek", usage=Usage(14_000, 0), started=NOON),
        record("groq", wire_model="openai/gpt-oss-120b", usage=Usage(M, 0), started=NOON),
    )
    data = spend(connect(home / "ledger.db"), price_table(), TODAY)
    cells = {b["name"]: b["cost_text"][-1] for b in data["backends"]}
    assert cells == {"deepseek": "$0.0061", "groq": "unknown"}
    assert data["total_text"][-1] == "≥$0.0061" and data["savings_text"][-1] == "≥$0.050"
    assert data["summary"]["cost"] == "≥$0.0061" and data["summary"]["savings"] == "≥$0.050"
    assert data["total_text"][0] == "$0.00"  # a day without requests
    assert all(b["color"] == backend_color(b["name"]) for b in data["backends"])


def test_a_stale_session_shows_the_requests_it_made(home: Path) -> None:
    """Its router is gone, so the ledger says how many requests it made (since it started)."""
    config = load_config()
    stale = register_stale(config, "dead")
    earlier = stale.started - 60  # an older session of the same id: not this one's
    write(
        home, *(record(session="dead") for _ in range(3)), record(session="dead", started=earlier)
    )
    row = Gatherer(config, {}).tick().sessions[0]
    assert (row["id"], row["alive"], row["requests"]) == ("dead", False, 3)

"""The spend arithmetic of the budget tracker with an injected clock: its own exchanges
plus other sessions' (the ledger's), each only within the period holding now; the verdict
the request path reads, and the 429's message and retry-after."""

from __future__ import annotations

import time
from datetime import datetime

from hotswap.config.budgets import Budget
from hotswap.config.prices import price_table
from hotswap.ledger.budgets import BudgetTracker, Read, spent_message
from hotswap.router.budget_gate import retry_after_s
from hotswap.router.exchange import Usage
from records import record

M = 1_000_000


def _at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()  # naive: local


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _tracker(clock: Clock, then: str = "deepseek") -> BudgetTracker:
    budget = Budget("anthropic", (("daily", 10.0), ("weekly", 30.0)), 0.5, then)
    return BudgetTracker((budget,), price_table(), clock=clock)


def _opus(started: float, tokens: int = M) -> object:  # $4 a million input tokens
    return record("anthropic", wire_model="claude-opus-5-5", usage=Usage(tokens, 0),
                  started=started)  # fmt: skip


def test_the_spend_is_own_plus_others_and_judged_each_time(zone: None) -> None:
    clock = Clock(_at("2026-12-09T10:00"))
    tracker = _tracker(clock)
    states = lambda: [(r["period"], round(r["spent_usd"], 2), r["state"]) for r in tracker.rows()]  # noqa: E731
    assert states() == [("daily", 0.0, "ok"), ("weekly", 0.0, "ok")]
    tracker.observe(_opus(clock.now))  # type: ignore[arg-type]
    assert states() == [("daily", 4.0, "ok"), ("weekly", 4.0, "ok")]
    starts = tracker.starts(clock.now)
    tracker.took(Read(starts, {("anthropic", "daily"): 2.0, ("anthropic", "weekly"): 12.0}, {}))
    assert states() == [("daily", 6.0, "warn"), ("weekly", 16.0, "warn")]
    assert tracker.reached == {}
    tracker.observe(_opus(clock.now))  # type: ignore[arg-type]
    assert states() == [("daily", 10.0, "reached"), ("weekly", 20.0, "warn")]
    verdict = tracker.reached["anthropic"]
    assert verdict.then == "deepseek" and verdict.resets_at == _at("2026-12-10T00:00")
    assert verdict.message == (
        "hotswap: anthropic's daily budget of $10.00 is spent ($10.00 today); it resets at 00:00"
    )
    assert retry_after_s(verdict.resets_at, clock.now) == 14 * 3600


def test_a_new_day_starts_from_nothing_until_the_ledger_says_more(zone: None) -> None:
    clock = Clock(_at("2026-12-09T23:59"))
    tracker = _tracker(clock, then="block")
    for _ in range(3):
        tracker.observe(_opus(clock.now))  # type: ignore[arg-type]
    assert "anthropic" in tracker.reached
    clock.now = _at("2026-12-10T00:01")  # the next day (same week)
    tracker.judge()
    assert [(r["period"], round(r["spent_usd"], 2)) for r in tracker.rows()] == [
        ("daily", 0.0),
        ("weekly", 12.0),
    ]
    assert tracker.reached == {}
    tracker.observe(_opus(clock.now, M // 2))  # type: ignore[arg-type]
    assert [round(r["spent_usd"], 2) for r in tracker.rows()] == [2.0, 14.0]
    clock.now = _at("2026-12-14T00:00")  # Monday: the week starts over too
    assert [r["spent_usd"] for r in tracker.rows()] == [0.0, 0.0]


def test_unpriced_exchanges_are_counted_apart_and_other_backends_ignored() -> None:
    clock = Clock(time.time())
    tracker = _tracker(clock)
    tracker.observe(record("anthropic", wire_model="mystery-1", usage=Usage(M, 0)))
    tracker.observe(record("deepseek", usage=Usage(M, 0)))
    rows = tracker.rows()
    assert [r["spent_usd"] for r in rows] == [0.0, 0.0] and rows[0]["unpriced"] == 1


def test_the_weekly_message_names_the_monday() -> None:
    row = {"backend": "ds", "period": "weekly", "limit_usd": 5.0, "spent_usd": 5.5,
           "resets_at": 0.0}  # fmt: skip
    assert spent_message(row) == (
        "hotswap: ds's weekly budget of $5.00 is spent ($5.50 this week); it resets Monday at 00:00"
    )


def test_an_exchange_without_a_price_counts_in_its_period_only(zone: None) -> None:
    clock = Clock(_at("2026-12-09T23:00"))
    tracker = _tracker(clock)
    unknown = record("anthropic", wire_model="no-such-model", usage=Usage(1000, 0),
                     started=clock.now)  # fmt: skip
    tracker.observe(unknown)  # type: ignore[arg-type]
    unpriced = lambda: {r["period"]: r["unpriced"] for r in tracker.rows()}  # noqa: E731
    assert unpriced() == {"daily": 1, "weekly": 1}
    clock.now += 2 * 86400  # Friday: that exchange was Wednesday's, in this week still
    assert unpriced() == {"daily": 0, "weekly": 1}
    clock.now += 7 * 86400
    assert unpriced() == {"daily": 0, "weekly": 0}

"""`[budgets.NAME]` in the config: how much a backend may cost per day, week or month, and
what happens when it has.

    [budgets.anthropic]
    daily_usd = 20            # also weekly_usd, monthly_usd (at least one)
    warn_at = 0.8             # the status line warns from this share of a limit
    then = "deepseek"         # at a limit: every session on it switches there; or "block"

Periods are local: a day from 00:00, a week from Monday 00:00, a month from its 1st 00:00
(`period_start`, `period_end`: computed from a clock the caller gives, so tests inject
one). Checked here once, at load. Stdlib only (datetime): the switch commands load the
config.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from hotswap.config.tables import check_type, fail, nearest, unknown_key

PERIODS = ("daily", "weekly", "monthly")
BLOCK = "block"
WARN_AT = 0.8
MAX_BUDGET_USD = 10_000_000.0
_KEYS = frozenset({"daily_usd", "weekly_usd", "monthly_usd", "warn_at", "then"})
# How each period is named in a sentence: `$20.31 today`, `it resets Monday at 00:00`.
SPAN_WORDS = {"daily": "today", "weekly": "this week", "monthly": "this month"}


class Budget(NamedTuple):
    """One checked `[budgets.NAME]` table; `backend` is the canonical name."""

    backend: str
    limits: tuple[tuple[str, float], ...]  # (period, usd), in PERIODS order
    warn_at: float = WARN_AT
    then: str = BLOCK  # BLOCK, or the canonical name of the backend to switch to


def parse_budgets(path: Path, data: Any, names: Mapping[str, str]) -> tuple[Budget, ...]:
    """The `[budgets]` table, checked; `names` maps every name and alias to its backend."""
    check_type(path, "budgets", data, dict)
    out: dict[str, Budget] = {}
    for name, table in data.items():
        budget = _parse_budget(path, f"budgets.{name}", name, table, names)
        if budget.backend in out:
            why = f"a second budget for backend '{budget.backend}'"
            raise fail(path, f"budgets.{name}", name, why)
        out[budget.backend] = budget
    return tuple(out.values())


def _parse_budget(path: Path, where: str, name: str, data: Any, names: Mapping[str, str]) -> Budget:
    check_type(path, where, data, dict)
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise unknown_key(path, where, unknown[0], data[unknown[0]], _KEYS)
    backend = _backend(path, where, name, names)
    limits = tuple(
        (period, _amount(path, f"{where}.{period}_usd", data[f"{period}_usd"]))
        for period in PERIODS
        if f"{period}_usd" in data
    )
    if not limits:
        raise fail(path, where, data, "a budget needs daily_usd, weekly_usd or monthly_usd")
    warn_at = data.get("warn_at", WARN_AT)
    check_type(path, f"{where}.warn_at", warn_at, (int, float))
    if not 0 < warn_at <= 1:  # false for nan too
        raise fail(
            path, f"{where}.warn_at", warn_at, "a share of the limit, more than 0, at most 1"
        )
    then = data.get("then", BLOCK)
    check_type(path, f"{where}.then", then, str)
    if then != BLOCK:
        then = _backend(path, f"{where}.then", then, names, block=True)
        if then == backend:
            raise fail(path, f"{where}.then", data["then"], "the budgeted backend itself")
    return Budget(backend, limits, float(warn_at), then)


def _backend(path: Path, key: str, name: str, names: Mapping[str, str], block: bool = False) -> str:
    canonical = names.get(name.strip().lower())
    if canonical is not None:
        return canonical
    guess = nearest(name, [*names, BLOCK] if block else names)
    hint = f"; did you mean '{guess}'?" if guess else ""
    what = "'block' or a backend" if block else "no such backend"
    raise fail(path, key, name, f"{what}{hint} (`hotswap backends` lists them)")


def _amount(path: Path, key: str, value: Any) -> float:
    check_type(path, key, value, (int, float))
    if not (math.isfinite(value) and 0 < value <= MAX_BUDGET_USD):
        raise fail(path, key, value, f"dollars, more than 0 and at most {MAX_BUDGET_USD:g}")
    return float(value)


def period_start(period: str, now: float) -> float:
    """The Unix time the `period` holding `now` began, local time: today's 00:00, this
    Monday's, this month's 1st. Midnights are built from the local date, not by adding
    86,400 s, so a DST change inside the period does not move them."""
    return midnight(_first_day(period, datetime.fromtimestamp(now).date()))


def period_end(period: str, now: float) -> float:
    """The Unix time the next `period` begins (when a budget resets), local time."""
    first = _first_day(period, datetime.fromtimestamp(now).date())
    if period == "daily":
        following = first + timedelta(days=1)
    elif period == "weekly":
        following = first + timedelta(days=7)
    else:
        following = (first + timedelta(days=32)).replace(day=1)
    return midnight(following)


def _first_day(period: str, day: date) -> date:
    if period == "daily":
        return day
    if period == "weekly":
        return day - timedelta(days=day.weekday())  # Monday is 0
    if period == "monthly":
        return day.replace(day=1)
    raise ValueError(f"no such period {period!r}; one of {', '.join(PERIODS)}")


def midnight(day: date) -> float:
    """Local 00:00 at the start of `day`, in Unix seconds (the one local midnight: budgets,
    `hotswap routes`, the dashboard's days)."""
    return datetime.combine(day, datetime.min.time()).timestamp()


def reset_words(period: str, end: float) -> str:
    """When a period ends, as a person reads it: `00:00`, `Monday at 00:00`, `2027-01-01
    at 00:00` (local)."""
    if period == "daily":
        return "00:00"
    if period == "weekly":
        return "Monday at 00:00"
    return f"{datetime.fromtimestamp(end).date().isoformat()} at 00:00"

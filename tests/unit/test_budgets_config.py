"""[budgets.NAME] in the config (validation naming the key in one line) and the local
period boundaries (day, Monday-start week, month, across a DST change)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from hotswap.config.budgets import Budget, period_end, period_start
from hotswap.config.loading import load_config
from hotswap.errors import ConfigError


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path, {"HOTSWAP_HOME": str(tmp_path)})


def test_a_budget_is_read_by_alias_with_its_defaults(tmp_path: Path) -> None:
    cfg = _load(tmp_path, "[budgets.ds]\nweekly_usd = 5\ndaily_usd = 1.5\n")
    assert cfg.budgets == (Budget("deepseek", (("daily", 1.5), ("weekly", 5.0)), 0.8, "block"),)
    cfg = _load(tmp_path, '[budgets.anthropic]\nmonthly_usd = 100\nwarn_at = 1\nthen = "ds"\n')
    assert cfg.budgets == (Budget("anthropic", (("monthly", 100.0),), 1.0, "deepseek"),)
    assert cfg.router.budget_refresh_s == 5.0
    assert _load(tmp_path, "[router]\nbudget_refresh_s = 0.5\n").router.budget_refresh_s == 0.5


A = "[budgets.anthropic]\n"
A1 = A + "daily_usd = 1\n"
BAD = [
    ("[budgets.antropic]\ndaily_usd = 1\n",
     "'budgets.antropic': 'antropic' (no such backend; did you mean 'anthropic'?"),
    (A + "warn_at = 0.5\n", "'budgets.anthropic': {'warn_at': 0.5} (a budget needs daily_usd"),
    (A + "daily_usd = 0\n", "'budgets.anthropic.daily_usd': 0 (dollars, more than 0"),
    (A + "weekly_usd = -3\n", "'budgets.anthropic.weekly_usd': -3"),
    (A + "monthly_usd = inf\n", "'budgets.anthropic.monthly_usd': inf"),
    (A + "monthly_usd = nan\n", "'budgets.anthropic.monthly_usd': nan"),
    (A + "daily_usd = '20'\n", "'budgets.anthropic.daily_usd': '20' (expected int or float)"),
    (A1 + "warn_at = 0\n", "'budgets.anthropic.warn_at': 0 (a share"),
    (A1 + "warn_at = 1.2\n", "'budgets.anthropic.warn_at': 1.2"),
    (A1 + "then = 'blok'\n",
     "'budgets.anthropic.then': 'blok' ('block' or a backend; did you mean 'block'?"),
    (A1 + "then = 'deepsek'\n", "did you mean 'deepseek'?"),
    (A1 + "then = 'claude'\n",
     "'budgets.anthropic.then': 'claude' (the budgeted backend itself)"),
    (A + "daily = 1\n", "unknown key 'budgets.anthropic.daily' = 1; did you mean 'daily_usd'?"),
    ("[budgets.ds]\ndaily_usd = 1\n[budgets.deepseek]\ndaily_usd = 2\n",
     "a second budget for backend 'deepseek'"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD)
def test_a_bad_budget_is_named_in_one_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, text)
    assert message in str(err.value) and "\n" not in str(err.value)


def _at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()  # naive: local


def test_periods_start_at_local_midnight_monday_and_the_first(zone: None) -> None:
    now = _at("2026-12-09T15:30")  # a Wednesday
    assert period_start("daily", now) == _at("2026-12-09T00:00")
    assert period_end("daily", now) == _at("2026-12-10T00:00")
    assert period_start("weekly", now) == _at("2026-12-07T00:00")
    assert period_end("weekly", now) == _at("2026-12-14T00:00")
    assert period_start("monthly", now) == _at("2026-12-01T00:00")
    assert period_end("monthly", now) == _at("2027-01-01T00:00")
    monday = _at("2026-12-07T00:00")
    assert period_start("weekly", monday) == monday  # the first instant belongs to it
    assert period_start("daily", monday - 1) == _at("2026-12-06T00:00")


def test_a_dst_change_does_not_move_the_boundaries(zone: None) -> None:
    sunday = _at("2026-10-25T12:00")  # 25 hours long: clocks went back at 03:00
    assert period_end("daily", sunday) - period_start("daily", sunday) == 25 * 3600
    assert datetime.fromtimestamp(period_end("daily", sunday)).hour == 0
    week = _at("2026-10-22T09:00")  # the week holding that Sunday: 7 days and an hour
    assert period_end("weekly", week) - period_start("weekly", week) == (7 * 24 + 1) * 3600
    march = _at("2026-03-29T12:00")  # 23 hours long
    assert period_end("daily", march) - period_start("daily", march) == 23 * 3600
    assert datetime.fromtimestamp(period_start("monthly", march)).day == 1

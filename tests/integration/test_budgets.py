"""Budgets through the router against fake backends: a budget reached mid-day switches
the session (mode file, status note, the next request to `then`'s fake, nothing more to
the budgeted one); `block` answers 429 with retry-after; other sessions' spend in the
shared ledger counts at start and after a re-read (and the router's own rows are never
counted twice); the warning in the status and the status line; a route whose target is
over budget obeys it; the ledger says which exchanges a budget sent or blocked."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anthropic
import pytest

from clients import sdk, status_of
from conftest import MakeRouter, Router
from fakes import sse_message
from hotswap.ledger.attach import RouterLedger, close_ledger, open_ledger
from hotswap.ledger.writer import LedgerWriter
from hotswap.router.exchange import Usage
from hotswap.sessions.statusline import render
from records import record

M = 1_000_000  # input tokens: $4.00 on claude-opus-5-5
ENV = {"DEEPSEEK_API_KEY": "sk-ds-budgets"}
HOTSWAP = Path(sys.executable).parent / "hotswap"
HI = [{"role": "user", "content": "hi"}]
DEADLINE_S = 10.0


def budget(then: str, daily: float = 10, warn_at: float = 0.5, refresh_s: float = 60) -> str:
    return (
        f"[budgets.anthropic]\ndaily_usd = {daily}\nwarn_at = {warn_at}\nthen = {then!r}\n"
        f"[router]\nbudget_refresh_s = {refresh_s}\n"
    )


async def ask(router: Router) -> None:
    async with sdk(router) as client:
        stream = await client.messages.create(
            model="claude-opus-5-5", max_tokens=5, messages=HI, stream=True
        )
        async for _ in stream:
            pass
    await asyncio.sleep(0)  # the observers run just after the response


def others_spent(home: Path, n: int, session: str = "other") -> None:
    """`n` exchanges of $4 on anthropic, written by "another session" (its own writer)."""
    writer = LedgerWriter(home / "ledger.db").start()
    for _ in range(n):
        writer.submit(record("anthropic", session=session, wire_model="claude-opus-5-5",
                             usage=Usage(M, 0)))  # fmt: skip
    assert writer.close(5.0)


def ledger_rows(home: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(home / "ledger.db")
    try:
        return conn.execute("SELECT backend, active, route, status FROM exchanges").fetchall()
    finally:
        conn.close()


async def until(check: Any) -> Any:
    """Poll `check()` (an awaitable factory) until it is truthy, within DEADLINE_S."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError("not within the deadline")


def first_budget(status: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = status["budgets"][0]
    return found


async def test_a_budget_reached_mid_day_switches_the_session(
    fakes: Any, make_router: MakeRouter, home: Path
) -> None:
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    ant.script(*[sse_message(input_tokens=M) for _ in range(3)])
    router = await make_router({"anthropic": ant.url, "deepseek": ds.url}, mode="anthropic",
                               env=ENV, extra_toml=budget("deepseek"))  # fmt: skip
    ledger = open_ledger(router.state)
    await ask(router)
    assert first_budget(await status_of(router))["state"] == "ok"
    await ask(router)  # $8 of $10: past warn_at 0.5
    status = await status_of(router)
    row = first_budget(status)
    assert (row["state"], row["percent"], row["then"]) == ("warn", 80, "deepseek")
    assert "anthropic budget 80% of $10 today" in render("anthropic", None, status)
    await ask(router)  # $12: reached; this one was already on its way
    assert router.mode_file.read_text().strip() == "anthropic"
    await ask(router)  # finds the budget reached: to deepseek at once, the mode switched
    assert (len(ant.received), len(ds.received)) == (3, 1)
    assert router.mode_file.read_text().strip() == "deepseek"
    status = await status_of(router)
    assert status["mode"] == "deepseek" and first_budget(status)["state"] == "reached"
    assert status["fallback"].startswith("anthropic's daily budget of $10.00 is spent ($12.00")
    assert status["fallback"].endswith("; switched to deepseek")
    line = render("deepseek", None, status)
    assert "anthropic budget 120% of $10 today → deepseek" in line and "⚠ anthropic's" in line
    await ask(router)
    assert (len(ant.received), len(ds.received)) == (3, 2)
    assert await close_ledger(ledger)
    assert ledger_rows(home)[2:] == [
        ("anthropic", "anthropic", None, 200),
        ("deepseek", "deepseek", "budget:anthropic", 200),
        ("deepseek", "deepseek", None, 200),
    ]


async def test_block_answers_429_with_retry_after_and_sends_nothing(
    fakes: Any, make_router: MakeRouter, home: Path
) -> None:
    ant = await fakes("anthropic")
    ant.script(sse_message(input_tokens=M))
    router = await make_router({"anthropic": ant.url}, mode="anthropic",
                               extra_toml=budget("block", daily=3))  # fmt: skip
    ledger = open_ledger(router.state)
    await ask(router)
    with pytest.raises(anthropic.RateLimitError) as caught:
        await ask(router)
    assert len(ant.received) == 1
    error = caught.value.body["error"]  # type: ignore[index]
    assert error["type"] == "rate_limit_error"
    assert error["message"] == (
        "hotswap: anthropic's daily budget of $3.00 is spent ($4.00 today); it resets at 00:00"
    )
    retry = int(caught.value.response.headers["retry-after"])
    assert 0 < retry <= 25 * 3600
    status = await status_of(router)
    assert router.mode_file.read_text().strip() == "anthropic" and status["fallback"] is None
    assert "anthropic budget 133% of $3 today: blocked" in render("anthropic", None, status)
    assert await close_ledger(ledger)
    assert ledger_rows(home)[1] == (None, "anthropic", "budget:anthropic", 429)
    logs = cli(home, "logs")
    assert "route budget:anthropic" in logs
    cost = json.loads(cli(home, "cost", "--by", "route", "--json"))
    assert {line["key"]: line["requests"] for line in cost["rows"]} == {
        "(mode)": 1,
        "budget:anthropic": 1,
    }


async def test_other_sessions_spend_counts_at_start_and_after_a_reread(
    fakes: Any, make_router: MakeRouter, home: Path
) -> None:
    ant = await fakes("anthropic")
    ant.script(sse_message(input_tokens=M))
    others_spent(home, 1)  # $4 before the router starts
    router = await make_router({"anthropic": ant.url}, mode="anthropic",
                               extra_toml=budget("block", daily=13, refresh_s=0.05))  # fmt: skip
    ledger = open_ledger(router.state)
    assert first_budget(await status_of(router))["spent_usd"] == pytest.approx(4.0, abs=0.01)
    await ask(router)  # its own $4, in the ledger once written
    await until(lambda: _written(ledger, 1))
    reads = _reads(ledger)
    await until(lambda: _more_reads(ledger, reads))
    row = first_budget(await status_of(router))
    assert row["spent_usd"] == pytest.approx(8.0, abs=0.01) and row["state"] == "warn"  # not $12
    others_spent(home, 2)  # $8 more, elsewhere: $16 of $13
    status = await until(lambda: _reached(router))
    assert first_budget(status)["spent_usd"] == pytest.approx(16.0, abs=0.01)
    with pytest.raises(anthropic.RateLimitError):
        await ask(router)
    assert len(ant.received) == 1
    await close_ledger(ledger)


async def test_a_route_to_a_backend_over_budget_obeys_it(
    fakes: Any, make_router: MakeRouter, home: Path
) -> None:
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    others_spent(home, 1)
    route = '[[routes]]\nwhen = "haiku"\nto = "anthropic"\n'
    router = await make_router({"anthropic": ant.url, "deepseek": ds.url}, mode="deepseek",
                               env=ENV, extra_toml=route + budget("block", daily=2))  # fmt: skip
    ledger = open_ledger(router.state)
    async with sdk(router) as client:
        with pytest.raises(anthropic.RateLimitError):
            await client.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=HI)
    await ask(router)  # the mode's requests are not affected
    assert (len(ant.received), len(ds.received)) == (0, 1)
    assert router.mode_file.read_text().strip() == "deepseek"
    await close_ledger(ledger)


async def test_without_budgets_nothing_is_tracked(fakes: Any, make_router: MakeRouter) -> None:
    ant = await fakes("anthropic")
    router = await make_router({"anthropic": ant.url}, mode="anthropic")
    ledger = open_ledger(router.state)
    await ask(router)
    status = await status_of(router)
    assert ledger.budgets is None and "budgets" not in status
    assert router.state.budget_reached == {}
    await close_ledger(ledger)


def test_hotswap_budgets_reads_the_ledger_with_no_session_running(home: Path) -> None:
    (home / "config.toml").write_text(budget("deepseek", daily=20, warn_at=0.8))
    others_spent(home, 4)  # $16: 80%
    out = cli(home, "budgets", "--wide")
    lines = out.splitlines()
    assert lines[0].split() == ["BACKEND", "PERIOD", "LIMIT", "SPENT", "%", "STATE", "AT",
                                "THE", "LIMIT", "RESETS"]  # fmt: skip
    assert lines[1].split() == ["anthropic", "daily", "$20.00", "$16.00", "80%", "warning",
                                "switch", "to", "deepseek", "00:00"]  # fmt: skip
    data = json.loads(cli(home, "budgets", "--json"))["budgets"]
    assert [(r["backend"], r["period"], r["spent_usd"], r["state"]) for r in data] == [
        ("anthropic", "daily", pytest.approx(16.0, abs=0.01), "warn")
    ]
    (home / "config.toml").write_text("")
    assert cli(home, "budgets").startswith("no budgets")


async def _written(ledger: RouterLedger, n: int) -> bool:
    return bool(ledger.writer.health()["written"] >= n)


def _reads(ledger: RouterLedger) -> int:
    assert ledger.budgets is not None
    return ledger.budgets.reads


async def _more_reads(ledger: RouterLedger, before: int) -> bool:
    return _reads(ledger) > before


async def _reached(router: Router) -> dict[str, Any] | None:
    status = await status_of(router)
    return status if first_budget(status)["state"] == "reached" else None


def cli(home: Path, *args: str) -> str:
    env = {**os.environ, "HOTSWAP_HOME": str(home)}
    done = subprocess.run([str(HOTSWAP), *args], env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout

"""A router with its ledger: exchange records published through the router's observers land
as rows, its status carries the ledger's health and the session's spend, GET
/_hotswap/cost serves the session's report, and a ledger that cannot be written never
fails the router."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from conftest import MakeRouter, Router
from hotswap.config.loading import load_config
from hotswap.ledger.attach import RouterLedger, close_ledger, open_ledger
from hotswap.router.exchange import Usage
from hotswap.sessions.registry import Session, process_start_time, register
from hotswap.sessions.switch import session_rows
from records import record

M = 1_000_000


def _session(sid: str, port: int, secret: str) -> Session:
    pid = os.getpid()
    return Session(sid, port, pid, os.getcwd(), time.time(), secret, "anthropic",
                   process_start_time(pid))  # fmt: skip


async def get_json(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as client, client.get(url) as resp:
        return resp.status, await resp.json()


async def ledger_router(make_router: MakeRouter, session: str | None = "3f2a") -> Router:
    router = await make_router({})
    router.state.session_id = session
    return router


async def publish(router: Router, *records: Any) -> None:
    for r in records:
        router.state.observers.publish(r)
    await asyncio.sleep(0)  # observers run soon after, never inline


async def test_published_records_land_and_show_in_status(
    make_router: MakeRouter, home: Path
) -> None:
    router = await ledger_router(make_router)
    ledger = open_ledger(router.state)
    await publish(
        router,
        record("deepseek", session="3f2a", usage=Usage(M, 0)),
        record("anthropic", session="3f2a", wire_model="claude-opus-5-5", usage=Usage(M, 0)),
    )
    _, status = await get_json(router.url + "/_hotswap/status")
    assert status["ledger"]["ok"] and status["ledger"]["problem"] is None
    spend = status["spend"]
    assert spend["requests"] == 2 and not spend["unknown_price"]
    assert spend["cost_usd"] == pytest.approx(0.435 + 4.0)
    assert spend["savings_usd"] == pytest.approx(4.0 - 0.435)
    assert await close_ledger(ledger)
    conn = sqlite3.connect(home / "ledger.db")
    assert conn.execute("SELECT COUNT(*) FROM exchanges WHERE session = '3f2a'").fetchone() == (2,)


async def test_unknown_prices_are_flagged_in_the_spend(make_router: MakeRouter) -> None:
    router = await ledger_router(make_router)
    ledger = open_ledger(router.state)
    await publish(router, record("openrouter", wire_model="x/y", usage=Usage(10, 10)))
    _, status = await get_json(router.url + "/_hotswap/status")
    assert status["spend"]["unknown_price"] and status["spend"]["cost_usd"] == 0
    await close_ledger(ledger)


async def test_the_spend_is_seeded_from_the_ledger_for_the_session(
    make_router: MakeRouter, home: Path
) -> None:
    router = await ledger_router(make_router)
    first = open_ledger(router.state)
    await publish(router, record("deepseek", session="3f2a", usage=Usage(M, 0)))
    await publish(router, record("deepseek", session="other", usage=Usage(M, 0)))
    assert await close_ledger(first)
    router.state.observers = type(router.state.observers)()
    again = open_ledger(router.state)  # the same session's router, started again
    assert again.spend.snapshot()["requests"] == 1
    assert again.spend.cost_usd == pytest.approx(0.435)
    await close_ledger(again)


async def test_cost_route_serves_the_sessions_report(make_router: MakeRouter) -> None:
    router = await ledger_router(make_router)
    ledger = open_ledger(router.state)
    await publish(
        router,
        record("deepseek", session="3f2a", usage=Usage(M, 0)),
        record("glm", session="elsewhere", wire_model="glm-5.3", usage=Usage(M, 0)),
    )
    assert await close_ledger(ledger)  # written: the route reads the file
    status, report = await get_json(router.url + "/_hotswap/cost?by=model")
    assert status == 200 and report["session"] == "3f2a" and report["by"] == "model"
    assert [r["key"] for r in report["rows"]] == ["deepseek-v4-pro"]
    _, everything = await get_json(router.url + "/_hotswap/cost?session=elsewhere&since=1d")
    assert [r["key"] for r in everything["rows"]] == ["glm"]
    status, error = await get_json(router.url + "/_hotswap/cost?by=week")
    assert status == 400 and error["type"] == "error"
    assert "cannot group by" in error["error"]["message"]


async def test_a_ledger_that_cannot_be_written_never_fails_the_router(
    make_router: MakeRouter, home: Path
) -> None:
    (home / "ledger.db").mkdir()  # not a file SQLite can open, even for root
    router = await make_router({}, secret="the-secret")
    router.state.session_id = "3f2a"
    ledger: RouterLedger = open_ledger(router.state)
    await publish(router, record("deepseek", session="3f2a", usage=Usage(M, 0)))
    status: dict[str, Any] = {}
    for _ in range(500):  # the writer thread's verdict; each status call yields to it
        _, status = await get_json(router.url + "/s/the-secret/_hotswap/status")
        if status["ledger"]["problem"]:
            break
        await asyncio.sleep(0.01)
    assert not status["ledger"]["ok"] and "ledger.db" in status["ledger"]["problem"]
    assert status["ledger"]["queued"] == 1
    assert status["spend"]["requests"] == 1  # the status line still counts
    register(home / "sessions", _session("3f2a", router.running.port, "the-secret"))
    (listed,) = await asyncio.to_thread(session_rows, load_config())
    assert listed["id"] == "3f2a" and str(listed["note"]).startswith("ledger: cannot write")
    assert not await close_ledger(ledger, timeout=2)

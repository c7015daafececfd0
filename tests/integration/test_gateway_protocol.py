"""Claude Code's gateway protocol, served by the router against fake backends: the model
list under gateway ids (and a request sent with one reaching its backend), pings while a
committed stream is silent, and the conversation and agent ids in the ledger."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from conftest import MakeRouter, Router
from fakes import encode_events, json_reply, message_events, sse_reply
from hotswap.ledger.attach import RouterLedger, close_ledger, open_ledger
from hotswap.ledger.usage import CostQuery, cost_report

ENV = {"DEEPSEEK_API_KEY": "sk-ds-gw"}
BODY: dict[str, Any] = {
    "model": "claude-opus-5-5",
    "max_tokens": 10,
    "stream": True,
    "messages": [{"role": "user", "content": "hi"}],
}
SILENCE_S = 1.0
PING_S = 0.1


async def post(
    router: Router, body: dict[str, Any], headers: dict[str, str] | None = None
) -> bytes:
    async with (
        aiohttp.ClientSession() as client,
        client.post(router.url + "/v1/messages", json=body, headers=headers or {}) as resp,
    ):
        assert resp.status == 200
        return await resp.read()


async def test_the_model_list_names_every_usable_backends_models(fakes, make_router) -> None:
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    ant.script(json_reply(200, {"data": [{"type": "model", "id": "claude-opus-5-5"}]}))
    ds.script(json_reply(200, {"object": "list", "data": [{"id": "deepseek-v4-pro"}]}))
    router = await make_router({"anthropic": ant.url, "deepseek": ds.url}, mode="ds", env=ENV)
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{router.url}/v1/models?limit=1000") as resp,
    ):
        page = await resp.json()
    ids = [m["id"] for m in page["data"]]
    # the active backend first; every id passes Claude Code's filter ("claude" in it);
    # openrouter and the others have no key here: left out
    assert ids[:2] == [
        "claude-hotswap-deepseek--deepseek-v4-pro",
        "claude-hotswap-anthropic--claude-opus-5-5",
    ]
    assert all("claude" in i for i in ids) and not any("openrouter" in i for i in ids)
    assert page["data"][0]["display_name"] == "deepseek-v4-pro (deepseek)"
    assert resp.headers["x-hotswap-backend"] == "deepseek"


async def test_a_gateway_model_id_reaches_the_backend_it_names(fakes, make_router) -> None:
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url}, mode="anthropic", env=ENV
    )
    body = {**BODY, "model": "claude-hotswap-deepseek--deepseek-v4-flash"}
    await post(router, body, {"x-api-key": "sk-ant-client"})
    assert not ant.received
    (got,) = ds.received
    assert got.body["model"] == "deepseek-v4-flash"  # the model part, for that backend
    assert got.headers["x-api-key"] == "sk-ds-gw"
    await post(router, BODY, {"x-api-key": "sk-ant-client"})  # a plain name: the mode
    assert ant.received[0].body["model"] == "claude-opus-5-5"


def _silent_then_rest(silence_s: float) -> Any:
    """message_start, then nothing for `silence_s` (a model thinking), then the rest."""
    events = encode_events(message_events("after the silence")).split(b"\n\n")
    first, rest = events[0] + b"\n\n", b"\n\n".join(events[1:])

    async def reply(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(first)
        await asyncio.sleep(silence_s)  # the silence under test, not a readiness wait
        await resp.write(rest)
        await resp.write_eof()
        return resp

    return reply


def _events(raw: bytes) -> list[str]:
    return [line[7:] for line in raw.decode().splitlines() if line.startswith("event: ")]


async def test_a_silent_stream_gets_pings_and_then_its_answer(fakes, make_router) -> None:
    ant = await fakes("anthropic")
    ant.script(_silent_then_rest(SILENCE_S))
    router = await make_router(
        {"anthropic": ant.url},
        mode="anthropic",
        extra_toml=f"[router]\nping_interval_s = {PING_S}\n",
    )
    raw = await post(router, BODY, {"x-api-key": "sk-ant-client"})
    names = _events(raw)
    assert names[0] == "message_start" and names[-1] == "message_stop"
    pings = names.count("ping")
    # a ping after one to two intervals of silence, each time: about SILENCE_S / PING_S / 2
    assert pings >= 3, names
    assert set(names[1 : 1 + pings]) == {"ping"}  # all inside the silence
    assert b'event: ping\ndata: {"type": "ping"}\n\n' in raw
    assert "after the silence" in raw.decode()


async def test_a_chatty_stream_gets_no_ping(fakes, make_router) -> None:
    ant = await fakes("anthropic")
    payload = encode_events(message_events("quick"))
    ant.script(sse_reply(payload, chunk_size=40))
    router = await make_router(
        {"anthropic": ant.url}, mode="anthropic", extra_toml="[router]\nping_interval_s = 0.05\n"
    )
    raw = await post(router, BODY, {"x-api-key": "sk-ant-client"})
    assert raw == payload  # byte for byte: nothing added


@pytest.fixture
async def ledgers() -> AsyncIterator[list[RouterLedger]]:
    opened: list[RouterLedger] = []
    yield opened
    for ledger in opened:
        await close_ledger(ledger)


async def test_conversation_and_agent_ids_land_in_the_ledger_and_the_cost_report(
    fakes, make_router: MakeRouter, ledgers: list[RouterLedger], home: Path
) -> None:
    ant = await fakes("anthropic")
    router = await make_router({"anthropic": ant.url}, mode="anthropic")
    router.state.session_id = "3f2a"
    ledgers.append(open_ledger(router.state))
    key = {"x-api-key": "sk-ant-client"}
    conv_a, conv_b = {"x-claude-code-session-id": "conv-a"}, {"x-claude-code-session-id": "conv-b"}
    await post(router, BODY, {**key, **conv_a})
    await post(router, BODY, {**key, **conv_a, "x-claude-code-agent-id": "a5def05a4897b9023"})
    await post(router, BODY, {**key, **conv_b})
    await post(router, BODY, key)  # not from Claude Code: no ids
    assert await close_ledger(ledgers.pop())
    conn = sqlite3.connect(home / "ledger.db")
    rows = conn.execute("SELECT conversation, agent FROM exchanges ORDER BY id").fetchall()
    assert rows == [
        ("conv-a", None),
        ("conv-a", "a5def05a4897b9023"),
        ("conv-b", None),
        (None, None),
    ]
    by_conv = cost_report(router.config, CostQuery.parse("conversation", None, None))
    assert {line["key"]: line["requests"] for line in by_conv["rows"]} == {
        "(none)": 1,
        "conv-a": 2,
        "conv-b": 1,
    }
    by_agent = cost_report(router.config, CostQuery.parse("agent", None, None))
    assert {line["key"]: line["requests"] for line in by_agent["rows"]} == {
        "(main)": 3,
        "a5def05a4897b9023": 1,
    }
    assert json.dumps(by_agent)  # --json serialisable

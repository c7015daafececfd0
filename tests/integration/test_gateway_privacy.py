"""What a gateway user can see of the others: nothing. Alice uses the gateway (her own
session, mode, spend and a failed request); Bob, holding a valid key of his own, asks every
endpoint the gateway serves -- hotswap's, deepclaude's aliases, the model list, a path it
does not serve -- and never sees her name, session, mode, spend or error, nor any key."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from fakes import json_error, sse_message
from gateway_team import (  # noqa: F401
    ANT_KEY,
    DS_KEY,
    Team,
    ask,
    postgres_fixture,
    redis_fixture,
    switch,
    team_fixture,
)

ALICE_SESSION = "alice-private-session-7"
ALICE_ERROR = "alice-only-upstream-complaint"

GETS = ("/_hotswap/status", "/_proxy/status", "/_router/status", "/_hotswap/cost",
        "/_proxy/cost", "/v1/models", "/_hotswap/mode",
        "/", "/events", "/export/exchanges.csv")  # fmt: skip


async def _get(url: str, key: str, path: str) -> tuple[int, str]:
    headers = {"authorization": f"Bearer {key}", "anthropic-version": "2023-06-01"}
    async with aiohttp.ClientSession() as client, client.get(url + path, headers=headers) as r:
        return r.status, await r.text()


async def _post_form(url: str, key: str, path: str, data: str) -> tuple[int, str]:
    headers = {"authorization": f"Bearer {key}"}
    async with (
        aiohttp.ClientSession() as client,
        client.post(url + path, data=data, headers=headers) as r,
    ):
        return r.status, await r.text()


async def _alice_uses_the_gateway(team: Team, url: str) -> str:
    alice = await team.key("alice", daily_usd=50.0)
    assert (await switch(url, alice, "deepseek", session=ALICE_SESSION))[0] == 200
    team.deepseek.script(
        sse_message(input_tokens=2_000_000, output_tokens=100_000),
        json_error(400, "invalid_request_error", ALICE_ERROR),
    )
    assert (await ask(url, alice, session=ALICE_SESSION))[0] == 200
    assert (await ask(url, alice, session=ALICE_SESSION))[0] == 400
    return alice


def _private(team: Team, alice: str) -> tuple[str, ...]:
    return ("alice", ALICE_SESSION, ALICE_ERROR, alice, alice[:12], DS_KEY, ANT_KEY, "hsk_")


@pytest.mark.parametrize("path", GETS)
async def test_bob_sees_nothing_of_alice_on_any_get(team: Team, path: str) -> None:
    url = await team.start()
    alice = await _alice_uses_the_gateway(team, url)
    bob = await team.key("bob")
    status, text = await _get(url, bob, path)
    for secret in _private(team, alice):
        assert secret not in text, f"{path} shows bob {secret!r}: {text[:400]}"
    if status == 200 and path != "/v1/models":
        assert "bob" in text  # his own view, named


async def test_bobs_status_is_his_own(team: Team) -> None:
    url = await team.start()
    await _alice_uses_the_gateway(team, url)
    bob = await team.key("bob")
    assert (await ask(url, bob, session="bob-1"))[0] == 200
    for path in ("/_hotswap/status", "/_proxy/status", "/_router/status"):
        status, text = await _get(url, bob, path)
        body = json.loads(text)
        assert status == 200 and body["user"] == "bob" and body["mode"] == "anthropic"
        assert body["requests"] in (0, 1) and body["spend_today_usd"] < 0.01  # his one
        assert body["errors"] == [] and list(body["sessions"]) == []
    status, text = await _get(url, bob, "/_hotswap/cost")
    cost: dict[str, Any] = json.loads(text)
    assert status == 200 and cost["user"] == "bob" and "deepseek" not in cost["backends"]


async def test_alice_sees_her_own_sessions_errors_and_spend(team: Team) -> None:
    url = await team.start()
    alice = await _alice_uses_the_gateway(team, url)
    for _ in range(200):  # the ledger and the budget are written off the hot path: poll
        body = json.loads((await _get(url, alice, "/_hotswap/status"))[1])
        if body["errors"] and body["requests"] == 2 and body["spend_today_usd"]:
            break
        await asyncio.sleep(0.05)
    assert body["user"] == "alice" and body["sessions"] == {ALICE_SESSION: "deepseek"}
    assert body["daily_usd"] == 50.0 and body["spend_today_usd"] > 0.1
    (error,) = body["errors"]
    assert error["backend"] == "deepseek" and error["status"] == 400
    cost = json.loads((await _get(url, alice, "/_proxy/cost"))[1])
    assert cost["user"] == "alice" and cost["backends"]["deepseek"]["requests"] == 2
    week = json.loads((await _get(url, alice, "/_hotswap/cost?days=7"))[1])
    assert week["backends"] == cost["backends"] and week["since"] < cost["since"]
    assert (await _get(url, alice, "/_hotswap/cost?days=nope"))[0] == 400


async def test_deepclaudes_mode_switch_is_the_callers_own(team: Team) -> None:
    url = await team.start()
    alice = await _alice_uses_the_gateway(team, url)
    bob = await team.key("bob")
    status, text = await _post_form(url, bob, "/_proxy/mode", "backend=deepseek")
    assert status == 200, text
    for secret in (*_private(team, alice), "mode_file", str(team.home)):
        assert secret not in text
    n = len(team.deepseek.received)
    assert (await ask(url, bob, session="bob-2"))[0] == 200  # bob's every session switched
    assert len(team.deepseek.received) == n + 1
    status, text = await _post_form(url, alice, "/_proxy/mode", "backend=anthropic")
    assert status == 200
    n = len(team.deepseek.received)
    assert (await ask(url, bob, session="bob-2"))[0] == 200  # alice's switch: hers only
    assert len(team.deepseek.received) == n + 1

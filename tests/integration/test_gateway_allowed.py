"""A user limited to some backends (`keys create --backends`) reaches no other, however the
backend is chosen: the mode, a model id picked in /model, a fallback."""

from __future__ import annotations

import aiohttp

from fakes import json_error
from gateway_team import (  # noqa: F401
    BODY,
    Team,
    ask,
    postgres_fixture,
    redis_fixture,
    switch,
    team_fixture,
)


async def _ask_model(url: str, key: str, model: str) -> tuple[int, str]:
    headers = {"anthropic-version": "2023-06-01", "authorization": f"Bearer {key}"}
    async with (
        aiohttp.ClientSession() as client,
        client.post(url + "/v1/messages", json={**BODY, "model": model}, headers=headers) as r,
    ):
        return r.status, await r.text()


async def test_a_model_id_naming_a_forbidden_backend_is_refused(team: Team) -> None:
    url = await team.start()
    dan = await team.key("dan", backends=("deepseek",))
    assert (await switch(url, dan, "deepseek"))[0] == 200
    status, text = await _ask_model(url, dan, "claude-hotswap-anthropic--claude-opus-5-5")
    assert status == 403 and "may not use backend 'anthropic'" in text
    assert team.anthropic.received == []
    assert (await ask(url, dan))[0] == 200  # his own backend still answers
    assert len(team.deepseek.received) == 1


async def test_the_mode_and_the_fallback_stay_within_the_allowed(team: Team) -> None:
    url = await team.start()
    eve = await team.key("eve", backends=("anthropic",))
    assert (await ask(url, eve))[0] == 200  # the default backend, anthropic: hers
    team.anthropic.script(json_error(401, "authentication_error", "bad key"))
    status, _ = await ask(url, eve)  # anthropic refuses; deepseek is not hers
    assert status == 401 and team.deepseek.received == []


async def test_router_control_paths_the_gateway_does_not_scope_are_refused(team: Team) -> None:
    """Refused by default: a control endpoint of the router that speaks for every user is
    served on a gateway only in its per-caller form (control.py)."""
    url = await team.start()
    fay = await team.key("fay")
    headers = {"authorization": f"Bearer {fay}"}
    async with aiohttp.ClientSession() as client:
        for method, path in (("POST", "/_hotswap/status"), ("GET", "/_proxy/mode"),
                             ("GET", "/_router/anything")):  # fmt: skip
            async with client.request(method, url + path, headers=headers) as resp:
                assert resp.status == 404, (method, path, resp.status)
                assert "not served here" in await resp.text()
        async with client.get(url + "/_hotswap/status", headers=headers) as resp:
            assert resp.status == 200 and (await resp.json())["user"] == "fay"

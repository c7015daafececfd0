"""Routes through the router against fake backends: Claude Code's real side request and
subagent request (recorded) go to the route's backend while the main turn stays on the
mode's; each is visible in the status, the status line, the ledger, `hotswap logs`,
`hotswap cost --by route` and `hotswap routes`; `routes off` sends everything to the mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from clients import status_of
from conftest import MakeRouter
from hotswap.ledger.attach import close_ledger, open_ledger
from hotswap.sessions.modefile import set_routes
from hotswap.sessions.statusline import render

DATA = Path(__file__).resolve().parents[1] / "data" / "routes"
HOTSWAP = Path(sys.executable).parent / "hotswap"
ENV = {"DEEPSEEK_API_KEY": "sk-ds-routes"}
ROUTES = """
[[routes]]
when = "background"
to = "deepseek"
[[routes]]
when = "subagent"
to = "deepseek:deepseek-v4-flash"
"""


def recorded(name: str, index: int) -> dict[str, Any]:
    return dict(json.loads((DATA / f"{name}.json").read_text())[index])


async def send(url: str, request: dict[str, Any]) -> str:
    headers = {
        **request["headers"],
        "x-api-key": "sk-ant-client",
        "content-type": "application/json",
    }
    data = json.dumps(request["body"])
    async with (
        aiohttp.ClientSession() as client,
        client.post(url + request["path"], data=data, headers=headers) as resp,
    ):
        assert resp.status == 200, await resp.text()
        return await resp.text()


def cli(home: Path, *args: str) -> str:
    env = {**os.environ, "HOTSWAP_HOME": str(home)}
    done = subprocess.run([str(HOTSWAP), *args], env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_side_and_subagent_requests_go_by_route_the_main_turn_by_mode(
    fakes: Any, make_router: MakeRouter, home: Path
) -> None:
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url}, mode="anthropic", env=ENV, extra_toml=ROUTES
    )
    router.state.session_id = "3f2a"
    ledger = open_ledger(router.state)
    main, title, sub = (
        recorded("interactive", 1),
        recorded("interactive", 0),
        recorded("subagent", 2),
    )
    for request in (main, title, sub, main):
        await send(router.url, request)
    assert [r.body["system"][2]["text"][:40] for r in ant.received] == [
        main["body"]["system"][2]["text"][:40]
    ] * 2
    assert [r.body["model"] for r in ds.received] == ["deepseek-v4-pro", "deepseek-v4-flash"]
    assert ds.received[0].body["tools"] == [] and "x-claude-code-agent-id" in ds.received[1].headers
    assert ds.received[0].headers["x-api-key"] == "sk-ds-routes"  # the route's backend's auth

    status = await status_of(router)
    assert status["mode"] == "anthropic"
    assert status["routes"] == {
        "configured": 2,
        "on": True,
        "routed": {"background": 1, "subagent": 1},
        "routed_to": {"deepseek": 2},
    }
    assert status["requests"] == {"anthropic": 2, "deepseek": 2}
    line = render("anthropic", None, status)
    assert line.startswith("⇄ anthropic · 2 via deepseek (background 1, subagent 1) · ")

    assert await close_ledger(ledger)
    logs = cli(home, "logs", "--json")
    routes = [json.loads(x)["route"] for x in logs.splitlines()]
    assert routes == [None, "background", "subagent", None]
    assert "route background" in cli(home, "logs")
    cost = json.loads(cli(home, "cost", "--by", "route", "--json"))
    assert {line["key"]: line["requests"] for line in cost["rows"]} == {
        "(mode)": 2,
        "background": 1,
        "subagent": 1,
    }
    table = cli(home, "routes")
    assert "background  deepseek" in table and table.splitlines()[1].endswith("1")
    assert json.loads(cli(home, "routes", "--json"))["routes"][1] == {
        "name": "subagent",
        "when": "subagent",
        "to": "deepseek:deepseek-v4-flash",
        "on": [],
        "today": 1,
    }


async def test_routes_off_sends_every_request_to_the_mode_until_on(
    fakes: Any, make_router: MakeRouter
) -> None:
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url}, mode="anthropic", env=ENV, extra_toml=ROUTES
    )
    title = recorded("interactive", 0)
    set_routes(router.mode_file, on=False)
    await send(router.url, title)
    status = await status_of(router)
    assert (len(ant.received), len(ds.received)) == (1, 0)
    assert status["routes"]["on"] is False and status["routes"]["routed"] == {}
    assert "routes off" in render("anthropic", None, status)
    set_routes(router.mode_file, on=True)
    await send(router.url, title)
    assert (len(ant.received), len(ds.received)) == (1, 1)


async def test_without_routes_nothing_changes(fakes: Any, make_router: MakeRouter) -> None:
    ant = await fakes("anthropic")
    router = await make_router({"anthropic": ant.url}, mode="anthropic")
    await send(router.url, recorded("interactive", 0))
    status = await status_of(router)
    assert len(ant.received) == 1 and status["routes"]["configured"] == 0
    assert render("anthropic", None, status).startswith("⇄ anthropic · ")
    assert "via" not in render("anthropic", None, status)

"""deepclaude's control endpoints on hotswap's routers, sent as a deepclaude user's curl
lines and VS Code tasks send them: POST /_proxy/mode (form or JSON), GET /_proxy/status,
/_router/status and /_proxy/cost, behind the same guard as /_hotswap/*."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import anthropic
import pytest

from conftest import MakeRouter, Router
from hotswap.ledger.attach import close_ledger, open_ledger
from hotswap.router.exchange import Usage
from records import record

BODY = {"model": "claude-opus-5-5", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
SECRET = "topsecret"
M = 1_000_000


async def request(
    method: str, url: str, *, data: Any = None, json: Any = None, headers: Any = None
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url, data=data, json=json, headers=headers) as resp,
    ):
        return resp.status, await resp.json()


async def two_backends(fakes, make_router: MakeRouter, secret: str | None) -> tuple[Router, Any]:
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url}, env={"DEEPSEEK_API_KEY": "sk-ds"}, secret=secret
    )
    return router, ds


@pytest.mark.parametrize("secret", [SECRET, None], ids=["session router", "serve"])
async def test_a_form_body_switches_the_mode_as_hotswap_use_does(
    fakes, make_router: MakeRouter, secret: str | None
) -> None:
    router, ds = await two_backends(fakes, make_router, secret)
    base = router.url + (f"/s/{secret}" if secret else "")
    # curl -sX POST $BASE/_proxy/mode -d backend=ds  (a form body, an alias of deepseek)
    status, answer = await request("POST", base + "/_proxy/mode", data={"backend": "ds"})
    assert status == 200
    assert answer["mode"] == "deepseek" and answer["previous"] == "anthropic"
    assert "warning" not in answer
    assert router.mode_file.read_text() == "deepseek\n"
    assert router.mode_file.stat().st_mode & 0o777 == 0o600
    client = anthropic.AsyncAnthropic(base_url=base, api_key="sk-ant-user", max_retries=0)
    await client.messages.create(**BODY)
    assert len(ds.received) == 1  # the very next request went to the new backend


async def test_a_json_body_and_a_model_and_a_missing_key_warning(
    fakes, make_router: MakeRouter
) -> None:
    router, _ = await two_backends(fakes, make_router, SECRET)
    url = f"{router.url}/s/{SECRET}/_proxy/mode"
    status, answer = await request("POST", url, json={"backend": "kimi", "model": "k2"})
    assert status == 200 and answer["mode"] == "kimi" and answer["model"] == "k2"
    assert answer["warning"] == "MOONSHOT_API_KEY is not set where this router runs"
    assert router.mode_file.read_text() == "kimi k2\n"


@pytest.mark.parametrize(
    ("path", "kwargs", "status", "message"),
    [
        (f"/s/{SECRET}/_proxy/mode", {"data": "backend=gpt9"}, 400, "unknown backend 'gpt9'"),
        (f"/s/{SECRET}/_proxy/mode", {"json": {"backend": "gpt9"}}, 400, "valid names: "),
        (f"/s/{SECRET}/_proxy/mode", {"data": "mode=ds"}, 400, "needs backend=NAME"),
        (f"/s/{SECRET}/_proxy/mode", {"data": "{not json"}, 400, "not JSON"),
        (f"/s/{SECRET}/_proxy/mode", {"data": "backend=" + "x" * 5000}, 413, "exceeds"),
        ("/_proxy/mode", {"data": "backend=ds"}, 401, "hotswap:"),
        ("/_proxy/status", {}, 401, "hotswap:"),
        ("/_router/status", {}, 401, "hotswap:"),
        ("/_proxy/cost", {}, 401, "hotswap:"),
        (
            f"/s/{SECRET}/_proxy/mode",
            {"data": "backend=ds", "headers": {"Origin": "https://evil.example"}},
            403,
            "web page",
        ),
        (
            f"/s/{SECRET}/_proxy/mode",
            {"data": "backend=ds", "headers": {"Host": "attacker.test"}},
            403,
            "Host",
        ),
    ],
)
async def test_refusals_touch_nothing(
    fakes, make_router: MakeRouter, path: str, kwargs: dict[str, Any], status: int, message: str
) -> None:
    router, _ = await two_backends(fakes, make_router, SECRET)
    method = "POST" if path.endswith("mode") else "GET"
    got, answer = await request(method, router.url + path, **kwargs)
    assert got == status
    assert answer["type"] == "error" and message in answer["error"]["message"]
    assert not router.mode_file.exists()


async def test_serve_refuses_any_origin_as_it_does_for_its_own_routes(
    fakes, make_router: MakeRouter
) -> None:
    router, _ = await two_backends(fakes, make_router, None)
    headers = {"Origin": "http://localhost:5173"}
    status, answer = await request(
        "POST", router.url + "/_proxy/mode", data={"backend": "ds"}, headers=headers
    )
    assert status == 403 and answer["error"]["type"] == "permission_error"
    assert not router.mode_file.exists()


@pytest.mark.parametrize("path", ["/_proxy/status", "/_router/status"])
async def test_status_in_deepclaudes_field_names(fakes, make_router: MakeRouter, path: str) -> None:
    router, _ = await two_backends(fakes, make_router, SECRET)
    base = f"{router.url}/s/{SECRET}"
    client = anthropic.AsyncAnthropic(base_url=base, api_key="sk-ant-user", max_retries=0)
    await client.messages.create(**BODY)
    await request("POST", base + "/_proxy/mode", data={"backend": "deepseek"})
    status, answer = await request("GET", base + path)
    assert status == 200
    assert answer["mode"] == "deepseek"
    assert answer["port"] == router.running.port
    assert isinstance(answer["uptime"], int) and answer["uptime"] >= 0
    assert answer["requests"] == 1 and answer["requests_by_backend"] == {"anthropic": 1}
    assert answer["mode_file"] == str(router.mode_file) and "version" in answer  # hotswap's


async def test_cost_in_deepclaudes_shape_counts_this_routers_session_only(
    make_router: MakeRouter,
) -> None:
    router = await make_router({}, secret=SECRET)
    router.state.session_id = "3f2a"
    ledger = open_ledger(router.state)
    for r in (
        record("deepseek", session="3f2a", usage=Usage(M, M)),
        record("deepseek", session="3f2a", usage=Usage(M, 0)),
        record("deepseek", session="other", usage=Usage(M, 0)),
        record("deepseek", session="3f2a", usage=Usage(M, 0), started=router.state.started - 60),
    ):
        router.state.observers.publish(r)
    await asyncio.sleep(0)
    assert await close_ledger(ledger)  # written: the route reads the ledger file
    status, cost = await request("GET", f"{router.url}/s/{SECRET}/_proxy/cost")
    assert status == 200
    ds = cost["backends"]["deepseek"]
    assert (ds["input_tokens"], ds["output_tokens"], ds["requests"]) == (2 * M, M, 2)
    assert ds["cost"] == pytest.approx(2 * 0.435 + 0.87)
    assert ds["anthropic_equivalent"] == pytest.approx(2 * 4.0 + 20.0)  # claude-opus-5-5
    assert cost["total_cost"] == ds["cost"]
    assert cost["savings"] == pytest.approx(cost["anthropic_equivalent"] - cost["total_cost"])
    assert cost["session"] == "3f2a" and cost["unpriced_requests"] == 0

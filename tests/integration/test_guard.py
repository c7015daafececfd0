"""Only the session's own client may use its router: secret prefix, loopback Host and Origin."""

from __future__ import annotations

import aiohttp
import anthropic
import pytest

from hotswap.router.app import is_loopback_host

BODY = {"model": "claude-opus-5-5", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1:3199", True),
        ("localhost", True),
        ("[::1]:80", True),
        ("127.9.9.9", True),
        ("evil.example:3199", False),
        ("192.168.1.4", False),
        ("localhost.evil.com", False),
        ("", False),
    ],
)
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


async def test_the_sessions_own_client_gets_through_with_its_secret(fakes, make_router) -> None:
    ant = await fakes("anthropic")
    router = await make_router({"anthropic": ant.url}, secret="topsecret")
    client = anthropic.AsyncAnthropic(
        base_url=f"{router.url}/s/topsecret", api_key="sk-ant-user", max_retries=0
    )
    reply = await client.messages.create(**BODY)
    assert reply.content[0].text == "Hello from the fake."
    assert ant.received[0].path_qs == "/v1/messages"  # the secret never leaves the router


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/v1/messages", {}, 401),
        ("/s/wrong/v1/messages", {}, 401),
        ("/s/topsecretX/v1/messages", {}, 401),
        ("/s/topsecret/v1/messages", {"Origin": "https://evil.example"}, 403),
        ("/s/topsecret/v1/messages", {"Origin": "null"}, 403),
        ("/s/topsecret/v1/messages", {"Host": "evil.example"}, 403),
        ("/s/topsecret/_hotswap/status", {"Host": "attacker.test:80"}, 403),
        ("/_hotswap/status", {}, 401),
    ],
)
async def test_foreign_requests_are_refused_and_the_backend_sees_nothing(
    fakes, make_router, path: str, headers: dict[str, str], status: int
) -> None:
    ant = await fakes("anthropic")
    router = await make_router({"anthropic": ant.url}, secret="topsecret")
    async with (
        aiohttp.ClientSession() as http,
        http.post(router.url + path, json=BODY, headers=headers) as resp,
    ):
        body = await resp.json()
    assert resp.status == status
    assert body["type"] == "error" and body["error"]["message"].startswith("hotswap:")
    assert ant.received == []


async def test_a_loopback_origin_is_allowed(fakes, make_router) -> None:
    ant = await fakes("anthropic")
    router = await make_router({"anthropic": ant.url}, secret="topsecret")
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            router.url + "/s/topsecret/_hotswap/status",
            headers={"Origin": "http://localhost:5173"},
        ) as resp,
    ):
        assert resp.status == 200
        assert (await resp.json())["mode"] == "anthropic"

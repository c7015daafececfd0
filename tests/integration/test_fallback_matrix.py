"""The fault matrix: a router in front of scripted fake backends. Each case checks what each
fake received, what the client got, and what the mode file says afterwards."""

from __future__ import annotations

import asyncio
import functools
import json
import socket
from typing import Any

import aiohttp
import anthropic
import pytest
from aiohttp import web
from multidict import CIMultiDict

import clients
from clients import error_message, sse_names, status_of
from fakes import (
    FakeUpstream,
    Reply,
    encode_events,
    json_error,
    json_reply,
    message_events,
    sse_message,
    sse_reply,
)
from hotswap.config.backends import PLACEHOLDER_TOKEN

ANT_KEY = "sk-ant-user"
DS_KEY = "sk-ds-test"
ENV = {"DEEPSEEK_API_KEY": DS_KEY}
HI = [{"role": "user", "content": "hi"}]
# What Claude Code sends, trimmed: deepseek must get it with its model mapped and
# context_management dropped, nothing else changed.
CLAUDE_BODY: dict[str, Any] = {
    "model": "claude-opus-5-5",
    "max_tokens": 1000,
    "system": [{"type": "text", "text": "You are Claude Code."}],
    "messages": [{"role": "user", "content": [{"type": "text", "text": "fix the bug ✓"}]}],
    "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
    "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
    "metadata": {"user_id": "u1"},
}


@pytest.fixture
def make_router(make_router):
    """In this module transient faults may cross to the next backend ([router]
    transient_fallback = true): that is what these tests are about."""
    return functools.partial(make_router, transient=True)


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def closed_port_url() -> str:
    """A loopback URL nothing listens on: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def sdk(router: Any) -> anthropic.AsyncAnthropic:
    return clients.sdk(router, api_key=ANT_KEY)


async def post(
    router: Any, body: dict[str, Any], *, stream: bool = False
) -> tuple[int, CIMultiDict[str], bytes]:
    """A raw client: the status, headers and exact bytes the router answered."""
    payload = dict(body, stream=True) if stream else body
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{router.url}/v1/messages", json=payload, headers={"x-api-key": ANT_KEY}
        ) as resp,
    ):
        return resp.status, CIMultiDict(resp.headers), await resp.read()


def mode_of(router: Any) -> str:
    return str(router.mode_file.read_text().strip())


async def two(fakes: Any) -> tuple[FakeUpstream, FakeUpstream]:
    return await fakes("anthropic"), await fakes("deepseek")


async def anthropic_first(make_router: Any, ant: FakeUpstream, ds: FakeUpstream) -> Any:
    """A router on Anthropic, with DeepSeek after it in the fallback chain."""
    return await make_router({"anthropic": ant.url, "deepseek": ds.url}, mode="anthropic", env=ENV)


def error_event(error_type: str, message: str) -> bytes:
    return encode_events(
        [("error", {"type": "error", "error": {"type": error_type, "message": message}})]
    )


# --- sticky fallback: the active backend refuses the credentials or has no credit ---------


async def test_402_falls_back_and_the_switch_sticks(fakes, make_router):
    ant, ds = await two(fakes)
    ant.script(json_error(402, "billing_error", "Your account has no credits"))
    router = await anthropic_first(make_router, ant, ds)
    client = sdk(router)
    first = await client.messages.create(model="claude-opus-5-5", max_tokens=10, messages=HI)
    assert first.content[0].text == "Hello from the fake."
    assert first.model == "deepseek-v4-pro"  # the deepseek fake echoes what it was sent
    assert mode_of(router) == "deepseek"
    status = await status_of(router)
    assert status["mode"] == "deepseek"
    assert status["fallback"].startswith("fell back from anthropic to deepseek: HTTP 402")
    assert "no credits" in status["fallback"]
    # later requests go straight to deepseek
    async with client.messages.stream(
        model="claude-opus-5-5", max_tokens=10, messages=HI
    ) as stream:
        assert await stream.get_final_text() == "Hello from the fake."
    assert len(ant.received) == 1 and len(ds.received) == 2
    assert ANT_KEY in str(ant.received[0].headers)  # the user's credential, passed through
    for sent in ds.received:
        assert sent.headers["x-api-key"] == DS_KEY
        assert ANT_KEY not in str(sent.headers)


async def test_the_retried_request_is_the_original_rewritten_afresh(fakes, make_router):
    ant, ds = await two(fakes)
    ant.script(json_error(401, "authentication_error", "invalid x-api-key"))
    router = await anthropic_first(make_router, ant, ds)
    status, _, raw = await post(router, CLAUDE_BODY, stream=True)
    assert status == 200 and sse_names(raw)[-1] == "message_stop"
    assert ant.received[0].body == dict(CLAUDE_BODY, stream=True)  # untouched for Anthropic
    expected = {k: v for k, v in CLAUDE_BODY.items() if k != "context_management"}
    assert ds.received[0].body == dict(expected, stream=True, model="deepseek-v4-pro")
    assert mode_of(router) == "deepseek"


async def test_anthropic_low_credit_400_counts_as_a_refusal(fakes, make_router):
    ant, ds = await two(fakes)
    ant.script(
        json_error(
            400,
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & "
            "Billing to upgrade or purchase credits.",
        )
    )
    router = await anthropic_first(make_router, ant, ds)
    reply = await sdk(router).messages.create(model="claude-opus-5-5", max_tokens=10, messages=HI)
    assert reply.content[0].text == "Hello from the fake."
    assert len(ant.received) == 1 and len(ds.received) == 1
    assert mode_of(router) == "deepseek"
    assert "credit balance is too low" in (await status_of(router))["fallback"]


async def test_deepseek_insufficient_balance_falls_back_along_its_own_chain(fakes, make_router):
    ds, orr = await fakes("deepseek"), await fakes("openrouter")
    ds.script(
        json_reply(402, {"error": {"message": "Insufficient Balance", "type": "unknown_error"}})
    )
    router = await make_router(
        {"openrouter": orr.url},
        mode="ds",
        env={**ENV, "OPENROUTER_API_KEY": "sk-or-test"},
        extra_toml=f'[backends.deepseek]\nbase_url = "{ds.url}"\nfallback = ["or"]\n',
    )
    reply = await sdk(router).messages.create(model="claude-opus-5-5", max_tokens=10, messages=HI)
    assert reply.content[0].text == "Hello from the fake."
    assert len(ds.received) == 1 and len(orr.received) == 1
    assert orr.received[0].headers["authorization"] == "Bearer sk-or-test"
    assert mode_of(router) == "openrouter"
    assert "Insufficient Balance" in (await status_of(router))["fallback"]


async def test_the_fallback_note_goes_when_the_user_switches_back(fakes, make_router):
    ant, ds = await two(fakes)
    ant.script(json_error(402, "billing_error", "no credits"))
    router = await anthropic_first(make_router, ant, ds)
    await sdk(router).messages.create(model="claude-opus-5-5", max_tokens=10, messages=HI)
    assert (await status_of(router))["fallback"]
    router.mode_file.write_text("anthropic\n")
    assert (await status_of(router))["fallback"] is None
    router.mode_file.write_text("deepseek\n")  # switching to it by hand is no fallback
    assert (await status_of(router))["fallback"] is None


@pytest.mark.parametrize(
    "switch_off",
    ["fallback = []\n", "\n[router]\nfallback = false\n"],
    ids=["per-backend", "global"],
)
async def test_fallback_switched_off_passes_the_402_through(fakes, make_router, switch_off):
    ant, ds = await two(fakes)
    ant.script(json_error(402, "billing_error", "no credits"))
    anthropic_table = f'[backends.anthropic]\nbase_url = "{ant.url}"\n'
    router = await make_router(
        {"deepseek": ds.url}, mode="anthropic", env=ENV, extra_toml=anthropic_table + switch_off
    )
    status, _, raw = await post(router, CLAUDE_BODY)
    assert status == 402 and error_message(raw) == "no credits"
    assert len(ant.received) == 1 and ds.received == []
    assert mode_of(router) == "anthropic"


# --- per-request retry on transient faults: the mode file does not change ------------------


async def test_529_retries_on_the_next_backend_for_this_request_only(fakes, make_router):
    ant, ds = await two(fakes)
    ant.script(json_error(529, "overloaded_error", "Overloaded"))
    ds.script(sse_message("from deepseek"))
    router = await anthropic_first(make_router, ant, ds)
    client = sdk(router)
    async with client.messages.stream(
        model="claude-opus-5-5", max_tokens=10, messages=HI
    ) as stream:
        assert await stream.get_final_text() == "from deepseek"
    assert mode_of(router) == "anthropic"
    assert (await status_of(router))["fallback"] is None
    again = await client.messages.create(model="claude-opus-5-5", max_tokens=10, messages=HI)
    assert again.model == "claude-opus-5-5"  # the anthropic fake again
    assert len(ant.received) == 2 and len(ds.received) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
async def test_server_errors_retry_on_the_next_backend(fakes, make_router, status):
    ant, ds = await two(fakes)
    ant.script(json_error(status, "api_error", "upstream trouble"))
    router = await anthropic_first(make_router, ant, ds)
    code, _, raw = await post(router, CLAUDE_BODY)
    assert code == 200 and json.loads(raw)["model"] == "deepseek-v4-pro"
    assert len(ant.received) == 1 and len(ds.received) == 1
    assert mode_of(router) == "anthropic"


async def test_a_refused_connection_moves_on_to_the_next_backend(fakes, make_router):
    ds = await fakes("deepseek")
    router = await make_router(
        {"anthropic": closed_port_url(), "deepseek": ds.url}, mode="anthropic", env=ENV
    )
    async with sdk(router).messages.stream(
        model="claude-opus-5-5", max_tokens=10, messages=HI
    ) as stream:
        assert await stream.get_final_text() == "Hello from the fake."
    assert len(ds.received) == 1
    assert mode_of(router) == "anthropic"


async def test_429_with_a_short_retry_after_is_retried_on_the_same_backend(fakes, make_router):
    ant, ds = await two(fakes)
    ant.script(json_error(429, "rate_limit_error", "slow down", headers={"retry-after": "0"}))
    router = await anthropic_first(make_router, ant, ds)
    reply = await sdk(router).messages.create(model="claude-opus-5-5", max_tokens=10, messages=HI)
    assert reply.model == "claude-opus-5-5"
    assert len(ant.received) == 2 and ds.received == []
    assert ant.received[0].raw == ant.received[1].raw
    assert mode_of(router) == "anthropic"


async def test_429_with_a_long_retry_after_moves_on_at_once(fakes, make_router):
    ant, ds = await two(fakes)
    ant.script(json_error(429, "rate_limit_error", "slow down", headers={"retry-after": "600"}))
    router = await anthropic_first(make_router, ant, ds)
    code, _, raw = await post(router, CLAUDE_BODY)
    assert code == 200 and json.loads(raw)["model"] == "deepseek-v4-pro"
    assert len(ant.received) == 1 and len(ds.received) == 1
    assert mode_of(router) == "anthropic"


async def test_a_spend_limit_429_falls_through_without_waiting(fakes, make_router):
    ant, ds = await two(fakes)
    spend_limit = {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": "You have reached your organization's monthly spend limit.",
            "details": {"error_code": "enforced_spend_limit_reached"},
        },
    }
    ant.script(json_reply(429, spend_limit, headers={"retry-after": "0"}))
    router = await anthropic_first(make_router, ant, ds)
    code, _, raw = await post(router, CLAUDE_BODY)
    assert code == 200 and json.loads(raw)["model"] == "deepseek-v4-pro"
    assert len(ant.received) == 1 and len(ds.received) == 1
    assert mode_of(router) == "deepseek"  # a spend limit is a refusal: sticky


async def test_no_first_byte_within_the_timeout_moves_on(fakes, make_router):
    ant, ds = await two(fakes)
    release = asyncio.Event()

    async def silent(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.Response(status=200)

    async def headers_then_silence(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b": keep-alive comment\n\nevent: ping\ndata: {}\n\n")
        await release.wait()
        return resp

    ant.script(silent, headers_then_silence)
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url},
        mode="anthropic",
        env=ENV,
        extra_toml="[router]\nfirst_byte_timeout_s = 0.3\n",
    )
    try:
        for _ in range(2):
            code, _, raw = await post(router, CLAUDE_BODY, stream=True)
            assert code == 200 and sse_names(raw)[-1] == "message_stop"
    finally:
        release.set()
    assert len(ant.received) == 2 and len(ds.received) == 2
    assert mode_of(router) == "anthropic"


# --- only before the first byte ------------------------------------------------------------


async def test_200_then_an_error_event_still_falls_back(fakes, make_router):
    ant, ds = await two(fakes)
    ant.script(sse_reply(error_event("overloaded_error", "Overloaded")))
    ds.script(sse_message("from deepseek"))
    router = await anthropic_first(make_router, ant, ds)
    async with sdk(router).messages.stream(
        model="claude-opus-5-5", max_tokens=10, messages=HI
    ) as stream:
        assert await stream.get_final_text() == "from deepseek"
    assert len(ant.received) == 1 and len(ds.received) == 1
    assert mode_of(router) == "anthropic"


async def test_200_then_a_billing_error_event_falls_back_and_sticks(fakes, make_router):
    ant, ds = await two(fakes)
    ant.script(sse_reply(error_event("billing_error", "no credits")))
    router = await anthropic_first(make_router, ant, ds)
    code, _, raw = await post(router, CLAUDE_BODY, stream=True)
    assert code == 200 and "error" not in sse_names(raw)
    assert mode_of(router) == "deepseek"


async def test_an_idle_stream_ends_in_one_error_event(fakes, make_router):
    ant, ds = await two(fakes)
    release = asyncio.Event()
    events = encode_events(message_events("stalls"))

    async def stall(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(events.split(b"\n\n")[0] + b"\n\n")
        await release.wait()
        return resp

    ant.script(stall)
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url},
        mode="anthropic",
        env=ENV,
        extra_toml="[router]\nidle_timeout_s = 0.3\n",
    )
    try:
        code, _, raw = await post(router, CLAUDE_BODY, stream=True)
    finally:
        release.set()
    assert code == 200 and sse_names(raw) == ["message_start", "error"]
    assert b"idle_timeout_s" in raw
    assert ds.received == []


async def test_a_400_passes_through_verbatim_and_is_never_retried(fakes, make_router):
    ant, ds = await two(fakes)
    body = {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "messages.0: bad"},
        "request_id": "req_1",
    }
    ant.script(json_reply(400, body, headers={"request-id": "req_1"}))
    router = await anthropic_first(make_router, ant, ds)
    code, headers, raw = await post(router, CLAUDE_BODY, stream=True)
    assert code == 400 and json.loads(raw) == body and headers["request-id"] == "req_1"
    ant.script(json_reply(400, body))
    with pytest.raises(anthropic.BadRequestError, match=r"messages\.0: bad"):
        await sdk(router).messages.create(model="claude-opus-5-5", max_tokens=10, messages=HI)
    assert len(ant.received) == 2 and ds.received == []
    assert mode_of(router) == "anthropic"


async def test_a_400_from_the_fallback_passes_through_and_the_switch_sticks(fakes, make_router):
    ant, ds = await two(fakes)
    ant.script(json_error(402, "billing_error", "no credits"))
    ds.script(json_error(400, "invalid_request_error", "deepseek dislikes this"))
    router = await anthropic_first(make_router, ant, ds)
    code, _, raw = await post(router, CLAUDE_BODY)
    assert code == 400 and error_message(raw) == "deepseek dislikes this"
    assert mode_of(router) == "deepseek"


# --- every attempt fails ---------------------------------------------------------------------


async def test_all_backends_down_gives_one_error_naming_every_attempt(fakes, make_router):
    router = await make_router(
        {"anthropic": closed_port_url(), "deepseek": closed_port_url()},
        mode="anthropic",
        env=ENV,
    )
    code, _, raw = await post(router, CLAUDE_BODY, stream=True)
    assert code == 502
    message = error_message(raw)
    assert json.loads(raw)["error"]["type"] == "api_error"
    assert "anthropic: cannot connect" in message and "deepseek: cannot connect" in message
    with pytest.raises(anthropic.InternalServerError, match="no backend could answer"):
        await sdk(router).messages.create(model="claude-opus-5-5", max_tokens=10, messages=HI)
    assert mode_of(router) == "anthropic"
    assert "no backend could answer" in (await status_of(router))["last_error"]


async def test_overloaded_everywhere_gives_a_529_naming_both(fakes, make_router):
    ant, ds = await two(fakes)
    ant.script(json_error(529, "overloaded_error", "Overloaded"))
    ds.script(json_error(503, "api_error", "busy", headers={"retry-after": "3"}))
    router = await anthropic_first(make_router, ant, ds)
    code, headers, raw = await post(router, CLAUDE_BODY)
    assert code == 503 and headers["retry-after"] == "3"
    message = error_message(raw)
    assert "anthropic: HTTP 529 overloaded_error: Overloaded" in message
    assert "deepseek: HTTP 503 api_error: busy" in message


async def test_refused_everywhere_gives_the_first_refusal_status(fakes, make_router):
    ant, ds = await two(fakes)
    ant.script(json_error(402, "billing_error", "no credits"))
    ds.script(json_error(401, "authentication_error", "bad key"))
    router = await anthropic_first(make_router, ant, ds)
    with pytest.raises(anthropic.APIStatusError) as caught:
        await sdk(router).messages.create(model="claude-opus-5-5", max_tokens=10, messages=HI)
    assert caught.value.status_code == 402
    assert "anthropic: HTTP 402" in caught.value.message
    assert "deepseek: HTTP 401" in caught.value.message
    assert mode_of(router) == "anthropic"


async def test_a_missing_key_on_the_fallback_target_is_named(fakes, make_router):
    ant, ds = await two(fakes)
    ant.script(json_error(402, "billing_error", "no credits"))
    router = await make_router({"anthropic": ant.url, "deepseek": ds.url}, mode="anthropic")
    code, _, raw = await post(router, CLAUDE_BODY)
    assert code == 402 and json.loads(raw)["error"]["type"] == "billing_error"
    message = error_message(raw)
    assert "anthropic: HTTP 402 billing_error: no credits" in message
    assert "deepseek: DEEPSEEK_API_KEY is not set" in message
    assert ds.received == []
    assert mode_of(router) == "anthropic"
    # a transient failure with the same gap keeps the transient status
    ant.script(json_error(529, "overloaded_error", "Overloaded"))
    code, _, raw = await post(router, CLAUDE_BODY)
    assert code == 529 and "DEEPSEEK_API_KEY is not set" in error_message(raw)


# --- client disconnect ---------------------------------------------------------------------


def _streams_until_closed(closed: asyncio.Event) -> Reply:
    """Two events, then keep-alive pings until a write fails (bounded: about 20 s)."""

    async def reply(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(encode_events(message_events("partial")[:2]))
        try:
            for _ in range(2000):
                await asyncio.sleep(0.01)
                await resp.write(b'event: ping\ndata: {"type": "ping"}\n\n')
        except ConnectionError:
            closed.set()
        return resp

    return reply


async def test_a_client_disconnect_mid_stream_closes_the_upstream_connection(fakes, make_router):
    ant, ds = await two(fakes)
    closed = asyncio.Event()
    ant.script(_streams_until_closed(closed))
    router = await anthropic_first(make_router, ant, ds)
    async with aiohttp.ClientSession() as session:
        resp = await session.post(
            f"{router.url}/v1/messages",
            json=dict(CLAUDE_BODY, stream=True),
            headers={"x-api-key": ANT_KEY},
        )
        assert b"message_start" in await resp.content.readuntil(b"\n\n")
        resp.close()  # the client goes away mid-stream
    await asyncio.wait_for(closed.wait(), 15)
    assert ds.received == []
    assert router.state.requests["anthropic"] == 1
    # the router is fine afterwards
    reply = await sdk(router).messages.create(model="claude-opus-5-5", max_tokens=10, messages=HI)
    assert reply.content[0].text == "Hello from the fake."


async def test_a_client_disconnect_before_the_answer_closes_the_upstream_request(
    fakes, make_router
):
    ant, ds = await two(fakes)
    arrived, closed = asyncio.Event(), asyncio.Event()

    async def waits(request: web.Request) -> web.StreamResponse:
        arrived.set()
        for _ in range(2000):  # bounded: about 20 s
            if request.transport is None or request.transport.is_closing():
                closed.set()
                break
            await asyncio.sleep(0.01)
        return web.Response(status=200)

    ant.script(json_error(529, "overloaded_error", "Overloaded"), waits)
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url},
        mode="anthropic",
        env=ENV,
        extra_toml="[router]\nbreaker_failures = 1\n",
    )
    clock = Clock()
    router.state.breakers.set_clock(clock)
    await post(router, CLAUDE_BODY)  # opens anthropic's breaker
    clock.now += 3600
    task = asyncio.create_task(post(router, CLAUDE_BODY, stream=True))  # the probe
    await asyncio.wait_for(arrived.wait(), 15)
    assert not router.state.breakers.get("anthropic").available()  # probe in flight
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(closed.wait(), 15)
    assert len(ds.received) == 1  # the first request only: the cancelled one went nowhere else
    # the cancelled probe gave its slot back: the next request may probe again
    assert router.state.breakers.get("anthropic").available()


# --- circuit breaker -------------------------------------------------------------------------


async def test_the_breaker_opens_skips_the_backend_and_recovers_after_a_probe(fakes, make_router):
    ant, ds = await two(fakes)
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url},
        mode="anthropic",
        env=ENV,
        extra_toml="[router]\nbreaker_failures = 2\nbreaker_cooldown_s = 30\n",
    )
    clock = Clock()
    router.state.breakers.set_clock(clock)
    client = sdk(router)

    async def ask() -> str:
        reply = await client.messages.create(model="claude-opus-5-5", max_tokens=10, messages=HI)
        return reply.model

    ant.script(*[json_error(529, "overloaded_error", "Overloaded")] * 2)
    assert [await ask(), await ask()] == ["deepseek-v4-pro"] * 2
    breaker = (await status_of(router))["breakers"]["anthropic"]
    assert breaker == {"state": "open", "failures": 2, "trips": 1, "retry_in_s": 30.0}
    assert await ask() == "deepseek-v4-pro"  # skipped: anthropic not asked
    assert len(ant.received) == 2 and len(ds.received) == 3
    clock.now += 30
    assert (await status_of(router))["breakers"]["anthropic"]["state"] == "half-open"
    ant.script(json_error(529, "overloaded_error", "Overloaded"))  # the probe fails
    assert await ask() == "deepseek-v4-pro"
    assert len(ant.received) == 3
    assert (await status_of(router))["breakers"]["anthropic"]["state"] == "open"
    assert await ask() == "deepseek-v4-pro"
    assert len(ant.received) == 3
    clock.now += 30
    assert await ask() == "claude-opus-5-5"  # the probe succeeds: closed again
    assert await ask() == "claude-opus-5-5"
    assert len(ant.received) == 5
    breaker = (await status_of(router))["breakers"]["anthropic"]
    assert breaker == {"state": "closed", "failures": 0, "trips": 1, "retry_in_s": None}
    assert mode_of(router) == "anthropic"


async def test_with_every_breaker_open_the_active_backend_is_still_tried(fakes, make_router):
    ant = await fakes("anthropic")
    router = await make_router(
        {"anthropic": ant.url},
        mode="anthropic",
        extra_toml="[router]\nbreaker_failures = 1\nfallback = false\n",
    )
    router.state.breakers.set_clock(Clock())
    ant.script(json_error(529, "overloaded_error", "Overloaded"))
    code, _, _ = await post(router, CLAUDE_BODY)
    assert code == 529
    assert router.state.breakers.get("anthropic").state() == "open"
    code, _, _ = await post(router, CLAUDE_BODY)
    assert code == 200 and len(ant.received) == 2


# --- more transport faults -----------------------------------------------------------------


async def test_a_tls_failure_moves_on_to_the_next_backend(fakes, make_router):
    ant, ds = await two(fakes)  # ant speaks plain HTTP: a TLS handshake with it fails
    router = await make_router(
        {"anthropic": f"https://127.0.0.1:{ant.port}", "deepseek": ds.url},
        mode="anthropic",
        env=ENV,
    )
    code, _, raw = await post(router, CLAUDE_BODY)
    assert code == 200 and json.loads(raw)["model"] == "deepseek-v4-pro"
    assert ant.received == [] and len(ds.received) == 1
    assert mode_of(router) == "anthropic"


async def test_a_connection_reset_before_the_answer_moves_on(fakes, make_router):
    ant, ds = await two(fakes)

    async def reset(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()
        return web.Response(status=200)

    ant.script(reset)
    router = await anthropic_first(make_router, ant, ds)
    code, _, raw = await post(router, CLAUDE_BODY, stream=True)
    assert code == 200 and sse_names(raw)[-1] == "message_stop"
    assert len(ant.received) == 1 and len(ds.received) == 1
    assert "anthropic" in router.state.breakers.by_backend
    assert router.state.breakers.get("anthropic").failures == 1
    assert mode_of(router) == "anthropic"


async def test_no_anthropic_credential_at_all_falls_back_and_sticks(fakes, make_router):
    ant, ds = await two(fakes)
    router = await anthropic_first(make_router, ant, ds)
    client = anthropic.AsyncAnthropic(
        base_url=router.url, auth_token=PLACEHOLDER_TOKEN, max_retries=0
    )
    reply = await client.messages.create(model="claude-opus-5-5", max_tokens=10, messages=HI)
    assert reply.model == "deepseek-v4-pro"
    assert ant.received == [] and PLACEHOLDER_TOKEN not in str(ds.received[0].headers)
    assert mode_of(router) == "deepseek"
    assert "no Anthropic credential" in (await status_of(router))["fallback"]

"""The exchange record: one per finished exchange, handed to the router's observers, with
what the fake backends reported (tokens, models, statuses, attempts, fallback)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp
import anthropic
import pytest
from aiohttp import web

from clients import sdk
from fakes import encode_events, json_error, message_events, sse_message, sse_reply
from hotswap.router import exchange
from hotswap.router.exchange import ExchangeRecord, Observers, Usage, usage_from

DS_KEY = "sk-ds-record-test"
ENV = {"DEEPSEEK_API_KEY": DS_KEY}
HI = [{"role": "user", "content": "hi"}]


def records_of(router: Any) -> list[ExchangeRecord]:
    """The records the router publishes from now on (observers run soon after each one)."""
    got: list[ExchangeRecord] = []
    router.state.observers.add(got.append)
    return got


async def settle(got: list[ExchangeRecord], n: int) -> None:
    for _ in range(200):
        if len(got) >= n:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{len(got)} records, expected {n}")


async def test_a_stream_is_recorded_with_the_usage_the_backend_reported(fakes, make_router):
    ant = await fakes("anthropic")
    ant.script(sse_message("hello", input_tokens=120, output_tokens=34, model="claude-x"))
    router = await make_router({"anthropic": ant.url}, mode="anthropic")
    got = records_of(router)
    async with sdk(router).messages.stream(
        model="claude-sonnet-5-5", max_tokens=10, messages=HI
    ) as stream:
        assert await stream.get_final_text() == "hello"
    await settle(got, 1)
    (rec,) = got
    assert rec.outcome == exchange.OK and rec.status == 200
    assert rec.backend == rec.active == "anthropic" and not rec.fell_back
    assert rec.client_model == rec.wire_model == "claude-sonnet-5-5"
    assert rec.response_model == "claude-x" and rec.stop_reason == "end_turn"
    assert rec.usage == Usage(input_tokens=120, output_tokens=34)
    assert rec.stream and rec.endpoint == "messages"
    assert rec.request_bytes == len(ant.received[0].raw)
    assert rec.response_bytes > 200 and rec.ttfb_ms is not None
    assert rec.duration_ms >= rec.ttfb_ms
    assert [(a.backend, a.status, a.verdict) for a in rec.attempts] == [
        ("anthropic", 200, "deliver")
    ]


async def test_the_wire_model_is_the_backends_name_for_it(fakes, make_router):
    ds = await fakes("deepseek")
    router = await make_router({"deepseek": ds.url}, mode="deepseek", env=ENV)
    got = records_of(router)
    reply = await sdk(router).messages.create(model="claude-opus-5-5", max_tokens=5, messages=HI)
    assert reply.content
    await settle(got, 1)
    assert got[0].wire_model == "deepseek-v4-pro" and got[0].client_model == "claude-opus-5-5"
    assert not got[0].stream and got[0].usage.output_tokens == 7


async def test_a_sticky_fallback_is_in_the_record(fakes, make_router):
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    ant.script(json_error(402, "billing_error", "no credits"))
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url}, mode="anthropic", env=ENV
    )
    got = records_of(router)
    await sdk(router).messages.create(model="claude-opus-5-5", max_tokens=5, messages=HI)
    await settle(got, 1)
    rec = got[0]
    assert rec.backend == "deepseek" and rec.fell_back_from == "anthropic"
    assert rec.fallback_kind == exchange.STICKY
    assert [(a.backend, a.status, a.verdict) for a in rec.attempts] == [
        ("anthropic", 402, "switch"),
        ("deepseek", 200, "deliver"),
    ]
    assert "billing_error" in rec.attempts[0].reason


async def test_a_given_up_exchange_is_recorded_as_failed(fakes, make_router):
    ant = await fakes("anthropic")
    ant.script(json_error(529, "overloaded_error", "Overloaded"))
    router = await make_router({"anthropic": ant.url}, mode="anthropic")
    got = records_of(router)
    with pytest.raises(anthropic.APIStatusError):
        await sdk(router).messages.create(model="claude-opus-5-5", max_tokens=5, messages=HI)
    await settle(got, 1)
    rec = got[0]
    assert rec.outcome == exchange.FAILED and rec.status == 529
    assert rec.backend == "anthropic"  # where it was sent, though it did not answer
    assert rec.error is not None and "Overloaded" in rec.error


async def test_a_stream_broken_after_the_commit_is_a_stream_error(fakes, make_router):
    ant = await fakes("anthropic")
    ant.script(sse_reply(encode_events(message_events("cut short")), break_after_events=3))
    router = await make_router({"anthropic": ant.url}, mode="anthropic")
    got = records_of(router)
    with pytest.raises(anthropic.APIError):
        async with sdk(router).messages.stream(
            model="claude-opus-5-5", max_tokens=5, messages=HI
        ) as stream:
            await stream.get_final_text()
    await settle(got, 1)
    assert got[0].outcome == exchange.STREAM_ERROR and got[0].backend == "anthropic"
    assert got[0].usage.input_tokens == 12  # counted before the break


async def test_an_observer_that_raises_never_breaks_a_request(fakes, make_router, caplog):
    ant = await fakes("anthropic")
    router = await make_router({"anthropic": ant.url}, mode="anthropic")

    def broken(record: ExchangeRecord) -> None:
        raise RuntimeError("observer bug")

    router.state.observers.add(broken)
    got = records_of(router)
    for _ in range(2):
        reply = await sdk(router).messages.create(
            model="claude-opus-5-5", max_tokens=5, messages=HI
        )
        assert reply.content
    await settle(got, 2)
    assert "observer bug" in caplog.text


def test_observers_run_inline_without_a_loop_and_can_be_removed() -> None:
    observers, seen = Observers(), []
    assert not observers
    observers.add(seen.append)
    rec = ExchangeRecord(
        id="x",
        started=0.0,
        session=None,
        endpoint="messages",
        stream=False,
        client_model=None,
        active="anthropic",
        backend=None,
        wire_model=None,
        response_model=None,
        status=0,
        outcome=exchange.FAILED,
    )
    observers.publish(rec)
    observers.remove(seen.append)
    observers.publish(rec)
    assert seen == [rec]


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (None, Usage()),
        ({"input_tokens": 5, "output_tokens": 2}, Usage(5, 2)),
        (
            {
                "input_tokens": 5,
                "output_tokens": 2,
                "cache_read_input_tokens": 100,
                "cache_creation_input_tokens": 7,
            },
            Usage(5, 2, 100, 7),
        ),
        (  # DeepSeek: cache hits are reads, misses the input
            {
                "input_tokens": 105,
                "output_tokens": 2,
                "prompt_cache_hit_tokens": 100,
                "prompt_cache_miss_tokens": 5,
            },
            Usage(5, 2, 100, 0),
        ),
        (  # OpenAI: prompt_tokens includes the cached ones
            {
                "prompt_tokens": 105,
                "completion_tokens": 9,
                "prompt_tokens_details": {"cached_tokens": 100},
            },
            Usage(5, 9, 100, 0),
        ),
        ({"input_tokens": None, "output_tokens": "3", "cache_read_input_tokens": -1}, Usage()),
    ],
)
def test_usage_from_maps_each_vendors_fields(usage: Any, expected: Usage) -> None:
    assert usage_from(usage) == expected


async def test_a_client_that_goes_away_mid_stream_is_recorded_as_gone(fakes, make_router):
    release = asyncio.Event()

    async def stalls(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(encode_events(message_events("partial")[:2]))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(release.wait(), 20)
        return resp

    ant = await fakes("anthropic")
    ant.script(stalls)
    router = await make_router({"anthropic": ant.url}, mode="anthropic")
    got = records_of(router)
    async with aiohttp.ClientSession() as http:
        resp = await http.post(
            router.url + "/v1/messages",
            json={"model": "claude-opus-5-5", "max_tokens": 5, "messages": HI, "stream": True},
            headers={"x-api-key": "sk-ant-user"},
        )
        await resp.content.readuntil(b"\n\n")  # committed: the first event arrived
        resp.close()  # the client goes away
    await settle(got, 1)
    release.set()
    assert got[0].outcome == exchange.CLIENT_GONE and got[0].backend == "anthropic"
    assert got[0].response_bytes > 0

"""The router through real sockets: the official SDK (or a raw aiohttp client) in front,
FakeUpstream servers behind. Each test checks what the fake received and what the client got.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import socket
from typing import Any

import aiohttp
import anthropic
import pytest
from aiohttp import web

import bodygen
import hotswap
from clients import (
    CLIENT_KEY,
    DS_KEY,
    MESSAGES,
    NO_FALLBACK,
    anthropic_error,
    post_raw,
    request_body,
    sdk,
    sse_events,
)
from fakes import (
    Reply,
    encode_events,
    json_error,
    json_reply,
    message_body,
    message_events,
    sse_message,
    sse_reply,
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raw_reply(status: int, body: bytes, content_type: str = "application/json") -> Reply:
    async def reply(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, body=body, headers={"Content-Type": content_type})

    return reply


def held_reply(release: asyncio.Event, *, headers_first: bool) -> Reply:
    """A backend that answers only once `release` is set (before or after its headers)."""

    async def reply(request: web.Request) -> web.StreamResponse:
        if not headers_first:
            await asyncio.wait_for(release.wait(), 30)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        if headers_first:
            await asyncio.wait_for(release.wait(), 30)
        await resp.write(encode_events(message_events()))
        return resp

    return reply


async def ds_router(fakes: Any, make_router: Any, extra_toml: str = NO_FALLBACK, **kw: Any):  # type: ignore[no-untyped-def]
    ds = await fakes("deepseek")
    router = await make_router(
        {"deepseek": ds.url},
        mode="deepseek",
        env={"DEEPSEEK_API_KEY": DS_KEY},
        extra_toml=extra_toml,
        **kw,
    )
    return ds, router


# --- relaying -----------------------------------------------------------------------------


async def test_streaming_request_is_relayed(fakes, make_router) -> None:
    ds, router = await ds_router(fakes, make_router)
    ds.script(sse_message("streamed text", input_tokens=30, output_tokens=9))
    async with sdk(router.url).messages.stream(
        model="claude-sonnet-5-5", max_tokens=64, messages=MESSAGES
    ) as stream:
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert text == "streamed text"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (30, 9)
    [sent] = ds.received
    assert sent.path_qs == "/v1/messages"
    assert sent.body["model"] == "deepseek-v4-flash"
    assert sent.body["stream"] is True
    assert router.state.requests["deepseek"] == 1


async def test_non_streaming_request_is_relayed(fakes, make_router) -> None:
    ds, router = await ds_router(fakes, make_router)
    reply = await sdk(router.url).messages.create(
        model="claude-opus-5-5", max_tokens=64, messages=MESSAGES
    )
    assert reply.content[0].text == "Hello from the fake."  # type: ignore[union-attr]
    assert reply.usage.input_tokens == 12
    assert ds.received[0].body["model"] == "deepseek-v4-pro"
    assert "stream" not in ds.received[0].body


async def test_stream_without_usage_still_gives_the_client_numeric_usage(
    fakes, make_router
) -> None:
    ds, router = await ds_router(fakes, make_router)
    ds.script(sse_message("no usage here", usage=False), sse_message("again", usage=False))
    async with sdk(router.url).messages.stream(
        model="claude-opus-5-5", max_tokens=64, messages=MESSAGES
    ) as stream:
        final = await stream.get_final_message()
    assert final.content[0].text == "no usage here"  # type: ignore[union-attr]
    assert final.usage.input_tokens == 0
    assert final.usage.output_tokens == 0
    # and on the wire: message_start and message_delta both carry numeric usage
    status, _, raw = await post_raw(router.url + "/v1/messages", request_body())
    assert status == 200
    by_name = {e.name: json.loads(e.data) for e in sse_events(raw) if e.name}
    assert by_name["message_start"]["message"]["usage"] == {"input_tokens": 0, "output_tokens": 0}
    assert by_name["message_delta"]["usage"] == {"output_tokens": 0}


async def test_non_streaming_body_without_usage_gets_usage(fakes, make_router) -> None:
    ds, router = await ds_router(fakes, make_router)
    ds.script(json_reply(200, message_body("bare", usage=False)))
    reply = await sdk(router.url).messages.create(
        model="claude-opus-5-5", max_tokens=64, messages=MESSAGES
    )
    assert reply.content[0].text == "bare"  # type: ignore[union-attr]
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (0, 0)


@pytest.mark.parametrize("chunk_size", [1, 7])
async def test_odd_chunk_boundaries_are_relayed_byte_for_byte(
    fakes, make_router, chunk_size: int
) -> None:
    ds, router = await ds_router(fakes, make_router)
    payload = encode_events(
        message_events("chunky ü 日本", thinking="hmm", signature="EqQBsig==", input_tokens=3)
    )
    ds.script(sse_reply(payload, chunk_size=chunk_size), sse_reply(payload, chunk_size=chunk_size))
    status, headers, raw = await post_raw(router.url + "/v1/messages", request_body())
    assert status == 200
    assert headers["Content-Type"].startswith("text/event-stream")
    assert raw == payload
    async with sdk(router.url).messages.stream(
        model="claude-opus-5-5", max_tokens=64, messages=MESSAGES
    ) as stream:
        final = await stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[1].text == "chunky ü 日本"  # type: ignore[union-attr]


# --- a stream that breaks -----------------------------------------------------------------


async def test_a_stream_broken_after_the_commit_ends_in_one_error_event(fakes, make_router) -> None:
    """Once anything was sent, a break is one SSE `error` event naming the backend: never
    retried, never a fallback (even where transient faults may cross), the mode unchanged,
    an SDK error for the client, and the router keeps serving."""
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url},
        mode="anthropic",
        env={"DEEPSEEK_API_KEY": DS_KEY},
        transient=True,
    )
    assert router.config.router.fallback and router.config.backends["anthropic"].fallback
    ant.script(sse_message("cut short", break_after_events=2))
    status, headers, raw = await post_raw(router.url + "/v1/messages", request_body())
    assert status == 200  # committed before the break
    assert headers["Content-Type"].startswith("text/event-stream")
    events = sse_events(raw)
    assert [e.name for e in events] == ["message_start", "content_block_start", "error"]
    assert raw.count(b"event: error") == 1
    error = anthropic_error(events[-1].data)
    assert "anthropic" in error["message"]
    assert all(not line.startswith(b"{") for line in raw.splitlines())  # no JSON body inside
    assert router.state.last_error and "anthropic" in router.state.last_error
    assert ds.received == [] and router.mode_file.read_text().strip() == "anthropic"
    ant.script(sse_message("cut short", break_after_events=2))
    with pytest.raises(anthropic.APIError):
        async with sdk(router.url).messages.stream(
            model="claude-opus-5-5", max_tokens=64, messages=MESSAGES
        ) as stream:
            await stream.get_final_message()
    assert len(ant.received) == 2 and ds.received == []  # never retried elsewhere
    reply = await sdk(router.url).messages.create(  # the router is fine afterwards
        model="claude-opus-5-5", max_tokens=64, messages=MESSAGES
    )
    assert reply.content[0].text == "Hello from the fake."  # type: ignore[union-attr]


# --- timeouts, error pass-through, refusals ----------------------------------------------


@pytest.mark.parametrize("headers_first", [False, True], ids=["no-headers", "no-first-event"])
async def test_slow_first_byte_is_a_504_naming_the_backend(
    fakes, make_router, headers_first: bool
) -> None:
    release = asyncio.Event()
    ds, router = await ds_router(fakes, make_router, NO_FALLBACK + "first_byte_timeout_s = 0.2\n")
    ds.script(held_reply(release, headers_first=headers_first))
    try:
        status, headers, raw = await post_raw(router.url + "/v1/messages", request_body())
    finally:
        release.set()
    assert status == 504
    assert headers["Content-Type"].startswith("application/json")
    error = anthropic_error(raw)
    assert error["type"] == "timeout_error"
    assert "deepseek" in error["message"]
    assert re.search("timed out|timeout", error["message"])


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500, 529])
async def test_upstream_error_bodies_pass_through_verbatim(fakes, make_router, status: int) -> None:
    ds, router = await ds_router(fakes, make_router)
    body = (
        b'{"type": "error",  "error": {"type": "x_error", "message": "upstream says no \xc3\xbc"},'
        b' "request_id": "req_123"}'
    )
    ds.script(raw_reply(status, body))
    got_status, _, raw = await post_raw(router.url + "/v1/messages", request_body())
    assert (got_status, raw) == (status, body)
    assert len(ds.received) == 1


async def test_upstream_error_reaches_the_sdk_with_its_status(fakes, make_router) -> None:
    ds, router = await ds_router(fakes, make_router)
    ds.script(json_error(529, "overloaded_error", "Overloaded"))
    with pytest.raises(anthropic.APIStatusError) as info:
        await sdk(router.url).messages.create(
            model="claude-opus-5-5", max_tokens=64, messages=MESSAGES
        )
    assert info.value.status_code == 529
    assert info.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


@pytest.mark.parametrize("data", [b"{not json", b"", b"[1, 2]", b"\xff\xfe"])
async def test_malformed_json_is_a_400(fakes, make_router, data: bytes) -> None:
    ds, router = await ds_router(fakes, make_router)
    status, _, raw = await post_raw(router.url + "/v1/messages", data=data)
    assert status == 400
    assert anthropic_error(raw)["type"] == "invalid_request_error"
    assert ds.received == []


async def test_body_over_max_body_mb_is_a_413(fakes, make_router) -> None:
    ds, router = await ds_router(fakes, make_router, NO_FALLBACK + "max_body_mb = 0.001\n")
    big = request_body(messages=[{"role": "user", "content": "x" * 4096}])
    status, _, raw = await post_raw(router.url + "/v1/messages", big)
    assert status == 413
    error = anthropic_error(raw)
    assert error["type"] == "request_too_large" and "max_body_mb" in error["message"]

    async def chunked() -> Any:  # no Content-Length: the limit holds while reading
        for _ in range(8):
            yield b" " * 512
        yield json.dumps(big).encode()

    async with (
        aiohttp.ClientSession() as session,
        session.post(router.url + "/v1/messages", data=chunked()) as resp,
    ):
        assert resp.status == 413
        anthropic_error(await resp.read())
    with pytest.raises(anthropic.APIStatusError) as info:
        await sdk(router.url).messages.create(
            model="claude-opus-5-5", max_tokens=64, messages=big["messages"]
        )
    assert info.value.status_code == 413
    assert ds.received == []
    # a small request still goes through
    status, _, _ = await post_raw(router.url + "/v1/messages", {"model": "m", "max_tokens": 1})
    assert status == 200


async def test_unreachable_upstream_is_a_502_naming_backend_and_cause(fakes, make_router) -> None:
    router = await make_router(
        {"deepseek": f"http://127.0.0.1:{closed_port()}"},
        mode="deepseek",
        env={"DEEPSEEK_API_KEY": DS_KEY},
        extra_toml=NO_FALLBACK,
    )
    status, _, raw = await post_raw(router.url + "/v1/messages", request_body())
    assert status == 502
    error = anthropic_error(raw)
    assert error["type"] == "api_error"
    assert "deepseek" in error["message"] and "cannot connect" in error["message"]
    assert router.state.last_error and "cannot connect" in router.state.last_error


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/v1/models"), ("POST", "/v2/messages"), ("GET", "/")]
)
async def test_unknown_path_is_an_anthropic_404(fakes, make_router, method: str, path: str) -> None:
    ds, router = await ds_router(fakes, make_router)
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, router.url + path) as resp,
    ):
        assert resp.status == 404
        error = anthropic_error(await resp.read())
    assert error["type"] == "not_found_error"
    assert ds.received == []


# --- what goes upstream -------------------------------------------------------------------


async def test_count_tokens_is_forwarded_with_its_query(fakes, make_router) -> None:
    ds, router = await ds_router(fakes, make_router)
    count = await sdk(router.url).messages.count_tokens(model="claude-opus-5-5", messages=MESSAGES)
    assert count.input_tokens == 42
    status, _, raw = await post_raw(
        router.url + "/v1/messages/count_tokens?beta=true",
        {"model": "claude-haiku-5-5", "messages": MESSAGES},
    )
    assert (status, json.loads(raw)) == (200, {"input_tokens": 42})
    assert [r.path_qs for r in ds.received] == [
        "/v1/messages/count_tokens",
        "/v1/messages/count_tokens?beta=true",
    ]
    assert ds.received[1].body["model"] == "deepseek-v4-flash"
    assert ds.received[1].headers["x-api-key"] == DS_KEY


async def test_query_string_is_kept(fakes, make_router) -> None:
    ds, router = await ds_router(fakes, make_router)
    status, _, _ = await post_raw(router.url + "/v1/messages?beta=true&x=%26y", request_body())
    assert status == 200
    assert ds.received[0].path_qs == "/v1/messages?beta=true&x=%26y"


@pytest.mark.parametrize(
    ("suffix", "expected"),
    [
        ("/prefix/anthropic", "/prefix/anthropic/v1/messages?beta=true"),
        ("/prefix/anthropic/", "/prefix/anthropic/v1/messages?beta=true"),
        ("/v1", "/v1/messages?beta=true"),
        ("/api/v1/", "/api/v1/messages?beta=true"),
    ],
)
async def test_base_url_path_is_joined(fakes, make_router, suffix: str, expected: str) -> None:
    ds = await fakes("deepseek")
    router = await make_router(
        {"deepseek": ds.url + suffix},
        mode="deepseek",
        env={"DEEPSEEK_API_KEY": DS_KEY},
        extra_toml=NO_FALLBACK,
    )
    status, _, _ = await post_raw(router.url + "/v1/messages?beta=true", request_body())
    assert status == 200
    assert ds.received[0].path_qs == expected


async def test_hop_by_hop_headers_and_accept_encoding_are_not_forwarded(fakes, make_router) -> None:
    ds, router = await ds_router(fakes, make_router)
    status, _, _ = await post_raw(
        router.url + "/v1/messages",
        request_body(stream=False),
        headers={
            "Connection": "keep-alive, X-Foo",
            "X-Foo": "hop-only",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
            "Proxy-Authorization": "Basic c2VjcmV0",
            "Accept-Encoding": "br",
            "anthropic-version": "2023-06-01",
            "anthropic-beta": "claude-code-20250219",
            "x-app": "cli",
        },
    )
    assert status == 200
    sent = ds.received[0].headers
    for name in ("X-Foo", "Keep-Alive", "TE", "Proxy-Authorization"):
        assert name not in sent, name
    assert "br" not in sent.get("Accept-Encoding", "")
    assert "x-foo" not in sent.get("Connection", "").lower()
    # end-to-end headers do pass
    assert sent["anthropic-version"] == "2023-06-01"
    assert sent["anthropic-beta"] == "claude-code-20250219"
    assert sent["x-app"] == "cli"


async def test_deepseek_gets_its_own_key_instead_of_the_clients(fakes, make_router) -> None:
    ds, router = await ds_router(fakes, make_router)
    status, _, _ = await post_raw(
        router.url + "/v1/messages",
        request_body(),
        headers={"authorization": f"Bearer {CLIENT_KEY}-bearer"},
    )
    assert status == 200
    sent = ds.received[0].headers
    assert sent.getall("x-api-key") == [DS_KEY]
    assert "authorization" not in sent
    assert CLIENT_KEY not in str(sent)


async def test_anthropic_passthrough_keeps_client_credentials(fakes, make_router) -> None:
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url},
        mode="anthropic",
        env={"DEEPSEEK_API_KEY": DS_KEY},
    )
    await sdk(router.url, api_key=None, auth_token="tok-client").messages.create(
        model="claude-opus-5-5", max_tokens=64, messages=MESSAGES
    )
    status, _, _ = await post_raw(router.url + "/v1/messages", request_body())  # x-api-key
    assert status == 200
    first, second = ant.received
    assert first.headers["authorization"] == "Bearer tok-client"
    assert second.headers["x-api-key"] == CLIENT_KEY
    assert first.body["model"] == "claude-opus-5-5"  # no model map for Anthropic
    for received in ant.received:
        assert DS_KEY not in str(received.headers) + received.raw.decode()
    assert ds.received == []


async def test_missing_deepseek_key_is_a_clear_error(fakes, make_router, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    ds = await fakes("deepseek")
    router = await make_router({"deepseek": ds.url}, mode="deepseek")
    status, _, raw = await post_raw(router.url + "/v1/messages", request_body())
    assert status == 424  # not 401/403: Claude Code would suggest /login
    error = anthropic_error(raw)
    assert "DEEPSEEK_API_KEY" in error["message"] and "deepseek" in error["message"]
    assert ds.received == []
    with pytest.raises(anthropic.APIStatusError) as info:
        await sdk(router.url).messages.create(
            model="claude-opus-5-5", max_tokens=64, messages=MESSAGES
        )
    assert "DEEPSEEK_API_KEY" in info.value.message and info.value.status_code == 424


async def test_keys_never_appear_in_responses_or_logs(fakes, make_router, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url},
        mode="deepseek",
        env={"DEEPSEEK_API_KEY": DS_KEY},
        extra_toml=NO_FALLBACK,
    )
    ds.script(
        json_error(401, "authentication_error", "invalid x-api-key"),
        sse_message("ok", break_after_events=2),
        raw_reply(502, b"<html>bad gateway</html>", "text/html"),
    )
    seen: list[bytes] = []
    for body in (request_body(), request_body(), request_body(), request_body(stream=False)):
        _, headers, raw = await post_raw(router.url + "/v1/messages", body)
        seen += [raw, json.dumps(headers).encode()]
    router.mode_file.write_text("anthropic\n")
    ant.script(json_error(403, "permission_error", "nope"))
    _, headers, raw = await post_raw(router.url + "/v1/messages", request_body())
    seen += [raw, json.dumps(headers).encode()]
    seen.append(json.dumps(await get_status(router.url)).encode())
    everything = b"".join(seen).decode("utf-8", "replace") + caplog.text
    assert DS_KEY not in everything
    assert CLIENT_KEY not in everything
    assert ds.received[0].headers["x-api-key"] == DS_KEY  # it was used, just never shown


# --- the mode file and the status endpoint -------------------------------------------------


async def get_status(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(url + "/_hotswap/status") as resp:
        assert resp.status == 200
        return await resp.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"no-such-backend\n", "no-such-backend"),
        (b"deep seek\n", "unknown backend 'deep'"),
        (b"deep seek now\n", "a backend name and a model"),
        (b"\xff\xfe\x00", "UTF-8"),
        (b"# nothing\n", "empty"),
    ],
)
async def test_bad_mode_file_keeps_the_last_good_backend(
    fakes, make_router, caplog, content: bytes, problem: str
) -> None:
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url},
        mode="deepseek",
        env={"DEEPSEEK_API_KEY": DS_KEY},
    )
    client = sdk(router.url)
    await client.messages.create(model="claude-opus-5-5", max_tokens=8, messages=MESSAGES)
    router.mode_file.write_bytes(content)
    caplog.set_level(logging.WARNING, logger="hotswap")
    for _ in range(2):
        await client.messages.create(model="claude-opus-5-5", max_tokens=8, messages=MESSAGES)
    status = await get_status(router.url)
    assert len(ds.received) == 3 and ant.received == []
    warnings = [r for r in caplog.records if "mode file" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert status["mode"] == "deepseek"
    assert status["mode_source"] == "last good mode"
    assert problem in status["mode_problem"]
    # fixed: the problem clears and the named backend is used
    router.mode_file.write_text("ant\n")
    await client.messages.create(model="claude-opus-5-5", max_tokens=8, messages=MESSAGES)
    status = await get_status(router.url)
    assert len(ant.received) == 1
    assert (status["mode"], status["mode_source"], status["mode_problem"]) == (
        "anthropic",
        "mode file",
        None,
    )


async def test_status_json(fakes, make_router) -> None:
    ant = await fakes("anthropic")
    router = await make_router(
        {"anthropic": ant.url, "deepseek": f"http://127.0.0.1:{closed_port()}"},
        mode="deepseek",
        env={"DEEPSEEK_API_KEY": DS_KEY},
        extra_toml=NO_FALLBACK,
    )
    fresh = await get_status(router.url)
    assert fresh["mode"] == "deepseek" and fresh["mode_source"] == "mode file"
    assert fresh["mode_problem"] is None and fresh["last_error"] is None
    assert fresh["port"] == router.running.port
    assert fresh["pid"] == os.getpid()
    assert fresh["version"] == hotswap.__version__
    assert isinstance(fresh["uptime_s"], int | float) and fresh["uptime_s"] >= 0
    assert fresh["requests"] == {}
    await post_raw(router.url + "/v1/messages", request_body())  # unreachable
    router.mode_file.write_text("anthropic\n")
    for _ in range(2):
        await post_raw(router.url + "/v1/messages", request_body())
    after = await get_status(router.url)
    assert after["mode"] == "anthropic"
    # the failed one was sent to deepseek: counted there, and as its error
    assert after["requests"] == {"anthropic": 2, "deepseek": 1}
    assert after["errors"] == {"deepseek": 1}
    assert "deepseek" in after["last_error"] and "cannot connect" in after["last_error"]


async def test_default_backend_when_the_mode_file_is_missing(fakes, make_router) -> None:
    ant = await fakes("anthropic")
    router = await make_router({"anthropic": ant.url})
    assert not router.mode_file.exists()
    status = await get_status(router.url)
    assert (status["mode"], status["mode_source"]) == ("anthropic", "default")


async def test_mode_switch_between_two_requests_goes_to_the_other_backend(
    fakes, make_router
) -> None:
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url},
        mode="anthropic",
        env={"DEEPSEEK_API_KEY": DS_KEY},
    )
    client = sdk(router.url)
    first = await client.messages.create(model="claude-opus-5-5", max_tokens=10, messages=MESSAGES)
    router.mode_file.write_text("ds\n")
    ds.script(sse_message("from deepseek"))
    async with client.messages.stream(
        model="claude-opus-5-5", max_tokens=10, messages=MESSAGES
    ) as stream:
        text = "".join([t async for t in stream.text_stream])
    assert first.content[0].text == "Hello from the fake."  # type: ignore[union-attr]
    assert text == "from deepseek"
    assert len(ant.received) == 1 and len(ds.received) == 1
    assert ds.received[0].body["model"] == "deepseek-v4-pro"
    assert ds.received[0].headers["x-api-key"] == DS_KEY
    assert CLIENT_KEY not in str(ds.received[0].headers)
    assert ant.received[0].headers["authorization"] == f"Bearer {CLIENT_KEY}"  # passed through
    status = await get_status(router.url)
    assert status["requests"] == {"anthropic": 1, "deepseek": 1}


async def test_a_value_nested_too_deeply_is_a_400_never_a_crash(fakes, make_router) -> None:
    """The body layer may split a body at receive and need its full parser only when the
    rules read a turn, deeper in the stack: however deep a value nests, the request is
    relayed or refused with an Anthropic-shaped 400, never a 500."""
    ds, router = await ds_router(fakes, make_router)
    headers = {"content-type": "application/json", "x-api-key": "sk-ant-client"}
    relayed = refused = 0
    for depth in bodygen.DEPTH_SWEEP:
        body = bodygen.deep_tool_body(depth)
        ds.script(json_reply(200, message_body("fine")))
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{router.url}/v1/messages", data=body, headers=headers) as resp,
        ):
            status, answer = resp.status, await resp.json()
        if status == 200:
            relayed += 1
        else:
            refused += 1
            assert status == 400, (depth, answer)
            assert answer["error"]["type"] == "invalid_request_error"
            assert "too deeply" in answer["error"]["message"]
    assert relayed and refused

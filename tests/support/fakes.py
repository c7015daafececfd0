"""Fake model backends for tests: real aiohttp servers on 127.0.0.1:0 speaking Anthropic's
wire format, scripted per test, recording everything they receive.

    fake = FakeUpstream("deepseek")
    await fake.start()
    fake.script(json_error(402, "billing_error", "no credits"), sse_message("hi"))
    ... fake.received[0].body["model"] ...
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

Reply = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Received:
    method: str
    path_qs: str
    headers: CIMultiDict[str]
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw) if self.raw else None


def message_events(
    text: str = "Hello from the fake.",
    model: str = "fake-model",
    *,
    usage: bool = True,
    thinking: str | None = None,
    signature: str | None = None,
    tool_use: dict[str, Any] | None = None,
    input_tokens: int = 12,
    output_tokens: int = 7,
) -> list[tuple[str, dict[str, Any]]]:
    """The events of one Anthropic streaming response, as (name, data) pairs."""
    message: dict[str, Any] = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
    }
    if usage:
        message["usage"] = {"input_tokens": input_tokens, "output_tokens": 1}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": message})
    ]
    blocks: list[dict[str, Any]] = []
    if thinking is not None:
        blocks.append({"type": "thinking", "thinking": thinking, "signature": signature or "sig"})
    if text:
        blocks.append({"type": "text", "text": text})
    if tool_use is not None:
        tool_id = tool_use.get("id", "toolu_fake1")
        blocks.append(
            {
                "type": "tool_use",
                "id": tool_id,
                "name": tool_use["name"],
                "input": tool_use["input"],
            }
        )
    for index, block in enumerate(blocks):
        events += block_events(index, block)
    delta: dict[str, Any] = {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use" if tool_use else "end_turn", "stop_sequence": None},
    }
    if usage:
        delta["usage"] = {"output_tokens": output_tokens}
    events += [("message_delta", delta), ("message_stop", {"type": "message_stop"})]
    return events


def block_events(i: int, block: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The stream events of one content block at `index` `i` (start, deltas, stop)."""
    kind = block["type"]
    empty = {"thinking": {"thinking": "", "signature": ""}, "text": {"text": ""}}
    start = {**block, **empty.get(kind, {})}
    deltas: list[dict[str, Any]] = []
    if kind == "thinking":
        deltas = [{"type": "thinking_delta", "thinking": block["thinking"]}]
        if block["signature"]:
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind == "text":
        deltas = [{"type": "text_delta", "text": block["text"]}]
    elif kind == "tool_use":
        start["input"] = {}
        deltas = [{"type": "input_json_delta", "partial_json": json.dumps(block["input"])}]
    out = [
        ("content_block_start", {"type": "content_block_start", "index": i, "content_block": start})
    ]
    out += [
        ("content_block_delta", {"type": "content_block_delta", "index": i, "delta": d})
        for d in deltas
    ]
    return [*out, ("content_block_stop", {"type": "content_block_stop", "index": i})]


def encode_events(events: Iterable[tuple[str, dict[str, Any]]]) -> bytes:
    return b"".join(
        f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events
    )


def message_body(
    text: str = "Hello from the fake.", model: str = "fake-model", *, usage: bool = True
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
    }
    if usage:
        body["usage"] = {"input_tokens": 12, "output_tokens": 7}
    return body


def json_reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    async def reply(request: web.Request) -> web.StreamResponse:
        return web.Response(
            status=status,
            body=json.dumps(body).encode(),
            content_type="application/json",
            headers=headers,
        )

    return reply


def json_error(
    status: int, error_type: str, message: str, headers: dict[str, str] | None = None
) -> Reply:
    return json_reply(
        status, {"type": "error", "error": {"type": error_type, "message": message}}, headers
    )


def raw_reply(status: int, body: bytes, content_type: str) -> Reply:
    """Any body with any content type: an HTML error page from a proxy, say."""

    async def reply(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, body=body, headers={"Content-Type": content_type})

    return reply


def sse_reply(
    payload: bytes,
    *,
    chunk_size: int | None = None,
    first_byte_delay_s: float = 0.0,
    break_after_events: int | None = None,
    status: int = 200,
) -> Reply:
    """Stream `payload` as text/event-stream, optionally in odd-sized chunks, late, or cut."""

    async def reply(request: web.Request) -> web.StreamResponse:
        if first_byte_delay_s:
            await asyncio.sleep(first_byte_delay_s)
        resp = web.StreamResponse(status=status, headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        data = payload
        if break_after_events is not None:
            parts = payload.split(b"\n\n")
            data = b"\n\n".join(parts[:break_after_events]) + b"\n\n"
        size = chunk_size or len(data) or 1
        for start in range(0, len(data), size):
            await resp.write(data[start : start + size])
            if chunk_size:
                await asyncio.sleep(0)
        if break_after_events is not None:
            assert request.transport is not None
            request.transport.abort()  # a reset, not a clean end
            return resp
        await resp.write_eof()
        return resp

    return reply


class GatedSSE:
    """An SSE reply that sends `first`, then waits for `gate` before it sends `rest`: the
    test sets the gate once its client has read the first event, so `rest` certainly
    arrives after the router committed to this answer."""

    def __init__(self, first: bytes, rest: bytes) -> None:
        self.first, self.rest = first, rest
        self.gate = asyncio.Event()

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(self.first)
        await self.gate.wait()
        await resp.write(self.rest)
        await resp.write_eof()
        return resp


def sse_message(text: str = "Hello from the fake.", **kwargs: Any) -> Reply:
    split = {
        k: kwargs.pop(k)
        for k in ("chunk_size", "first_byte_delay_s", "break_after_events")
        if k in kwargs
    }
    return sse_reply(encode_events(message_events(text, **kwargs)), **split)


def default_reply(request: web.Request, raw: bytes) -> Reply:
    """Answer like Anthropic: streaming when asked to, echoing the model it was sent."""
    try:
        body = json.loads(raw)
    except ValueError:
        return json_error(400, "invalid_request_error", "fake: body is not JSON")
    model = body.get("model", "fake-model") if isinstance(body, dict) else "fake-model"
    if request.path.endswith("/count_tokens"):
        return json_reply(200, {"input_tokens": 42})
    if isinstance(body, dict) and body.get("stream"):
        return sse_message(model=model)
    return json_reply(200, message_body(model=model))


@dataclass
class FakeUpstream:
    """One fake backend. Replies are taken from `script()` in order, then `default_reply`."""

    name: str = "fake"
    replies: list[Reply] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self.received.append(
            Received(request.method, request.path_qs, CIMultiDict(request.headers), raw)
        )
        reply = self.replies.pop(0) if self.replies else default_reply(request, raw)
        return await reply(request)

    async def start(self) -> FakeUpstream:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        assert site._server is not None
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class ThreadedFake:
    """A FakeUpstream on its own event loop in a thread: for tests whose client is a
    subprocess (the real Claude Code CLI, the installed console scripts)."""

    def __init__(self, name: str = "fake") -> None:
        self.fake = FakeUpstream(name)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> FakeUpstream:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.fake.start(), self._loop).result(10)
        return self.fake

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

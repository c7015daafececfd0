"""A fake Anthropic-compatible upstream for the benchmark, run as its own process.

    python bench/fake_upstream.py            # prints "port N" once listening on 127.0.0.1

Every reply is canned bytes (built once at import), so the fake costs the same whichever
client calls it. It reports what it received in response headers, which the load generator
checks against what the router should have forwarded:

    x-bench-crc   crc32 of the request body       x-bench-len   its length
    x-bench-path  the request path                x-bench-key   crc32 of the x-api-key header

and, when asked with `x-bench-inspect: 1` (the load generator's first request of a kind),
`x-bench-summary`: the parsed body's shape (`summary()`), so a rewrite can be judged.

A request with header `x-bench-stream: 1` gets an SSE stream of `EVENT_COUNT` events shaped
like Anthropic's (thinking block with a signature, text block, message_delta, message_stop),
written one event per write; otherwise a JSON message. The stream's message_start carries a
null `cache_read_input_tokens`, as some Anthropic-compatible backends send, so the router's
usage normalisation has one event to rewrite (`expected_events(normalised=True)`).

A request to a path ending in `/chat/completions` is answered in OpenAI's Chat Completions
format instead (the translated target: the router's `openai` wire): the same reasoning and
text as Chat Completions chunks (`CHAT_EVENTS`, then a usage-only chunk and `[DONE]`), or one
ChatCompletion (`CHAT_MESSAGE`); `x-bench-key` is then the crc32 of `Authorization`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import zlib
from typing import Any

import msgspec
from aiohttp import web

TEXT_DELTAS = 36
THINKING_DELTAS = 10
_WORDS_TEXT = (
    "the router reads the mode file on every request and relays each event unchanged "
    "unless a rewrite needs it so that switching backends costs nothing"
)
_WORDS = _WORDS_TEXT.split()

RESPONSE_HEADERS = {
    "request-id": "req_bench_0000000000000000",
    "anthropic-organization-id": "00000000-0000-0000-0000-000000000000",
    "anthropic-ratelimit-requests-limit": "4000",
    "anthropic-ratelimit-requests-remaining": "3999",
    "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:00Z",
    "anthropic-ratelimit-input-tokens-limit": "2000000",
    "anthropic-ratelimit-input-tokens-remaining": "1999000",
    "anthropic-ratelimit-output-tokens-limit": "400000",
    "anthropic-ratelimit-output-tokens-remaining": "399000",
    "via": "1.1 bench",
    "x-robots-tag": "none",
}


def _message(usage_nulls: bool) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": 41873,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": None if usage_nulls else 38912,
        "output_tokens": 1,
    }
    return {
        "id": "msg_bench_01",
        "type": "message",
        "role": "assistant",
        "model": "deepseek-v4-flash",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }


def _delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def event_objects(usage_nulls: bool = True) -> list[tuple[str, dict[str, Any]]]:
    """The stream's events as (name, data) pairs: 55 of them, like a short Anthropic reply."""
    words = [_WORDS[i % len(_WORDS)] for i in range(TEXT_DELTAS * 3)]
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": _message(usage_nulls)}),
        ("ping", {"type": "ping"}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "thinking", "thinking": "", "signature": ""},
            },
        ),
    ]
    for i in range(THINKING_DELTAS):
        text = f'Step {i}: check the "mode" file, then relay.\n'
        events.append(
            ("content_block_delta", _delta(0, {"type": "thinking_delta", "thinking": text}))
        )
    signature = "EqQBCkYIBxgCKkB" + "x" * 300
    events.append(
        ("content_block_delta", _delta(0, {"type": "signature_delta", "signature": signature}))
    )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    events.append(
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "text", "text": ""},
            },
        )
    )
    for i in range(TEXT_DELTAS):
        text = " ".join(words[i * 3 : i * 3 + 3]) + " "
        events.append(("content_block_delta", _delta(1, {"type": "text_delta", "text": text})))
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 1}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 312},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def _encode(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + msgspec.json.encode(data) + b"\n\n"


def upstream_events() -> list[bytes]:
    """The stream exactly as the fake sends it, one bytes object per event."""
    return [_encode(n, d) for n, d in event_objects(usage_nulls=True)]


def expected_events(normalised: bool) -> list[bytes]:
    """What a client must receive: as sent, or with hotswap's usage normalisation applied.

    Normalisation turns the null cache count of message_start into 0 and leaves every
    other event byte for byte as the upstream sent it.
    """
    events = upstream_events()
    if normalised:
        name, data = event_objects(usage_nulls=True)[0]
        data["message"]["usage"]["cache_read_input_tokens"] = 0
        events[0] = _encode(name, data)
    return events


def message_body() -> bytes:
    """The non-streaming reply: clean usage, so hotswap must relay it byte for byte."""
    message = _message(usage_nulls=False)
    message["content"] = [
        {
            "type": "thinking",
            "thinking": "Check the mode file.",
            "signature": "EqQBCkYI" + "y" * 200,
        },
        {"type": "text", "text": " ".join(_WORDS * 4)},
        {
            "type": "tool_use",
            "id": "toolu_bench_01",
            "name": "Read",
            "input": {"file_path": "/home/user/project/src/hotswap/router/proxy.py"},
        },
    ]
    message["stop_reason"] = "tool_use"
    message["usage"]["output_tokens"] = 187
    return msgspec.json.encode(message)


EVENTS = upstream_events()
EVENT_COUNT = len(EVENTS)
MESSAGE = message_body()


# -- Chat Completions mode: a request to .../chat/completions (the router's openai wire) ----

CHAT_MODEL = "gpt-bench"
CHAT_THINKING = [f'Step {i}: check the "mode" file, then relay.\n' for i in range(THINKING_DELTAS)]
CHAT_TEXT = [
    " ".join(_WORDS[(i * 3 + k) % len(_WORDS)] for k in range(3)) + " " for i in range(TEXT_DELTAS)
]


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
    data = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1_760_000_000,
        "model": CHAT_MODEL,
        "choices": [choice] if delta is not None else [],
        **extra,
    }
    return b"data: " + msgspec.json.encode(data) + b"\n\n"


CHAT_USAGE = {
    "prompt_tokens": 41873,
    "completion_tokens": 312,
    "total_tokens": 42185,
    "prompt_tokens_details": {"cached_tokens": 38912},
}


def chat_events() -> list[bytes]:
    """A streamed Chat Completions answer like the Anthropic one: reasoning, then text in
    as many deltas, a finish chunk, a usage-only chunk and [DONE]."""
    out = [_chunk({"role": "assistant", "content": ""})]
    out += [_chunk({"reasoning_content": t}) for t in CHAT_THINKING]
    out += [_chunk({"content": t}) for t in CHAT_TEXT]
    out.append(_chunk({}, "stop"))
    out.append(_chunk(None, usage=CHAT_USAGE))  # type: ignore[arg-type]
    out.append(b"data: [DONE]\n\n")
    return out


def chat_message() -> bytes:
    message = {
        "role": "assistant",
        "content": " ".join(_WORDS * 4),
        "reasoning_content": "Check the mode file.",
        "tool_calls": [
            {
                "id": "call_bench_01",
                "type": "function",
                "function": {
                    "name": "Read",
                    "arguments": '{"file_path":"/home/user/project/src/hotswap/router/proxy.py"}',
                },
            }
        ],
    }
    choice = {"index": 0, "message": message, "finish_reason": "tool_calls", "logprobs": None}
    data = {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1_760_000_000,
        "model": CHAT_MODEL,
        "choices": [choice],
        "usage": CHAT_USAGE,
    }
    return msgspec.json.encode(data)


CHAT_EVENTS = chat_events()
CHAT_MESSAGE = chat_message()


def chat_summary(raw: bytes) -> str:
    """What a translated request must hold (the rest is the translation's, unit-tested)."""
    body = msgspec.json.decode(raw)
    return msgspec.json.encode(
        {
            "model": body.get("model"),
            "stream": body.get("stream"),
            "stream_options": body.get("stream_options"),
            "context_management": "context_management" in body,
            "first_role": (body.get("messages") or [{}])[0].get("role"),
        }
    ).decode()


def _crc(data: bytes) -> str:
    return f"{zlib.crc32(data):08x}"


def summary(raw: bytes) -> str:
    """What a rewrite may change (model, dropped keys) and what it must keep, as JSON."""
    body = msgspec.json.decode(raw)
    messages = body.get("messages") or [None]
    return msgspec.json.encode(
        {
            "model": body.get("model"),
            "context_management": "context_management" in body,
            "stream": body.get("stream"),
            "messages": len(messages),
            "last_message": _crc(msgspec.json.encode(messages[-1])),
            "system": _crc(msgspec.json.encode(body.get("system"))),
            "tools": _crc(msgspec.json.encode(body.get("tools"))),
        }
    ).decode()


def make_app(gap_s: float) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        headers = dict(RESPONSE_HEADERS)
        headers["x-bench-crc"] = _crc(raw)
        headers["x-bench-len"] = str(len(raw))
        headers["x-bench-path"] = request.path
        chat = request.path.endswith("/chat/completions")
        key = request.headers.get("Authorization" if chat else "x-api-key", "")
        headers["x-bench-key"] = _crc(key.encode())
        if request.headers.get("x-bench-inspect") == "1":
            headers["x-bench-summary"] = chat_summary(raw) if chat else summary(raw)
        if request.headers.get("x-bench-stream") != "1":
            body = CHAT_MESSAGE if chat else MESSAGE
            return web.Response(body=body, content_type="application/json", headers=headers)
        headers["Content-Type"] = "text/event-stream; charset=utf-8"
        headers["Cache-Control"] = "no-cache"
        resp = web.StreamResponse(headers=headers)
        await resp.prepare(request)
        for event in CHAT_EVENTS if chat else EVENTS:
            await resp.write(event)
            if gap_s:
                await asyncio.sleep(gap_s)
        await resp.write_eof()
        return resp

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("POST", "/{tail:.*}", handle)
    return app


async def serve(gap_s: float) -> None:
    runner = web.AppRunner(make_app(gap_s), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"port {runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gap-ms", type=float, default=0.0, help="pause between SSE events")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(serve(args.gap_ms / 1000))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()

"""A fake OpenAI Chat Completions backend whose replies are validated against the `openai`
package's own types (ChatCompletion, ChatCompletionChunk), so the fake cannot drift from the
real format, and whose requests are checked against its request types (unknown keys, a
malformed message or content part: a 400 like OpenAI's).

    fake = await FakeOpenAI("openai").start()
    fake.script(chat_sse(text_chunks("Hello")), chat_json(completion(text="Hi")))
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pydantic
from aiohttp import web
from multidict import CIMultiDict
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessageParam,
    completion_create_params,
)

from fakes import FakeUpstream, Received, json_reply, sse_reply

CREATED = 1_760_000_000
_MESSAGE = pydantic.TypeAdapter(ChatCompletionMessageParam)
REQUEST_KEYS = frozenset(completion_create_params.CompletionCreateParamsStreaming.__annotations__)


# -- replies, validated ---------------------------------------------------------------------


def chunk(
    delta: dict[str, Any] | None = None,
    *,
    finish: str | None = None,
    usage: dict[str, Any] | None = None,
    choices: bool = True,
    model: str = "gpt-fake",
) -> dict[str, Any]:
    """One ChatCompletionChunk (validated)."""
    data: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": (
            [{"index": 0, "delta": delta or {}, "finish_reason": finish, "logprobs": None}]
            if choices
            else []
        ),
    }
    if usage is not None:
        data["usage"] = usage
    ChatCompletionChunk.model_validate(data)
    return data


def usage(prompt: int = 20, completion: int = 5, cached: int = 0) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def text_chunks(
    text: str,
    *,
    reasoning: str = "",
    reasoning_key: str = "reasoning_content",
    pieces: int = 3,
    finish: str = "stop",
    use: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """A streamed answer: role, reasoning, text in `pieces`, finish, a usage-only chunk."""
    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({reasoning_key: part}) for part in _split(reasoning, pieces)]
    out += [chunk({"content": part}) for part in _split(text, pieces)]
    out.append(chunk({}, finish=finish))
    out.append(chunk(choices=False, usage=use or usage()))
    return out


def tool_chunks(
    calls: list[tuple[str, str, dict[str, Any]]],
    *,
    text: str = "",
    interleave: bool = False,
    pieces: int = 4,
) -> list[dict[str, Any]]:
    """A streamed answer making parallel tool calls (id, name, arguments), the arguments in
    fragments, optionally interleaved across the calls."""
    out = [chunk({"role": "assistant", "content": None})]
    out += [chunk({"content": part}) for part in _split(text, 2)]
    starts = [
        chunk({"tool_calls": [_call_delta(i, id_, name, "")]})
        for i, (id_, name, _) in enumerate(calls)
    ]
    fragments = [
        [
            chunk({"tool_calls": [_call_delta(i, None, None, part)]})
            for part in _split(json.dumps(args), pieces)
        ]
        for i, (_, _, args) in enumerate(calls)
    ]
    if interleave:
        out += starts
        for row in range(max(len(f) for f in fragments)):
            out += [f[row] for f in fragments if row < len(f)]
    else:
        for start, frags in zip(starts, fragments, strict=True):
            out += [start, *frags]
    out.append(chunk({}, finish="tool_calls"))
    out.append(chunk(choices=False, usage=usage()))
    return out


def _call_delta(index: int, id_: str | None, name: str | None, args: str) -> dict[str, Any]:
    function: dict[str, Any] = {"arguments": args}
    if name is not None:
        function["name"] = name
    call: dict[str, Any] = {"index": index, "function": function}
    if id_ is not None:
        call |= {"id": id_, "type": "function"}
    return call


def _split(text: str, pieces: int) -> list[str]:
    if not text:
        return []
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)]


def completion(
    text: str | None = "Hello from the fake.",
    *,
    tool_calls: list[tuple[str, str, dict[str, Any]]] = (),  # type: ignore[assignment]
    reasoning: str | None = None,
    finish: str | None = None,
    use: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One ChatCompletion (validated)."""
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if reasoning:
        message["reasoning_content"] = reasoning
    if tool_calls:
        message["tool_calls"] = [
            {"id": i, "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
            for i, n, a in tool_calls
        ]
    data = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": CREATED,
        "model": "gpt-fake",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish or ("tool_calls" if tool_calls else "stop"),
                "logprobs": None,
            }
        ],
        "usage": use or usage(),
    }
    ChatCompletion.model_validate(data)
    return data


def encode_sse(chunks: Iterable[dict[str, Any]], *, done: bool = True) -> bytes:
    body = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    return body + (b"data: [DONE]\n\n" if done else b"")


def chat_sse(chunks: Iterable[dict[str, Any]], *, done: bool = True, **kwargs: Any) -> Any:
    return sse_reply(encode_sse(chunks, done=done), **kwargs)


def chat_json(data: dict[str, Any], status: int = 200) -> Any:
    return json_reply(status, data)


def openai_error(status: int, message: str, kind: str, code: str | None = None) -> Any:
    """OpenAI's error body: {"error": {"message", "type", "param", "code"}}."""
    error = {"message": message, "type": kind, "param": None, "code": code}
    return json_reply(status, {"error": error})


# -- requests, checked ------------------------------------------------------------------------


def check_request(body: Any) -> str | None:
    """Why OpenAI would refuse `body` (None: it would not)."""
    if not isinstance(body, dict):
        return "body must be an object"
    unknown = sorted(set(body) - REQUEST_KEYS)
    if unknown:
        return f"Unrecognized request argument supplied: {unknown[0]}"
    if not isinstance(body.get("model"), str) or not isinstance(body.get("messages"), list):
        return "model and messages are required"
    for i, message in enumerate(body["messages"]):
        try:
            _MESSAGE.validate_python(message, strict=False)
            for key in ("content", "tool_calls"):  # lazily validated iterables: consume
                value = message.get(key)
                if isinstance(value, list):
                    validated = _MESSAGE.validate_python({**message, key: value})
                    list(validated.get(key) or [])
        except pydantic.ValidationError as exc:
            return f"messages[{i}]: {exc.errors()[0]['msg']}"
    return _check_tool_order(body["messages"])


def _check_tool_order(messages: list[dict[str, Any]]) -> str | None:
    """Each tool_call of an assistant message is answered by a `tool` message, right after
    it, before any other message (OpenAI's 400 otherwise)."""
    pending: set[str] = set()
    for i, message in enumerate(messages):
        if message.get("role") == "tool":
            if message.get("tool_call_id") not in pending:
                return f"messages[{i}]: a tool message must answer a preceding tool_call"
            pending.discard(message["tool_call_id"])
            continue
        if pending:
            return f"messages[{i}]: tool_calls {sorted(pending)} were not answered"
        if message.get("role") == "assistant":
            pending = {c["id"] for c in message.get("tool_calls") or []}
    return None


@dataclass
class FakeOpenAI(FakeUpstream):
    """A Chat Completions backend: scripted replies, else a short answer (streamed when
    asked). Requests OpenAI would refuse get its 400; `rejections` lists them."""

    rejections: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=lambda: ["gpt-fake", "gpt-fake-mini"])

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self.received.append(
            Received(request.method, request.path_qs, CIMultiDict(request.headers), raw)
        )
        if request.method == "GET" and request.path.endswith("/models"):
            data = [
                {"id": m, "object": "model", "created": CREATED, "owned_by": "fake"}
                for m in self.models
            ]
            return await json_reply(200, {"object": "list", "data": data})(request)
        body = json.loads(raw)
        problem = check_request(body)
        if problem is not None:
            self.rejections.append(problem)
            return await openai_error(400, problem, "invalid_request_error")(request)
        if self.replies:
            return await self.replies.pop(0)(request)
        if body.get("stream"):
            return await chat_sse(text_chunks(f"ok from {self.name}"))(request)
        return await chat_json(completion(f"ok from {self.name}"))(request)

"""Chat Completions answers and errors -> Anthropic's (wire/openai_response.py), on plain
values; and the adapter's Reply, which translates a stream chunk by chunk as it arrives."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from multidict import CIMultiDict

from fake_openai import completion, encode_sse, text_chunks, usage
from hotswap.config.backends import PRESETS
from hotswap.router.fallback import Verdict, classify
from hotswap.wire.openai import OpenAIAdapter, chat_path
from hotswap.wire.openai_response import stop_reason, to_anthropic_message, translate_error


def test_a_completion_with_reasoning_text_and_tool_calls() -> None:
    data = completion(
        "Let me look.",
        reasoning="I should read it.",
        tool_calls=[("call_1", "Read", {"path": "a"}), ("call_2", "Bash", {"command": "ls"})],
        use=usage(prompt=50, completion=10, cached=20),
    )
    msg = to_anthropic_message(data)
    assert msg["id"] == "msg_chatcmpl-fake" and msg["model"] == "gpt-fake"
    assert msg["content"] == [
        {"type": "thinking", "thinking": "I should read it.", "signature": ""},
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "call_1", "name": "Read", "input": {"path": "a"}},
        {"type": "tool_use", "id": "call_2", "name": "Bash", "input": {"command": "ls"}},
    ]
    assert msg["stop_reason"] == "tool_use"
    assert msg["usage"] == {
        "input_tokens": 30,
        "output_tokens": 10,
        "cache_read_input_tokens": 20,
        "cache_creation_input_tokens": 0,
    }


@pytest.mark.parametrize("arguments", ['{"command": "l', "[1, 2]", '"ls"', "null", "{"])
def test_unreadable_tool_arguments_are_a_broken_answer(arguments: str) -> None:
    """Never `{}` (a call with other input than the model gave): a ValueError."""
    data = completion(None, tool_calls=[("c", "Bash", {})])
    data["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = arguments
    with pytest.raises(ValueError, match="not a JSON object"):
        to_anthropic_message(data)


def test_no_tool_arguments_are_an_empty_input() -> None:
    data = completion(None, tool_calls=[("c", "Bash", {})])
    data["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = ""
    assert to_anthropic_message(data)["content"][0]["input"] == {}


@pytest.mark.parametrize(
    ("finish", "tools", "stop"),
    [
        ("stop", False, "end_turn"),
        ("stop", True, "tool_use"),  # some endpoints say "stop" after tool calls
        ("tool_calls", True, "tool_use"),
        ("length", False, "max_tokens"),
        ("length", True, "max_tokens"),
        ("content_filter", False, "refusal"),
        (None, False, "end_turn"),
    ],
)
def test_finish_reasons(finish: str | None, tools: bool, stop: str) -> None:
    assert stop_reason(finish, tools) == stop


@pytest.mark.parametrize(
    ("status", "body", "kind", "verdict", "phrase"),
    [
        (401, {"error": {"message": "Incorrect API key", "type": "invalid_request_error",
                         "code": "invalid_api_key"}}, "authentication_error", Verdict.SWITCH,
         "Incorrect API key (invalid_api_key)"),
        (429, {"error": {"message": "You exceeded your current quota", "type":
                         "insufficient_quota", "code": "insufficient_quota"}},
         "rate_limit_error", Verdict.SWITCH, "insufficient_quota"),
        (429, {"error": {"message": "Rate limit reached", "type": "requests", "code": None}},
         "rate_limit_error", Verdict.RETRY, "Rate limit reached"),
        (402, {"error": {"message": "Payment required"}}, "billing_error", Verdict.SWITCH,
         "Payment required"),
        (400, [{"error": {"code": 400, "message": "Invalid JSON payload", "status":
                          "INVALID_ARGUMENT"}}], "invalid_request_error", Verdict.FINAL,
         "Invalid JSON payload (400)"),
        (503, b"<html>upstream down</html>", "api_error", Verdict.RETRY, "upstream down"),
        (404, {"error": {"message": "The model `x` does not exist", "code":
                         "model_not_found"}}, "not_found_error", Verdict.FINAL, "model_not_found"),
    ],
)  # fmt: skip
def test_errors_in_anthropics_shape_classified_as_before(
    status: int, body: object, kind: str, verdict: Verdict, phrase: str
) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    got_status, out = translate_error(status, raw)
    parsed = json.loads(out)
    assert got_status == status
    assert parsed["type"] == "error" and parsed["error"]["type"] == kind
    assert phrase in parsed["error"]["message"]
    assert classify(got_status, out) is verdict


def test_chat_path_plain_and_azure() -> None:
    assert chat_path(PRESETS["openai"], "gpt-5") == "/chat/completions"
    azure = PRESETS["azure-openai"]
    assert chat_path(azure, "gpt 5") == (
        "/openai/deployments/gpt%205/chat/completions?api-version=2024-10-21"
    )
    assert chat_path(azure._replace(deployment="dep"), "x").startswith("/openai/deployments/dep/")


class InnerReply:
    """An upstream Reply whose chunks arrive one by one (and say so)."""

    def __init__(self, chunks: list[bytes], status: int = 200, sse: bool = True) -> None:
        self.status = status
        self.headers: CIMultiDict[str] = CIMultiDict({"Content-Type": "text/event-stream"})
        self._chunks = list(chunks)
        self.read = 0
        self.closed = False
        self._sse = sse

    @property
    def is_sse(self) -> bool:
        return self._sse

    def read_buffered(self) -> bytes:
        return b""

    async def read_chunk(self) -> bytes:
        self.read += 1
        return self._chunks.pop(0) if self._chunks else b""

    async def chunks(self) -> AsyncIterator[bytes]:
        while chunk := await self.read_chunk():
            yield chunk

    async def read_all(self) -> bytes:
        return b"".join([c async for c in self.chunks()])

    async def read_error_body(self, limit: int) -> bytes:
        return (await self.read_all())[:limit]

    def close(self) -> None:
        self.closed = True


async def test_the_reply_translates_chunks_as_they_arrive() -> None:
    lines = [line + b"\n\n" for line in encode_sse(text_chunks("abc", pieces=3)).split(b"\n\n")]
    inner = InnerReply([line for line in lines if line.strip()])
    reply = OpenAIAdapter().reply(PRESETS["openai"], inner, stream=True)
    first = await reply.read_chunk()
    assert first.startswith(b"event: message_start") and inner.read == 1  # not buffered
    rest = [chunk async for chunk in reply.chunks()]
    assert rest[-1].endswith(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
    assert await reply.read_chunk() == b""
    reply.close()
    assert inner.closed


async def test_an_error_reply_reads_as_anthropics() -> None:
    body = json.dumps({"error": {"message": "bad key", "code": "invalid_api_key"}}).encode()
    inner = InnerReply([body], status=401, sse=False)
    reply = OpenAIAdapter().reply(PRESETS["openai"], inner, stream=False)
    assert reply.status == 401 and reply.headers["Content-Type"] == "application/json"
    error = json.loads(await reply.read_error_body(1000))
    assert error["error"]["type"] == "authentication_error"


def test_prepare_translates_and_drops_anthropics_headers() -> None:
    headers: CIMultiDict[str] = CIMultiDict(
        {"anthropic-version": "2023-06-01", "anthropic-beta": "x", "Authorization": "Bearer k"}
    )
    body = json.dumps(
        {"model": "gpt-5", "max_tokens": 5, "stream": True, "messages": [{"role": "user",
         "content": "hi"}]}
    ).encode()  # fmt: skip
    out = OpenAIAdapter().prepare(PRESETS["openai"], "/v1/messages?beta=true", body, headers)
    assert out.path_qs == "/chat/completions"
    assert "anthropic-version" not in out.headers and "anthropic-beta" not in out.headers
    assert out.headers["Authorization"] == "Bearer k"
    assert out.headers["Accept"] == "text/event-stream"
    sent = json.loads(out.body)
    assert sent["messages"] == [{"role": "user", "content": "hi"}]
    assert sent["max_completion_tokens"] == 5

"""Chat Completions stream -> Anthropic stream (wire/openai_stream.py), sans-IO: upstream
bytes split at every offset give the same events, and every output is a valid Anthropic
event sequence."""

from __future__ import annotations

import itertools
import json
from typing import Any

import msgspec
import pytest

import emulators as emu
from fake_openai import chunk, encode_sse, text_chunks, tool_chunks, usage
from hotswap.router.sse import SSEParser
from hotswap.wire import openai_stream
from hotswap.wire.openai_stream import ChatStreamTranslator


def translate(payload: bytes, cuts: list[int] | None = None) -> bytes:
    t = ChatStreamTranslator(model="m")
    bounds = [0, *(cuts or []), len(payload)]
    out = b"".join(t.feed(payload[a:b]) for a, b in itertools.pairwise(bounds))
    return out + t.finish()


def events(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    return [(e.name, json.loads(e.data)) for e in SSEParser().feed(raw)]


def assert_valid_sequence(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """message_start first; blocks one at a time, each started and stopped once, indices
    0, 1, 2...; one message_delta; message_stop last."""
    evs = events(raw)
    names = [n for n, _ in evs]
    assert names[0] == "message_start" and names[-1] == "message_stop", names
    assert names.count("message_delta") == 1 and names[-2] == "message_delta", names
    open_index, next_index = None, 0
    for name, data in evs[1:-2]:
        if name == "content_block_start":
            assert open_index is None and data["index"] == next_index
            open_index = data["index"]
        elif name == "content_block_delta":
            assert data["index"] == open_index
        elif name == "content_block_stop":
            assert data["index"] == open_index
            open_index, next_index = None, next_index + 1
        else:
            raise AssertionError(f"unexpected {name} inside the message")
    assert open_index is None
    return evs


def message(raw: bytes) -> dict[str, Any]:
    assert_valid_sequence(raw)
    return emu.collect_stream(raw)


TEXT = encode_sse(text_chunks("Hello, wörld!", reasoning="Let me think."))
TOOLS = encode_sse(
    tool_chunks(
        [("call_a", "Bash", {"command": "ls -la"}), ("call_b", "Read", {"path": "/tmp/x"})],
        text="Two calls.",
        interleave=True,
    )
)


def test_text_and_reasoning() -> None:
    msg = message(translate(TEXT))
    assert msg["content"] == [
        {"type": "thinking", "thinking": "Let me think.", "signature": ""},
        {"type": "text", "text": "Hello, wörld!"},
    ]
    assert msg["model"] == "gpt-fake"


@pytest.mark.parametrize("payload", [TEXT, TOOLS], ids=["text", "tools"])
def test_split_at_every_byte_offset_gives_the_same_events(payload: bytes) -> None:
    whole = translate(payload)
    for cut in range(1, len(payload)):
        assert translate(payload, [cut]) == whole, f"cut at {cut}"
    assert translate(payload, list(range(1, len(payload)))) == whole  # byte by byte


def test_parallel_tool_calls_interleaved_in_fragments() -> None:
    raw = translate(TOOLS)
    msg = message(raw)
    assert msg["content"] == [
        {"type": "text", "text": "Two calls."},
        {"type": "tool_use", "id": "call_a", "name": "Bash", "input": {"command": "ls -la"}},
        {"type": "tool_use", "id": "call_b", "name": "Read", "input": {"path": "/tmp/x"}},
    ]
    deltas = [e for n, e in events(raw) if n == "message_delta"]
    assert deltas[0]["delta"]["stop_reason"] == "tool_use"
    live = [e for n, e in events(raw) if n == "content_block_delta" and e["index"] == 1]
    assert len(live) > 1  # the first call's arguments relayed as they came


def test_sequential_tool_calls() -> None:
    calls = [("c1", "Bash", {"command": "pwd"}), ("c2", "Bash", {"command": "id"})]
    msg = message(translate(encode_sse(tool_chunks(calls))))
    assert [b["input"] for b in msg["content"]] == [{"command": "pwd"}, {"command": "id"}]


@pytest.mark.parametrize("key", ["reasoning_content", "reasoning"])
def test_both_reasoning_spellings(key: str) -> None:
    msg = message(translate(encode_sse(text_chunks("a", reasoning="r", reasoning_key=key))))
    assert msg["content"][0] == {"type": "thinking", "thinking": "r", "signature": ""}


@pytest.mark.parametrize(
    ("finish", "stop"),
    [("stop", "end_turn"), ("length", "max_tokens"), ("content_filter", "refusal")],
)
def test_finish_reasons(finish: str, stop: str) -> None:
    raw = translate(encode_sse(text_chunks("x", finish=finish)))
    assert next(e for n, e in events(raw) if n == "message_delta")["delta"]["stop_reason"] == stop


def test_usage_with_cached_tokens_from_the_usage_only_last_chunk() -> None:
    raw = translate(encode_sse(text_chunks("x", use=usage(prompt=100, completion=9, cached=60))))
    delta = next(e for n, e in events(raw) if n == "message_delta")
    assert delta["usage"] == {
        "input_tokens": 40,
        "output_tokens": 9,
        "cache_read_input_tokens": 60,
        "cache_creation_input_tokens": 0,
    }


def test_empty_deltas_no_done_after_a_finish_and_a_last_line_without_newline() -> None:
    chunks = [chunk({}), chunk({"content": ""}), chunk({"content": "hi"}), chunk({}, finish="stop")]
    payload = encode_sse(chunks, done=False).rstrip(b"\n")
    msg = message(translate(payload))
    assert msg["content"] == [{"type": "text", "text": "hi"}]


def test_done_without_a_finish_reason_is_a_whole_answer() -> None:
    payload = encode_sse([chunk({"content": "hi"})], done=True)
    assert message(translate(payload))["content"] == [{"type": "text", "text": "hi"}]


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        encode_sse([chunk({"content": "cut sh"})], done=False),
        encode_sse([chunk({"content": "cut sh"})], done=False).rstrip(b"\n"),
    ],
    ids=["empty", "cut", "cut-mid-line"],
)
def test_a_stream_ending_without_done_or_a_finish_reason_is_broken(payload: bytes) -> None:
    """Never an end_turn: the Anthropic wire errs in the same case (no message_stop)."""
    t = ChatStreamTranslator(model="m")
    t.feed(payload)
    with pytest.raises(openai_stream.BrokenStream, match=r"without \[DONE\] or a finish_reason"):
        t.finish()
    assert t.feed(encode_sse(text_chunks("more"))) == b"" and t.ended


@pytest.mark.parametrize(
    "bad",
    [b"data: {not json\n\n", b"data: <html>oops</html>\n\n", b"data: [1, 2]\n\n", b"data: 7\n\n"],
)
@pytest.mark.parametrize("where", ["first", "later"])
def test_a_chunk_that_is_not_a_json_object_is_broken(bad: bytes, where: str) -> None:
    before = encode_sse([chunk({"content": "so far"})], done=False) if where == "later" else b""
    t = ChatStreamTranslator(model="m")
    with pytest.raises(openai_stream.BrokenStream, match="not a JSON object"):
        t.feed(before + bad + encode_sse(text_chunks("after")))
    assert t.ended and t.feed(encode_sse(text_chunks("more"))) == b""


@pytest.mark.parametrize("done", [True, False])
@pytest.mark.parametrize("live", [True, False], ids=["relayed-call", "held-call"])
def test_tool_arguments_that_are_not_a_json_object_are_broken(done: bool, live: bool) -> None:
    """Checked once the call is complete (at the message's end), whether its fragments were
    relayed as they came (the first call) or held (the others)."""
    calls = [("c1", "Bash", {"command": "ls"}), ("c2", "Read", {"path": "/x"})]
    chunks = tool_chunks(calls, pieces=2)
    target = 1 if live else 2  # the first call's fragment, or the second's
    for c in chunks:
        for call in (c["choices"][0]["delta"].get("tool_calls") or []) if c["choices"] else []:
            if call["index"] == target - 1 and call["function"]["arguments"]:
                call["function"]["arguments"] = call["function"]["arguments"].replace('"', "'")
    t = ChatStreamTranslator(model="m")
    with pytest.raises(openai_stream.BrokenStream, match="arguments that are not a JSON object"):
        t.feed(encode_sse(chunks, done=done))
        t.finish()


def test_a_tool_call_without_arguments_has_an_empty_input() -> None:
    chunks = [
        chunk({"tool_calls": [{"index": 0, "id": "c", "type": "function",
                               "function": {"name": "Now", "arguments": ""}}]}),
        chunk({}, finish="tool_calls"),
    ]  # fmt: skip
    msg = message(translate(encode_sse(chunks)))
    assert msg["content"] == [{"type": "tool_use", "id": "c", "name": "Now", "input": {}}]


def test_comments_and_crlf_are_ignored() -> None:
    payload = encode_sse(text_chunks("ok")).replace(b"\n", b"\r\n")
    msg = message(translate(b": keep-alive\r\n\r\n" + payload))
    assert msg["content"] == [{"type": "text", "text": "ok"}]


def test_an_error_chunk_becomes_one_error_event_and_the_end() -> None:
    error = {"error": {"message": "Rate limit reached", "type": "requests", "code": "429"}}
    payload = encode_sse([chunk({"content": "par"})], done=False)
    payload += b"data: " + json.dumps(error).encode() + b"\n\n" + encode_sse(text_chunks("more"))
    evs = events(translate(payload))
    assert [n for n, _ in evs][-1] == "error"
    assert evs[-1][1]["error"]["type"] == "rate_limit_error"
    assert "Rate limit reached" in evs[-1][1]["error"]["message"]


def test_an_error_before_anything_is_the_only_event() -> None:
    error = {"error": {"message": "You exceeded your current quota", "code": "insufficient_quota"}}
    evs = events(translate(b"data: " + json.dumps(error).encode() + b"\n\n"))
    assert [n for n, _ in evs] == ["error"]
    assert "insufficient_quota" in evs[0][1]["error"]["message"]


def test_whole_tool_calls_without_an_index_are_separate_calls() -> None:
    """Some endpoints (reported of Gemini's) send each call whole, with no `index`: not valid
    for the openai types, so these chunks are built by hand."""
    calls = [
        {"id": f"call_{n}", "type": "function", "function": {"name": "Bash", "arguments": a}}
        for n, a in ((1, '{"command":"ls"}'), (2, '{"command":"pwd"}'))
    ]
    chunks: list[dict[str, Any]] = [
        {"id": "x", "model": "m", "choices": [{"index": 0, "delta": {"tool_calls": [c]}}]}
        for c in calls
    ]
    chunks.append(chunk({}, finish="tool_calls"))
    msg = message(translate(encode_sse(chunks)))
    assert [(b["id"], b["input"]) for b in msg["content"]] == [
        ("call_1", {"command": "ls"}),
        ("call_2", {"command": "pwd"}),
    ]


ODD_CHUNKS: list[dict[str, Any]] = [
    {"choices": [{"index": 0, "delta": {"content": 'esc \u00e9 "q" \\ \n \u2028 😀'}}]},
    {"choices": [{"index": 1, "delta": {"content": "another choice: left out"}}]},
    {"choices": [{"index": None, "delta": {"content": "no index"}}]},
    {"choices": [{"index": 0, "delta": {"content": 5, "reasoning": ["x"]}}]},
    {"choices": [{"index": 0, "delta": "a string"}]},
    {"choices": [{"index": 0, "delta": None, "finish_reason": "length"}]},
    {"choices": "not a list"},
    {"choices": [{"index": 0, "delta": {"reasoning_content": "", "reasoning": "second"}}]},
    {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 2}},
]


def _escaped_sse(chunks: list[dict[str, Any]]) -> bytes:
    """Chunks as an upstream might escape them (ASCII only: \\uXXXX for the rest)."""
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)


@pytest.mark.parametrize(
    "payload",
    [
        TEXT,
        TOOLS,
        encode_sse([*text_chunks("a", reasoning="r"), *ODD_CHUNKS]),
        _escaped_sse([*text_chunks('wörld "x"', reasoning="ré"), *ODD_CHUNKS]),
        encode_sse([*tool_chunks([("c", "Bash", {"a": 1})]), chunk({"content": "late"})]),
    ],
    ids=["text", "tools", "odd", "escaped", "late-text"],
)
def test_the_raw_string_path_gives_the_events_the_whole_decode_gives(
    payload: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text and reasoning go out as the upstream's raw JSON strings; a translator made to
    decode every chunk whole must give the same events, value for value."""
    fast = events(translate(payload))
    monkeypatch.setattr(openai_stream, "CHUNK", msgspec.json.Decoder(int))  # always refuses
    whole = events(translate(payload))
    assert fast == whole
    assert_valid_sequence(translate(payload))

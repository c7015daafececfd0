"""SSEParser: the same events whatever the chunking; encode() round-trips through the parser."""

from __future__ import annotations

import json

import pytest

from hotswap.sse import Event, SSEParser, encode, parse_event

# A realistic Anthropic stream: keep-alive comments, pings, a thinking block with its
# signature, text, and a tool_use whose input arrives as partial JSON.
_EVENTS: list[tuple[str, dict[str, object]]] = [
    (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_01",
                "type": "message",
                "role": "assistant",
                "model": "claude-opus-5-5",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 25, "output_tokens": 1, "cache_read_input_tokens": 0},
            },
        },
    ),
    ("ping", {"type": "ping"}),
    (
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "Let me think: a: b\n\nc ü 日本"},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "EqQBCkgIARABGAIiQL+/=="},
        },
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    (
        "content_block_start",
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    ),
    (
        "content_block_delta",
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hi"}},
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 1}),
    (
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": '{"command": "ls'},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": ' -la"}'},
        },
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 2}),
    (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 42},
        },
    ),
    ("message_stop", {"type": "message_stop"}),
]


def _transcript(newline: bytes) -> bytes:
    blocks = [b": OPENROUTER PROCESSING"]
    for i, (name, data) in enumerate(_EVENTS):
        blocks.append(f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}".encode())
        if i == 1:
            blocks.append(b": keep-alive")
    return b"".join(block.replace(b"\n", newline) + newline * 2 for block in blocks)


TRANSCRIPTS = {"lf": _transcript(b"\n"), "crlf": _transcript(b"\r\n")}


def _fields(events: list[Event]) -> list[tuple[str, bytes, bytes]]:
    return [(e.name, e.data, e.raw) for e in events]


def _feed_all(chunks: list[bytes]) -> tuple[list[Event], bytes]:
    parser = SSEParser()
    events: list[Event] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    return events, parser.pending


@pytest.mark.parametrize("kind", sorted(TRANSCRIPTS))
def test_whole_transcript_parses_into_its_events(kind: str) -> None:
    events, pending = _feed_all([TRANSCRIPTS[kind]])
    named = [e for e in events if not e.is_comment]
    assert [e.name for e in named] == [name for name, _ in _EVENTS]
    assert [json.loads(e.data) for e in named] == [data for _, data in _EVENTS]
    assert sum(e.is_comment for e in events) == 2
    assert pending == b""
    # raw bytes add up to the input: an event no rewrite touches is relayed byte for byte
    assert b"".join(e.raw for e in events) == TRANSCRIPTS[kind]


@pytest.mark.parametrize("kind", sorted(TRANSCRIPTS))
def test_split_at_every_byte_offset_gives_the_same_events(kind: str) -> None:
    data = TRANSCRIPTS[kind]
    expected = _fields(_feed_all([data])[0])
    for cut in range(len(data) + 1):
        events, pending = _feed_all([data[:cut], data[cut:]])
        assert _fields(events) == expected, f"split at byte {cut}"
        assert pending == b""


@pytest.mark.parametrize("kind", sorted(TRANSCRIPTS))
@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_fixed_size_chunks_give_the_same_events(kind: str, size: int) -> None:
    data = TRANSCRIPTS[kind]
    expected = _fields(_feed_all([data])[0])
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    assert _fields(_feed_all(chunks)[0]) == expected


def test_incomplete_event_stays_pending() -> None:
    parser = SSEParser()
    assert parser.feed(b"event: ping\ndata: {}\n") == []
    assert parser.pending == b"event: ping\ndata: {}\n"
    [event] = parser.feed(b"\n")
    assert (event.name, event.data) == ("ping", b"{}")


def test_multi_line_data_is_joined_with_newlines() -> None:
    event = parse_event(b"event: x\ndata: a\ndata:b\n: note\n\n")
    assert (event.name, event.data) == ("x", b"a\nb")


@pytest.mark.parametrize(
    "data",
    [
        b'{"type":"ping"}',
        json.dumps({"text": "ü 日本 a: b"}, ensure_ascii=False).encode(),
        b"",
        b"line one\nline two",
    ],
)
def test_encode_round_trips_through_the_parser(data: bytes) -> None:
    raw = encode("message_delta", data)
    [event] = SSEParser().feed(raw)
    assert (event.name, event.data, event.raw) == ("message_delta", data, raw)


def test_encode_uses_anthropics_layout() -> None:
    assert encode("ping", b'{"type":"ping"}') == b'event: ping\ndata: {"type":"ping"}\n\n'

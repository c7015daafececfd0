"""SSEParser: the same events whatever the chunking, as the plain SSE rule gives them (split
at each first blank line, read each block line by line: `_reference`, written the slow way);
the LF-only fast path and the usual `event: X\ndata: ONE LINE` slicer agree with it;
encode() round-trips through the parser."""

from __future__ import annotations

import json
import random
import re

import pytest

from hotswap.router.sse import Event, SSEParser, encode, parse_event

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


def _triples(events: list[Event]) -> list[tuple[str, bytes, bytes]]:
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
    expected = _triples(_feed_all([data])[0])
    for cut in range(len(data) + 1):
        events, pending = _feed_all([data[:cut], data[cut:]])
        assert _triples(events) == expected, f"split at byte {cut}"
        assert pending == b""


@pytest.mark.parametrize("kind", sorted(TRANSCRIPTS))
@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_fixed_size_chunks_give_the_same_events(kind: str, size: int) -> None:
    data = TRANSCRIPTS[kind]
    expected = _triples(_feed_all([data])[0])
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    assert _triples(_feed_all(chunks)[0]) == expected


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


# --- the fast paths against the plain rule ---------------------------------------------------

_BOUNDARY = re.compile(rb"\r\n\r\n|\n\n|\r\r|\r\n\n|\n\r\n")

ODD_BLOCKS = [
    b'event: message_start\ndata: {"type":"message_start"}',
    b"event: \ndata: nameless",  # empty name
    b"event:content_block_delta\ndata:{}",  # no spaces after the colons
    b"event: x\ndata: one\ndata: two",  # multi-line data
    b": a comment",
    b"data: no event line",
    b"id: 7\nevent: y\ndata: z",
    b"event: y\ndata: z\nretry: 5",
    b"event: delta\ndata: caf\xc3\xa9 \xff bad utf-8",
    b"event: d\xc3\xa9lta\xff\ndata: x",  # a name that is not ASCII (nor UTF-8)
    b"event: ping\ndata: {}",
    b"",  # a blank line more: a block of blank lines only, not an event
    b"\n",
]


def _fields(block: bytes) -> tuple[str, bytes]:
    """An event block's name and data by the SSE line rule, with no fast path."""
    name, data = "", []
    for line in block.splitlines():
        if not line or line.startswith(b":"):
            continue
        key, _, value = line.partition(b":")
        value = value[1:] if value.startswith(b" ") else value
        if key == b"event":
            name = value.decode("utf-8", "replace")
        elif key == b"data":
            data.append(value)
    return name, b"\n".join(data)


def _reference(data: bytes) -> tuple[list[tuple[str, bytes, bytes]], bytes]:
    """The plain rule, written the slow way."""
    out, start = [], 0
    while (match := _BOUNDARY.search(data, start)) is not None:
        block = data[start : match.end()]
        start = match.end()
        name, fields = _fields(block)
        if name or fields or block.strip():
            out.append((name, fields, block))
    return out, data[start:]


@pytest.mark.parametrize("block", ODD_BLOCKS)
def test_parse_event_reads_every_layout_as_the_line_rule_does(block: bytes) -> None:
    raw = block + b"\n\n"
    event = parse_event(raw)
    assert (event.name, event.data, event.raw) == (*_fields(raw), raw)


def _parse(chunks: list[bytes]) -> tuple[list[tuple[str, bytes, bytes]], bytes]:
    parser, events = SSEParser(), []
    for chunk in chunks:
        events += parser.feed(chunk)
    return [(e.name, e.data, e.raw) for e in events], parser.pending


def _transcript(rng: random.Random, crlf_share: float) -> bytes:
    parts = []
    for _ in range(40):
        block = rng.choice(ODD_BLOCKS)
        sep = b"\r\n" if rng.random() < crlf_share else b"\n"
        parts.append(block.replace(b"\n", sep) + sep * rng.choice((2, 2, 2, 3, 4)))
    return b"".join(parts) + b"event: tail\ndata: unfinished"


@pytest.mark.parametrize("crlf_share", [0.0, 0.1])
@pytest.mark.parametrize("seed", range(6))
def test_any_chunking_gives_the_reference_events(seed: int, crlf_share: float) -> None:
    rng = random.Random(seed)
    data = _transcript(rng, crlf_share)
    expected = _reference(data)
    assert expected[1] == b"event: tail\ndata: unfinished"
    assert _parse([data]) == expected
    cuts = sorted(rng.sample(range(1, len(data)), 25))
    chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    assert _parse(chunks) == expected
    assert _parse([data[i : i + 1] for i in range(len(data))]) == expected


def test_an_event_completed_by_a_chunk_is_followed_by_the_chunks_own_events() -> None:
    parser = SSEParser()
    assert parser.feed(b"event: a\ndata: 1\n") == []
    events = parser.feed(b"\nevent: b\ndata: 2\n\nevent: c\ndata: 3\n\nevent: d")
    assert [(e.name, e.data) for e in events] == [("a", b"1"), ("b", b"2"), ("c", b"3")]
    assert all(isinstance(e.raw, bytes) and isinstance(e.data, bytes) for e in events)
    assert parser.pending == b"event: d"
    assert parser.feed(b"\ndata: 4\r\n\r\n") == [Event(b"event: d\ndata: 4\r\n\r\n", "d", b"4")]


@pytest.mark.parametrize(
    "block",
    [
        b"event: message_start\ndata: {}\n\n",
        b"event:  two spaces\ndata:  lead\n\n",
        b'event: x\ndata: {"text": "event: y"}\n\n',
        b"event: x\ndata: a\ndata: b\n\n",
        b"event: x\r\ndata: a\r\n\r\n",
        b"data: only\n\n",
        b": comment\nevent: x\ndata: a\n\n",
        b"event: x\nevent: y\ndata: a\n\n",
        b"event: x\ndata: \n\n",
    ],
)
def test_the_fast_path_agrees_with_the_line_parser(block: bytes) -> None:
    expected = _fields(block)
    event = parse_event(block)
    assert (event.raw, event.name, event.data) == (block, *expected)
    [fed] = SSEParser().feed(block)
    assert (fed.name, fed.data) == expected

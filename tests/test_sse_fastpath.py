"""SSEParser splits LF-only chunks at every blank line at once and slices the usual
`event: X\\ndata: ONE LINE\\n\\n` layout where it stands; anything else goes through
parse_event. Both must give exactly the events the plain rule gives: split at each first
blank line, parse_event on each block."""

from __future__ import annotations

import random
import re

import pytest

from hotswap.sse import Event, SSEParser, parse_event

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

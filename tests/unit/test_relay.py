"""The relay's shortcut: runs of content_block_delta events go to the client without being
parsed one by one (relay.passthrough_prefix); what reaches the client, the tokens counted
and the thinking keys must be exactly what parsing every event gives."""

from __future__ import annotations

from typing import Any

import pytest

from fakes import encode_events, message_events
from hotswap.router.relay import passthrough_prefix, relay_chunk, render
from hotswap.router.sse import SSEParser
from hotswap.rules.events import StreamContext


def _delta_stream() -> bytes:
    def delta(i: int, d: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return ("content_block_delta", {"type": "content_block_delta", "index": i, "delta": d})

    def start(i: int, block: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return (
            "content_block_start",
            {"type": "content_block_start", "index": i, "content_block": block},
        )

    def stop(i: int) -> tuple[str, dict[str, Any]]:
        return ("content_block_stop", {"type": "content_block_stop", "index": i})

    events = message_events("", usage=False)[:1]  # message_start without usage: rewritten
    events += [start(0, {"type": "thinking", "thinking": "", "signature": ""})]
    events += [delta(0, {"type": "thinking_delta", "thinking": f"step {n} "}) for n in range(5)]
    events += [stop(0), ("ping", {"type": "ping"})]  # unsigned: its key is its text
    events += [start(1, {"type": "text", "text": ""})]
    events += [delta(1, {"type": "text_delta", "text": f"w{n} \u00e9 "}) for n in range(30)]
    events += [stop(1), start(2, {"type": "tool_use", "id": "t", "name": "Read", "input": {}})]
    events += [delta(2, {"type": "input_json_delta", "partial_json": '{"p": 1'}) for _ in range(5)]
    events += [stop(2), start(3, {"type": "thinking", "thinking": "", "signature": ""})]
    events += [delta(3, {"type": "thinking_delta", "thinking": "signed"})]
    events += [delta(3, {"type": "signature_delta", "signature": "SIG"}), stop(3)]
    events += [("message_delta", {"type": "message_delta", "delta": {}, "usage": None})]
    events += [("message_stop", {"type": "message_stop"})]
    return encode_events(events).replace(b"event: ping", b": keep-alive\n\nevent: ping", 1)


def _chunkings() -> dict[str, list[bytes]]:
    data = _delta_stream()
    events = [e + b"\n\n" for e in data.split(b"\n\n")[:-1]]
    out = {f"{n} bytes": [data[i : i + n] for i in range(0, len(data), n)] for n in (1, 9, 700)}
    out["whole"] = [data]
    out["an event per read"] = events  # how a real backend's tokens arrive
    out["three events per read"] = [b"".join(events[i : i + 3]) for i in range(0, len(events), 3)]
    return out


@pytest.mark.parametrize("name", sorted(_chunkings()))
def test_relayed_delta_runs_are_what_parsing_every_event_gives(name: str) -> None:
    chunks = _chunkings()[name]

    def relay(fast: bool) -> tuple[bytes, list[str], tuple[int, int], int]:
        parser, ctx, out, parsed = SSEParser(), StreamContext(backend="b"), [], 0
        for chunk in chunks:
            if fast:
                written, events = relay_chunk(chunk, parser, ctx, "b")
            else:
                events = parser.feed(chunk)
                written = render(events, ctx)
            out.append(written)
            parsed += len(events)
        return b"".join(out), ctx.thinking.keys, (ctx.input_tokens, ctx.output_tokens), parsed

    fast, slow = relay(True), relay(False)
    assert fast[:3] == slow[:3]
    assert fast[1] == ["t:step 0 step 1 step 2 step 3 step 4 ", "s:SIG"]
    if "per read" in name:  # the text and tool-input deltas were relayed unparsed
        assert fast[3] <= slow[3] - 30


def test_any_other_event_name_in_a_chunk_sends_it_to_the_parser() -> None:
    ctx, delta = StreamContext(backend="b"), b'event: content_block_delta\ndata: {"x":1}\n\n'
    for other in (b"event: message_stop\ndata: {}\n\n", b"event:error\ndata: {}\n\n"):
        head, rest = passthrough_prefix(delta + other, SSEParser(), ctx)
        assert head == b"" and rest == delta + other
    head, rest = passthrough_prefix(delta * 3 + b"event: content_blo", SSEParser(), ctx)
    assert head == delta * 3 and rest == b"event: content_blo"
    assert passthrough_prefix(delta.replace(b"\n", b"\r\n"), SSEParser(), ctx)[0] == b""

"""Server-sent events: split a byte stream into complete events, and encode them back.

Pure: no I/O. The parser keeps each event's raw bytes so that an event no rewrite needs
is relayed byte for byte, without decoding or re-encoding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BOUNDARY = re.compile(rb"\r\n\r\n|\n\n|\r\r|\r\n\n|\n\r\n")


@dataclass(slots=True)
class Event:
    """One complete SSE event: its raw bytes (with the trailing blank line) and its fields."""

    raw: bytes
    name: str
    data: bytes

    @property
    def is_comment(self) -> bool:
        return not self.name and not self.data


def parse_event(raw: bytes) -> Event:
    """Fields of one event block (without requiring the terminating blank line)."""
    if raw.endswith(b"\n\n") and b"\r" not in raw:
        fast = _usual_event(raw[:-2], raw)
        if fast is not None:
            return fast
    name = ""
    data: list[bytes] = []
    for line in raw.splitlines():
        if not line or line.startswith(b":"):
            continue
        key, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if key == b"event":
            name = value.decode("utf-8", "replace")
        elif key == b"data":
            data.append(value)
    return Event(raw=raw, name=name, data=b"\n".join(data))


MAX_EVENT_BYTES = 16 * 1024 * 1024


class EventTooLarge(ValueError):
    """An event grew past MAX_EVENT_BYTES without ending: no real backend sends one."""


class SSEParser:
    """Feed bytes as they arrive; get back every event completed by them.

    Linear in the input: an incomplete event is kept in a bytearray that grows in place,
    and each feed searches only the bytes not searched before.
    """

    def __init__(self, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self._buf = bytearray()
        self._scanned = 0  # the pending bytes before this hold no boundary
        self._cr = False  # the pending bytes hold a \r (so each chunk is searched once)
        self._max = max_event_bytes

    def feed(self, chunk: bytes) -> list[Event]:
        events: list[Event] = []
        cr = b"\r" in chunk
        lf_only = not cr and not self._cr
        if self._buf:  # finish the pending event in the buffer, then go on in `chunk`
            pending = len(self._buf)
            self._buf += chunk
            start_search = max(0, self._scanned - 3)  # a boundary may straddle the join
            end = _boundary_end(self._buf, start_search, lf_only)
            if end < 0:
                self._keep(self._buf, 0, cr)
                return events
            _append(events, bytes(self._buf[:end]))
            buf, start = chunk, end - pending  # the pending bytes held no boundary: end > pending
        else:
            buf, start = chunk, 0
        if lf_only:  # every boundary is the first "\n\n" after the last: split does them all
            pieces = (buf[start:] if start else buf).split(b"\n\n")
            for piece in pieces[:-1]:
                event = _usual_event(piece)
                if event is not None:
                    events.append(event)
                else:
                    _append(events, piece + b"\n\n")
            self._keep(pieces[-1], 0, cr)
            return events
        while True:
            end = _boundary_end(buf, start, lf_only)
            if end < 0:
                break
            _append(events, buf[start:end])
            start = end
        self._keep(buf, start, cr)
        return events

    def _keep(self, buf: bytes | bytearray, start: int, cr: bool) -> None:
        """Keep `buf[start:]` as the pending bytes (`cr`: the last chunk held a \r)."""
        if buf is self._buf:  # the pending bytes grew by the chunk
            del self._buf[:start]
            self._cr = self._cr or cr
        else:  # a rest of the chunk
            self._buf = bytearray(buf[start:])
            self._cr = cr and b"\r" in self._buf
        self._scanned = len(self._buf)
        if len(self._buf) > self._max:
            size = len(self._buf)
            self._buf, self._scanned, self._cr = bytearray(), 0, False
            raise EventTooLarge(f"an SSE event of over {size} bytes without an end")

    @property
    def has_pending(self) -> bool:
        return bool(self._buf)

    @property
    def pending(self) -> bytes:
        """Bytes of an event not yet complete."""
        return bytes(self._buf)


# Anthropic's event names, decoded once here (a constant table); any other is decoded as read.
_NAMES = {
    name.encode(): name
    for name in (
        "message_start",
        "message_delta",
        "message_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "ping",
        "error",
    )
}


def _usual_event(piece: bytes, raw: bytes | None = None) -> Event | None:
    """The event of a block in the layout every backend sends, `event: NAME\ndata: ONE
    LINE` (`piece`: the block without its blank line, holding no \r; `raw`: the block with
    it, if at hand), sliced where it stands; None for any other layout (parse_event's
    line by line reading decides)."""
    if not piece.startswith(b"event: ") or piece.count(b"\n") != 1:
        return None
    newline = piece.find(b"\n")
    if not piece.startswith(b"data: ", newline + 1):
        return None
    name_bytes = piece[7:newline]
    name = _NAMES.get(name_bytes)
    if name is None:
        name = name_bytes.decode("utf-8", "replace")
    raw = piece + b"\n\n" if raw is None else raw
    return Event(raw=raw, name=name, data=piece[newline + 7 :])


def _append(events: list[Event], block: bytes) -> None:
    """The event of one complete block, unless it is only blank lines."""
    event = parse_event(block)
    if not event.is_comment or block.strip():
        events.append(event)


def _boundary_end(buf: bytes | bytearray, start: int, lf_only: bool) -> int:
    """The end of the first blank-line boundary at or after `start`, or -1."""
    if lf_only:  # the common case: a plain find is the same boundary
        found = buf.find(b"\n\n", start)
        return found + 2 if found >= 0 else -1
    match = _BOUNDARY.search(buf, start)
    return match.end() if match else -1


def encode(name: str, data: bytes) -> bytes:
    """One SSE event in Anthropic's layout: `event:` line, `data:` line, blank line.

    Data holding newlines becomes several `data:` lines, which a parser joins back.
    """
    lines = b"".join(b"data: " + line + b"\n" for line in data.split(b"\n"))
    return b"event: " + name.encode() + b"\n" + lines + b"\n"

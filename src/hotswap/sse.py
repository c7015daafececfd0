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


class SSEParser:
    """Feed bytes as they arrive; get back every event completed by them."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[Event]:
        buf = self._buf + chunk if self._buf else chunk
        events: list[Event] = []
        start = 0
        while True:
            match = _BOUNDARY.search(buf, start)
            if match is None:
                break
            end = match.end()
            block = buf[start:end]
            start = end
            event = parse_event(block)
            if not event.is_comment or block.strip():
                events.append(event)
        self._buf = buf[start:]
        return events

    @property
    def pending(self) -> bytes:
        """Bytes of an event not yet complete."""
        return self._buf


def encode(name: str, data: bytes) -> bytes:
    """One SSE event in Anthropic's layout: `event:` line, `data:` line, blank line.

    Data holding newlines becomes several `data:` lines, which a parser joins back.
    """
    lines = b"".join(b"data: " + line + b"\n" for line in data.split(b"\n"))
    return b"event: " + name.encode() + b"\n" + lines + b"\n"

"""The lean fake upstream: fake_upstream.py's Anthropic stream, served by a bare asyncio
protocol on uvloop, so it costs little CPU per stream (bench/gateway.py's workers phase).

    python bench/lean_upstream.py            # prints "port N" once listening on 127.0.0.1

Same contract as fake_upstream.py for streaming requests: it reports the received body's
crc32 and length, the path and the x-api-key's crc32 in x-bench-* headers (and the body's
shape with `x-bench-inspect: 1`), and answers with the same events, one write per event,
in chunked transfer coding; without `x-bench-stream: 1`, the same JSON message.
"""

from __future__ import annotations

import asyncio
import sys
import zlib
from pathlib import Path
from typing import cast

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_upstream import EVENTS, MESSAGE, RESPONSE_HEADERS, summary
from http1 import BadMessage, Reader

FIXED_HEAD = b"".join(f"{k}: {v}\r\n".encode() for k, v in RESPONSE_HEADERS.items())
STREAM_HEAD = (
    b"content-type: text/event-stream; charset=utf-8\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n"
)
MESSAGE_HEAD = b"content-type: application/json\r\ncontent-length: %d\r\n" % len(MESSAGE)
CHUNKS = [b"%x\r\n%s\r\n" % (len(event), event) for event in EVENTS]
LAST = b"0\r\n\r\n"


def _crc(data: bytes) -> bytes:
    return b"%08x" % zlib.crc32(data)


def head(start: bytes, headers: dict[bytes, bytes], body: bytes, stream: bool) -> bytes:
    """The response head for one request (the events or the message follow it)."""
    path = start.split(b" ")[1]
    key = _crc(headers.get(b"x-api-key", b""))
    lines = [b"HTTP/1.1 200 OK\r\n", FIXED_HEAD, STREAM_HEAD if stream else MESSAGE_HEAD,
             b"x-bench-crc: %s\r\nx-bench-len: %d\r\n" % (_crc(body), len(body)),
             b"x-bench-path: %s\r\nx-bench-key: %s\r\n" % (path, key)]  # fmt: skip
    if headers.get(b"x-bench-inspect") == b"1":
        lines.append(b"x-bench-summary: %s\r\n" % summary(body).encode())
    return b"".join(lines) + b"\r\n"


class Upstream(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # (uvloop's: not a subclass)
        self.reader = Reader()

    def data_received(self, data: bytes) -> None:
        try:
            messages = self.reader.feed(data)
        except (BadMessage, ValueError):
            self.transport.close()
            return
        write = self.transport.write
        for start, headers, body in messages:
            stream = headers.get(b"x-bench-stream") == b"1"
            write(head(start, headers, body, stream))
            if not stream:
                write(MESSAGE)
                continue
            for chunk in CHUNKS:  # one write per event, as a real upstream streams
                write(chunk)
            write(LAST)


async def main() -> None:
    server = await asyncio.get_running_loop().create_server(Upstream, "127.0.0.1", 0)
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main())

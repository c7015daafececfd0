"""A minimal HTTP/1.1 message reader for the lean bench pair (lean_upstream.py,
lean_client.py): just what keep-alive requests and chunked or sized replies need, so the
bench's own processes cost a small fraction of what the router under test does."""

from __future__ import annotations


class BadMessage(Exception):
    """Bytes that are not the HTTP/1.1 this reader expects."""


class Reader:
    """Feed it bytes; `feed` returns each complete message as (start line, headers, body).

    Headers are a dict with lower-case names. The body is sized by content-length or
    decoded from chunked transfer coding; a message without either has no body.
    """

    def __init__(self) -> None:
        self.buf = bytearray()
        self.head: tuple[bytes, dict[bytes, bytes]] | None = None
        self.size = -1  # the body's length, once known; -2: chunked
        self.body = bytearray()

    def feed(self, data: bytes) -> list[tuple[bytes, dict[bytes, bytes], bytes]]:
        self.buf += data
        done = []
        while True:
            message = self._step()
            if message is None:
                return done
            done.append(message)

    def _step(self) -> tuple[bytes, dict[bytes, bytes], bytes] | None:
        if self.head is None and not self._read_head():
            return None
        assert self.head is not None
        if self.size == -2:
            if not self._read_chunks():
                return None
        elif len(self.buf) < self.size:
            return None
        else:
            self.body = self.buf[: self.size]
            del self.buf[: self.size]
        start, headers = self.head
        body = bytes(self.body)
        self.head, self.size, self.body = None, -1, bytearray()
        return start, headers, body

    def _read_head(self) -> bool:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        lines = bytes(self.buf[:end]).split(b"\r\n")
        del self.buf[: end + 4]
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                raise BadMessage(f"header line without a colon: {line[:80]!r}")
            headers[name.strip().lower()] = value.strip()
        self.head = (lines[0], headers)
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            self.size = -2
        else:
            self.size = int(headers.get(b"content-length", b"0"))
        return True

    def _read_chunks(self) -> bool:
        """Move whole chunks from buf to body; True once the last (empty) one is read."""
        buf = self.buf
        while True:
            eol = buf.find(b"\r\n")
            if eol < 0:
                return False
            size = int(bytes(buf[:eol]).split(b";")[0], 16)
            if len(buf) < eol + 2 + size + 2:
                return False
            if size == 0:
                del buf[: eol + 4]  # the empty chunk and the blank line (no trailers)
                return True
            self.body += buf[eol + 2 : eol + 2 + size]
            del buf[: eol + 2 + size + 2]

"""The lean load generator: keep-alive connections on bare asyncio protocols under uvloop,
so driving a router costs little CPU per stream (bench/gateway.py's workers phase).

    python bench/lean_client.py --url URL --concurrency 32 --seconds 3 [--header K:V]

It sends loadgen.py's 150 KB streaming request (kind `hotswap`: the fake upstream behind a
hotswap router) and checks every answer as loadgen.py does, at the cost of byte compares:
status 200; the whole de-chunked stream equal to the events the router must relay (usage
normalised); the upstream's report (x-bench-*) of the body's crc32 and length, path and key
equal to the probe's. The probe, the first request, must show the body's shape rewritten as
loadgen.py's probe requires. Prints one JSON object: streams/s, counts, the first error,
the watched process's CPU seconds (its children's too: the gateway's workers), and what
the bench itself spent (this client and each --side-pid: the upstream, Redis).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import msgspec
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http1 import BadMessage, Reader
from loadgen import Case, Mismatch, make_case
from run import SIZES


def request_bytes(url: str, case: Case, extra: dict[str, str]) -> bytes:
    parts = urlsplit(url)
    headers = {**case.headers, **extra, "host": parts.netloc,
               "content-length": str(len(case.body))}  # fmt: skip
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"POST {parts.path} HTTP/1.1\r\n{head}\r\n".encode() + case.body


class Client(asyncio.Protocol):
    """One keep-alive connection sending the request again as each answer completes."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.reader = Reader()
        self.lost = asyncio.get_running_loop().create_future()
        self.closed_on_error = False  # counted already

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # (uvloop's: not a subclass)
        transport.write(self.run.request)

    def data_received(self, data: bytes) -> None:
        try:
            for start, headers, body in self.reader.feed(data):
                self.run.check(start, headers, body)
        except (BadMessage, Mismatch, ValueError) as exc:
            self.run.fail(exc)
            self.closed_on_error = True
            self.transport.close()
            return
        if self.reader.head is None and not self.reader.buf:
            if time.monotonic() < self.run.deadline:
                self.transport.write(self.run.request)
            else:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        closing = self.reader.head is None and not self.reader.buf  # between answers
        if not (closing and time.monotonic() >= self.run.deadline) and not self.closed_on_error:
            self.run.fail(ConnectionError(f"connection lost mid-answer or early ({exc})"))
        if not self.lost.done():
            self.lost.set_result(None)


class Run:
    def __init__(self, case: Case, request: bytes, seconds: float) -> None:
        self.case, self.request = case, request
        self.expected = b"".join(case.events)
        self.deadline = time.monotonic() + seconds
        self.ok = self.errors = 0
        self.first_error = ""

    def check(self, start: bytes, headers: dict[bytes, bytes], body: bytes) -> None:
        case = self.case
        if not start.startswith(b"HTTP/1.1 200 "):
            raise Mismatch(f"status {start.decode(errors='replace')}: {body[:200]!r}")
        got = tuple(headers.get(k, b"").decode() for k in
                    (b"x-bench-crc", b"x-bench-len", b"x-bench-path", b"x-bench-key"))  # fmt: skip
        want = (case.up_crc, case.up_len, case.up_path, case.up_key)
        if got != want:
            raise Mismatch(f"upstream received (crc, len, path, key-crc) {got}, expected {want}")
        if body != self.expected:
            raise Mismatch(f"stream differs ({len(body)} bytes, expected {len(self.expected)})")
        self.ok += 1

    def fail(self, exc: Exception) -> None:
        self.errors += 1
        self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"


async def probe(host: str, port: int, url: str, case: Case, extra: dict[str, str]) -> None:
    """loadgen.py's probe: the body's shape as the upstream got it; pins its crc32."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(request_bytes(url, case, {**extra, "x-bench-inspect": "1"}))
    parser, messages = Reader(), []
    while not messages:
        data = await reader.read(65536)
        if not data:
            raise Mismatch("the probe's connection closed")
        messages = parser.feed(data)
    writer.close()
    start, headers, _ = messages[0]
    if not start.startswith(b"HTTP/1.1 200 "):
        raise Mismatch(f"probe: {start.decode(errors='replace')}")
    got = msgspec.json.decode(headers.get(b"x-bench-summary", b"{}"))
    if got != case.up_summary:
        diff = {k: (got.get(k), v) for k, v in case.up_summary.items() if got.get(k) != v}
        raise Mismatch(f"upstream body shape (got, expected): {diff}")
    case.up_crc = headers[b"x-bench-crc"].decode()
    case.up_len = headers[b"x-bench-len"].decode()


def tree_cpu_s(pid: int) -> float:
    """utime + stime of the process and its live children, in seconds."""
    total = 0.0
    for p in [pid, *children(pid)]:
        with open(f"/proc/{p}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(c) for c in fh.read().split()]
    except OSError:
        return []


async def main(args: argparse.Namespace) -> dict[str, Any]:
    case = make_case(args.kind, SIZES["ns150"], True)
    extra = dict(h.split(":", 1) for h in args.header)
    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if case.up_crc is None:  # through a router: what it forwards is settled by the probe
        await probe(host, port, args.url, case, extra)
    run = Run(case, request_bytes(args.url, case, extra), args.seconds)
    cpu0, t0, own0 = tree_cpu_s(args.watch_pid), time.monotonic(), time.process_time()
    side0 = [tree_cpu_s(pid) for pid in args.side_pid]
    loop = asyncio.get_running_loop()
    clients = [(await loop.create_connection(lambda: Client(run), host, port))[1]
               for _ in range(args.concurrency)]  # fmt: skip
    await asyncio.gather(*(c.lost for c in clients))
    elapsed, cpu = time.monotonic() - t0, tree_cpu_s(args.watch_pid) - cpu0
    side = sum(tree_cpu_s(pid) for pid in args.side_pid) - sum(side0)
    return {"per_s": run.ok / elapsed, "ok": run.ok, "errors": run.errors,
            "first_error": run.first_error, "cpu_s": cpu, "seconds": elapsed,
            "bench_cpu_s": time.process_time() - own0 + side}  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the lean load generator")
    parser.add_argument("--url", required=True)
    parser.add_argument("--kind", choices=("hotswap", "direct"), default="hotswap",
                        help="through a hotswap router, or straight to the upstream")  # fmt: skip
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--header", action="append", default=[], help="K:V, repeatable")
    parser.add_argument("--watch-pid", type=int, default=os.getpid())
    parser.add_argument("--side-pid", type=int, action="append", default=[],
                        help="a process serving the bench (the upstream, Redis): its CPU is "
                        "added to this client's own as bench_cpu_s")  # fmt: skip
    print(json.dumps(uvloop.run(main(parser.parse_args()))))

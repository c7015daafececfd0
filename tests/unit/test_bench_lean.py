"""The lean bench pair (bench/lean_upstream.py, bench/lean_client.py, bench/http1.py) that
`make bench-gateway` measures streams/s with: its HTTP reader reads what it is fed however
the bytes are cut, and its checks refuse a stream or an upstream report that differs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import lean_upstream
from fake_upstream import EVENTS
from http1 import Reader
from lean_client import Run
from loadgen import Mismatch, make_case

REQUEST = b"POST /anthropic/v1/messages HTTP/1.1\r\nHost: x\r\nx-bench-stream: 1\r\n"


def a_request(body: bytes) -> bytes:
    return REQUEST + b"x-api-key: k\r\ncontent-length: %d\r\n\r\n" % len(body) + body


def a_stream(body: bytes) -> bytes:
    start, headers, got = Reader().feed(a_request(body))[0]
    head = lean_upstream.head(start, headers, got, stream=True)
    return head + b"".join(lean_upstream.CHUNKS) + lean_upstream.LAST


def test_two_pipelined_requests_cut_at_every_byte_read_the_same() -> None:
    wire = a_request(b'{"a": 1}') + a_request(b"[" + b"7," * 5000 + b"7]")
    whole = Reader().feed(wire)
    reader, bytewise = Reader(), []
    for i in range(len(wire)):
        bytewise += reader.feed(wire[i : i + 1])
    assert bytewise == whole and len(whole) == 2
    assert whole[1][2].startswith(b"[7,7,")


def test_the_upstreams_chunked_stream_reads_back_as_its_events() -> None:
    wire = a_stream(b'{"model": "m"}')
    for cut in (1, 7, 4096):
        reader, got = Reader(), []
        for i in range(0, len(wire), cut):
            got += reader.feed(wire[i : i + cut])
        ((start, headers, body),) = got
        assert start == b"HTTP/1.1 200 OK" and body == b"".join(EVENTS)
        assert (
            headers[b"x-bench-len"] == b"14"
            and headers[b"x-bench-path"] == b"/anthropic/v1/messages"
        )


def checked_run() -> Run:
    case = make_case("hotswap", 20_000, True)
    case.up_crc, case.up_len = "0000abcd", "123"
    return Run(case, b"", 1.0)


def report(run: Run, changes: dict[bytes, bytes] | None = None) -> dict[bytes, bytes]:
    """The x-bench-* headers the upstream would send (with `changes`)."""
    path, key = run.case.up_path.encode(), run.case.up_key.encode()
    headers = {b"x-bench-crc": b"0000abcd", b"x-bench-len": b"123"}
    return {**headers, b"x-bench-path": path, b"x-bench-key": key, **(changes or {})}


def test_the_client_counts_a_right_stream_and_refuses_any_difference() -> None:
    run = checked_run()
    run.check(b"HTTP/1.1 200 OK", report(run), run.expected)
    assert run.ok == 1
    with pytest.raises(Mismatch):
        run.check(b"HTTP/1.1 200 OK", report(run), run.expected[:-1] + b"!")
    with pytest.raises(Mismatch):
        run.check(b"HTTP/1.1 200 OK", report(run, {b"x-bench-crc": b"0000abce"}), run.expected)
    with pytest.raises(Mismatch):
        run.check(b"HTTP/1.1 502 Bad Gateway", report(run), run.expected)
    assert run.ok == 1

"""`hotswap serve` cannot be starved or made to trace back by what a client sends: driven as
an attacker would, against the installed command on loopback (issue 21, items 3 and 4).

- 130 connections each promising a 1000-byte body and sending one byte, with the default
  connection cap (128): a real request beside them is answered.
- At the cap with every connection in a real request, a new one gets the documented 503
  `overloaded_error`, never a reset.
- A Content-Encoding that is not one aiohttp decodes, or data that is not what it claims:
  a 400 `invalid_request_error`, and no traceback on the router's stderr.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from conftest import backends_toml
from fakes import FakeUpstream, Reply, ThreadedFake, sse_message

HOTSWAP = Path(sys.executable).parent / "hotswap"
BODY = {"model": "claude-opus-5-5", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
SLOW_HEAD = (
    b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"x-api-key: sk-attacker\r\nContent-Length: 1000\r\n\r\n{"
)


@contextmanager
def serve(home: Path, fake: FakeUpstream, extra_toml: str = "") -> Iterator[tuple[int, Path]]:
    """`hotswap serve --port 0` on a fake Anthropic; yields its port and its stderr's file."""
    (home / "config.toml").write_text(backends_toml({"anthropic": fake.url}, extra_toml))
    env = {"HOTSWAP_HOME": str(home), "PATH": "/usr/bin:/bin", "ANTHROPIC_API_KEY": "sk-ant-k"}
    log = home / "serve.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [str(HOTSWAP), "serve", "--port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        assert proc.stdout is not None
        match = re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)\n", proc.stdout.readline())
        assert match, log.read_text()
        yield int(match.group(1)), log
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


async def post(port: int, data: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{port}/v1/messages", data=data, headers=headers) as resp,
    ):
        return resp.status, await resp.read()


def error_type(body: bytes) -> str:
    parsed = json.loads(body)
    assert parsed["type"] == "error", parsed
    return str(parsed["error"]["type"])


async def slow_body_flood(port: int, count: int) -> list[asyncio.StreamWriter]:
    """`count` connections, each with its headers and one byte of a 1000-byte body, in
    the router's hands (its answer to a status request after them is back)."""
    writers = []
    for _ in range(count):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(SLOW_HEAD)
        await writer.drain()
        writers.append(writer)
    return writers


def test_a_slow_body_flood_does_not_starve_serve(home: Path) -> None:
    async def scenario(port: int) -> list[tuple[int, bytes]]:
        flood = await slow_body_flood(port, 130)
        try:
            answers = []
            for _ in range(3):  # beside the flood, while every slow socket stays open
                answers.append(
                    await post(port, json.dumps(BODY).encode(), {"x-api-key": "sk-ant-real"})
                )
            return answers
        finally:
            for writer in flood:
                writer.close()

    with ThreadedFake("anthropic") as ant, serve(home, ant) as (port, log):
        answers = asyncio.run(scenario(port))
    for status, body in answers:
        assert status == 200, body
        assert json.loads(body)["content"][0]["text"] == "Hello from the fake."
    assert "Traceback" not in log.read_text()


def hanging(gate: threading.Event) -> Reply:
    """A reply that waits (in the fake's thread) until the test opens `gate`."""

    async def reply(request: web.Request) -> web.StreamResponse:
        await asyncio.get_running_loop().run_in_executor(None, gate.wait, 30)
        return await sse_message("late")(request)

    return reply


def test_at_the_cap_a_new_connection_gets_a_503_not_a_reset(home: Path) -> None:
    gate = threading.Event()

    async def scenario(port: int, ant: FakeUpstream) -> tuple[int, bytes, list[int]]:
        data = json.dumps({**BODY, "stream": True}).encode()
        busy = [
            asyncio.create_task(post(port, data, {"x-api-key": "sk-ant-real"})) for _ in range(4)
        ]
        deadline = time.monotonic() + 20
        while len(ant.received) < 4:  # every connection is in a request, at the upstream
            assert time.monotonic() < deadline, "the four requests never reached the fake"
            await asyncio.sleep(0.02)
        status, body = await post(port, data, {"x-api-key": "sk-ant-one-too-many"})
        gate.set()
        return status, body, [s for s, _ in await asyncio.gather(*busy)]

    with ThreadedFake("anthropic") as ant:
        ant.script(*[hanging(gate)] * 4)
        with serve(home, ant, "[router]\nmax_connections = 4\n") as (port, log):
            try:
                status, body, busy = asyncio.run(scenario(port, ant))
            finally:
                gate.set()
    assert status == 503 and error_type(body) == "overloaded_error", body
    assert "max_connections" in json.loads(body)["error"]["message"]
    assert busy == [200] * 4
    assert "Traceback" not in log.read_text()


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("gzip", b"this is not gzip"),
        ("deflate", b"nor is this deflate"),
        ("gzip", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03broken"),  # a gzip header, then junk
        ("compress", json.dumps(BODY).encode()),  # an encoding aiohttp does not decode
        ("gzip, gzip", json.dumps(BODY).encode()),  # two: aiohttp decodes neither
        ("br", b"not brotli"),  # or no Brotli package to decode it
    ],
)
def test_a_bad_content_encoding_is_a_400_without_a_traceback(
    home: Path, encoding: str, data: bytes
) -> None:
    headers = {"x-api-key": "sk-ant-k", "Content-Type": "application/json"}
    with ThreadedFake("anthropic") as ant, serve(home, ant) as (port, log):
        status, body = asyncio.run(post(port, data, {**headers, "Content-Encoding": encoding}))
        ok, _ = asyncio.run(post(port, json.dumps(BODY).encode(), headers))  # still serving
    assert status == 400 and error_type(body) == "invalid_request_error", body
    assert ok == 200
    assert len(ant.received) == 1  # only the good request went on
    assert "Traceback" not in log.read_text()

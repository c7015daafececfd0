"""Slow and idle client sockets cannot starve a router (inbound.py): a bounded soak on
loopback with short timeouts. Every slow socket is closed within its timeout, with or
without the session secret, and a real request is answered all along."""

from __future__ import annotations

import asyncio
import json
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from conftest import backends_toml
from fakes import ThreadedFake, sse_message

SECRET = "soaksecret"
LIMITS = """
[router]
header_timeout_s = 1
body_timeout_s = 1
keepalive_timeout_s = 1
max_connections = {cap}
"""
SLACK_S = 1.0  # the timers run on a shared 2-core machine
BODY = {"model": "claude-opus-5-5", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}


def head(path: str, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{extra}"
    ).encode()


CHUNKED = 'Transfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n'

# name -> (bytes sent, seconds it may stay open)
SLOW = {
    "silent": (b"", 1.0),
    "half a header, with secret": (head(f"/s/{SECRET}/v1/messages"), 1.0),
    # refused as soon as the request line is read
    "half a header, no secret": (head("/v1/messages"), 0.0),
    "half a request line, no secret": (b"POST /v1/mess", 1.0),
    "a wrong secret": (head("/s/wrong/v1/messages"), 0.0),
    "endless chunked body, with secret": (head(f"/s/{SECRET}/v1/messages", CHUNKED), 1.0),
    # refused as soon as its headers are read
    "endless chunked body, no secret": (head("/v1/messages", CHUNKED), 0.0),
    "short of its content-length, with secret": (
        head(f"/s/{SECRET}/v1/messages", "Content-Length: 1000\r\n\r\n") + b'{"model"',
        1.0,
    ),
}


async def open_slow(port: int, data: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if data:
        writer.write(data)
        await writer.drain()
    return reader, writer


async def seconds_until_closed(reader: asyncio.StreamReader, started: float) -> float:
    try:
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass
    return time.monotonic() - started


async def real_request(url: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/s/{SECRET}/v1/messages", json={**BODY, "stream": True}) as resp,
    ):
        await resp.read()
        return resp.status


@pytest.mark.parametrize("per_kind", [5])
async def test_slow_sockets_are_closed_in_time_and_never_block_a_real_request(
    fakes, make_router, per_kind: int
) -> None:
    ant = await fakes("anthropic")
    ant.script(*[sse_message("ok")] * 20)
    router = await make_router(
        {"anthropic": ant.url},
        secret=SECRET,
        extra_toml=LIMITS.format(cap=128),
        env={"ANTHROPIC_API_KEY": "sk-ant-soak"},
    )
    started = time.monotonic()
    slow = [
        (name, allowed, await open_slow(router.running.port, data))
        for name, (data, allowed) in SLOW.items()
        for _ in range(per_kind)
    ]
    watches = [
        asyncio.create_task(seconds_until_closed(reader, started)) for _, _, (reader, _) in slow
    ]
    # A real request, several times, while every slow socket is open.
    for _ in range(3):
        t0 = time.monotonic()
        assert await real_request(router.url) == 200
        assert time.monotonic() - t0 < 1.0
    async with asyncio.timeout(max(a for _, a in SLOW.values()) + SLACK_S + 2):
        closed = await asyncio.gather(*watches)
    for (name, allowed, (_, writer)), seconds in zip(slow, closed, strict=True):
        assert seconds <= allowed + SLACK_S, f"{name}: open for {seconds:.2f}s"
        writer.close()
    assert len(router.running.conns.open) == 0
    assert await real_request(router.url) == 200


LONG_TIMEOUTS = LIMITS.format(cap=8).replace("= 1\n", "= 30\n")


@pytest.mark.parametrize(
    "data",
    [
        head("/v1/messages", CHUNKED),  # an endless body
        head("/v1/messages"),  # half a header
        b"GET /s/wrong/_hotswap/status HTTP/1.1\r\n",  # a wrong secret, half a header
    ],
    ids=["endless body", "half a header", "wrong secret"],
)
async def test_without_the_secret_the_connection_closes_once_the_path_is_read(
    fakes, make_router, data: bytes
) -> None:
    ant = await fakes("anthropic")
    router = await make_router({"anthropic": ant.url}, secret=SECRET, extra_toml=LONG_TIMEOUTS)
    started = time.monotonic()
    reader, writer = await open_slow(router.running.port, data)
    async with asyncio.timeout(5):
        answer = await reader.read()  # to EOF: the router closed it
    assert time.monotonic() - started < 1.0  # not the 30 s header or body timeout
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 401 Unauthorized"
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["type"] == "error" and body["error"]["type"] == "authentication_error"
    writer.close()


async def test_an_idle_keepalive_connection_is_closed_after_keepalive_timeout(
    fakes, make_router
) -> None:
    ant = await fakes("anthropic")
    router = await make_router(
        {"anthropic": ant.url}, secret=SECRET, extra_toml=LIMITS.format(cap=8)
    )
    request = f"GET /s/{SECRET}/_hotswap/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    reader, writer = await open_slow(router.running.port, request)
    started = time.monotonic()
    assert (await reader.readline()).startswith(b"HTTP/1.1 200")
    async with asyncio.timeout(1 + SLACK_S + 2):
        seconds = await seconds_until_closed(reader, started)
    assert 0.5 < seconds <= 1 + SLACK_S
    writer.close()


async def test_at_the_connection_cap_idle_sockets_make_room_for_a_real_request(
    fakes, make_router
) -> None:
    ant = await fakes("anthropic")
    ant.script(sse_message("ok"))
    router = await make_router(
        {"anthropic": ant.url},
        secret=SECRET,
        extra_toml=LIMITS.format(cap=8).replace("header_timeout_s = 1", "header_timeout_s = 30"),
        env={"ANTHROPIC_API_KEY": "sk-ant-soak"},
    )
    idle = [await open_slow(router.running.port, b"") for _ in range(20)]
    await asyncio.sleep(0)  # let the router accept them
    t0 = time.monotonic()
    assert await real_request(router.url) == 200
    assert time.monotonic() - t0 < 1.0
    live = [c for c in router.running.conns.open if c.transport is not None]
    assert len(live) <= 8
    for _, writer in idle:
        writer.close()


def test_400_idle_sockets_cannot_starve_a_serve_router_under_a_256_fd_limit(
    home: Path,
) -> None:
    """The issue's scenario, as a user runs it: `hotswap serve` with 256 file descriptors,
    400 sockets that send nothing (no timeout fires within the test), then real requests.
    Without the connection cap the router runs out of descriptors and resets them."""
    with ThreadedFake("anthropic") as ant:
        toml = backends_toml({"anthropic": ant.url}, "[router]\nheader_timeout_s = 60\n")
        (home / "config.toml").write_text(toml)
        env = {"HOTSWAP_HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "hotswap"), "serve", "--port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256)),
        )
        idle: list[socket.socket] = []
        try:
            assert proc.stdout is not None
            port = int(proc.stdout.readline().rsplit(":", 1)[1])
            for _ in range(400):
                idle.append(socket.create_connection(("127.0.0.1", port), timeout=10))
            for _ in range(3):
                status, _ = asyncio.run(stream_once(f"http://127.0.0.1:{port}"))
                assert status == 200
        finally:
            for sock in idle:
                sock.close()
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
        assert proc.stderr is not None
        log = proc.stderr.read()
    assert "Traceback" not in log and "Too many open files" not in log


async def stream_once(url: str) -> tuple[int, bytes]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{url}/v1/messages", json={**BODY, "stream": True}, headers={"x-api-key": "sk-a"}
        ) as resp,
    ):
        return resp.status, await resp.read()

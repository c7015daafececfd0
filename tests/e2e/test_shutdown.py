"""`hotswap serve` stops on SIGINT/SIGTERM while a stream is in flight: it stops accepting
at once, gives the stream `shutdown_grace_s`, then ends it with one SSE `error` event and
exits; a second signal cuts at once. One line says what it is doing, one that it is done."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from conftest import backends_toml
from fakes import Reply, ThreadedFake, encode_events, message_events

HOTSWAP = Path(sys.executable).parent / "hotswap"
BODY = {
    "model": "claude-opus-5-5",
    "max_tokens": 5,
    "stream": True,
    "messages": [{"role": "user", "content": "x"}],
}


def slow_stream(seconds: float = 20.0) -> Reply:
    """The first events at once, then a ping every 100 ms: a stream still running."""

    async def reply(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(encode_events(message_events("slow")[:3]))
        try:
            for _ in range(int(seconds * 10)):
                await asyncio.sleep(0.1)
                await resp.write(b'event: ping\ndata: {"type": "ping"}\n\n')
        except ConnectionError:
            pass
        return resp

    return reply


@contextmanager
def serve(home: Path, grace_s: float) -> Iterator[tuple[subprocess.Popen[str], str]]:
    with ThreadedFake("anthropic") as ant:
        ant.script(slow_stream())
        toml = backends_toml({"anthropic": ant.url}, f"[router]\nshutdown_grace_s = {grace_s}\n")
        (home / "config.toml").write_text(toml)
        env = {"HOTSWAP_HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        proc = subprocess.Popen(
            [str(HOTSWAP), "serve", "--port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            match = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+)\n", line)
            assert match, line
            yield proc, match.group(1)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)


async def stream_until_signalled(
    url: str, proc: subprocess.Popen[str], signals: list[float]
) -> tuple[bytes, float]:
    """Open a stream, send the signals (each after the given pause) once its first event
    arrived; return everything the client got and how long the router took to exit."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/v1/messages", json=BODY, headers={"x-api-key": "sk-ant-client"}) as resp,
    ):
        assert resp.status == 200
        got = await resp.content.readuntil(b"\n\n")
        start = time.monotonic()
        for pause in signals:
            await asyncio.sleep(pause)
            proc.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(30):
                got += await resp.content.read()
        except aiohttp.ClientPayloadError:
            pass
    await asyncio.to_thread(proc.wait, 30)
    return got, time.monotonic() - start


def test_sigint_ends_a_stream_in_flight_with_an_error_event_within_the_grace(
    home: Path,
) -> None:
    with serve(home, grace_s=1) as (proc, url):
        got, took = asyncio.run(stream_until_signalled(url, proc, [0]))
        assert proc.returncode == 0
        assert took < 1 + 1.0, f"exited after {took:.2f}s"
        assert got.count(b"event: error\n") == 1
        assert b"shutting down" in got
        assert got.rstrip().endswith(b"}")  # the error event is the stream's last word
        assert proc.stderr is not None
        lines = proc.stderr.read().splitlines()
    assert "hotswap: stopping (1 request in flight, up to 1 s)" in lines
    assert "hotswap: stopped (1 request cut)" in lines
    assert not any("Traceback" in line for line in lines)


def test_a_second_sigint_cuts_at_once(home: Path) -> None:
    with serve(home, grace_s=30) as (proc, url):
        got, took = asyncio.run(stream_until_signalled(url, proc, [0, 0.3]))
        assert proc.returncode == 0
        assert took < 0.3 + 1.0, f"exited after {took:.2f}s"
        assert got.count(b"event: error\n") == 1


def test_sigterm_with_nothing_in_flight_stops_at_once_and_says_so(home: Path) -> None:
    with serve(home, grace_s=3) as (proc, url):
        port = int(url.rsplit(":", 1)[1])
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        assert time.monotonic() - start < 1.5
        assert proc.stderr is not None
        assert proc.stderr.read().splitlines() == ["hotswap: stopped"]
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), 1):
        pass


def test_new_connections_are_refused_at_once_while_a_stream_finishes(home: Path) -> None:
    async def scenario(url: str, proc: subprocess.Popen[str]) -> bytes:
        port = int(url.rsplit(":", 1)[1])
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{url}/v1/messages", json=BODY, headers={"x-api-key": "sk-ant-client"}
            ) as resp,
        ):
            await resp.content.readuntil(b"\n\n")
            proc.send_signal(signal.SIGINT)
            deadline = time.monotonic() + 5  # generous: a loaded CI machine
            while True:  # the listening socket closes at once (poll: no fixed sleep)
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except (ConnectionRefusedError, ConnectionResetError):  # closed, or closing
                    break
                writer.close()
                assert time.monotonic() < deadline, "still accepting after SIGINT"
                await asyncio.sleep(0.02)
            more = await resp.content.readuntil(b"\n\n")  # the stream still runs
            proc.send_signal(signal.SIGINT)
            return more

    with serve(home, grace_s=30) as (proc, url):
        more = asyncio.run(scenario(url, proc))
        assert more.startswith(b"event: ")
        proc.wait(10)
        assert proc.returncode == 0

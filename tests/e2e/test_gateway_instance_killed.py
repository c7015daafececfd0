"""Two `hotswap gateway` processes on one PostgreSQL and Redis, one killed (SIGKILL) in the
middle of a stream: its client gets a reset, not a truncated answer passed off as whole;
the next request works on the other instance, with the same user's mode; and the other
instance's exchanges are all in the ledger."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from cli_run import BIN
from conftest import backends_toml
from fakes import FakeUpstream, GatedSSE, encode_events, message_events
from services import Postgres, Redis

psycopg = pytest.importorskip("psycopg", reason="the gateway extra: pip install '.[gateway]'")

from hotswap.gateway.database import Database  # noqa: E402
from hotswap.gateway.keys import KeyStore  # noqa: E402

BODY = {"model": "claude-opus-5-5", "max_tokens": 64, "stream": True,
        "messages": [{"role": "user", "content": "hi"}]}  # fmt: skip


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Postgres, Redis]]:
    folder = Path(tempfile.mkdtemp(prefix="hotswap-pg-kill-"))  # (see test_gateway.py)
    pg = Postgres(folder).start()
    redis = Redis(tmp_path_factory.mktemp("redis")).start()
    yield pg, redis
    redis.stop()
    pg.stop()
    shutil.rmtree(folder, ignore_errors=True)


async def start_instance(
    env: dict[str, str], database: str, redis: str
) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "hotswap"), "gateway", "--listen", "127.0.0.1:0", "--database", database,
        "--redis", redis, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    found = re.fullmatch(r"gateway listening on (http://127\.0\.0\.1:\d+)\n", line)
    assert found, line
    return proc, found.group(1)


@pytest.fixture
async def instances(
    services: tuple[Postgres, Redis], tmp_path: Path
) -> AsyncIterator[tuple[list[asyncio.subprocess.Process], list[str], str, str, FakeUpstream]]:
    pg, redis = services
    redis.flush()
    database = pg.new_database()
    anthropic = await FakeUpstream().start()
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "config.toml").write_text(backends_toml({"anthropic": anthropic.url}))
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "HOTSWAP_HOME": str(home),
        "ANTHROPIC_API_KEY": "sk-" + "ant-killed-1234567",  # (built: no key-shaped literal)
        "DEEPSEEK_API_KEY": "sk-" + "ds-7654321",
    }
    db = Database(database)
    await db.migrate()
    key = await KeyStore(db).create("alice")
    await db.close()
    procs: list[asyncio.subprocess.Process] = []
    urls: list[str] = []
    for _ in range(2):
        proc, url = await start_instance(env, database, redis.url)
        procs.append(proc)
        urls.append(url)
    yield procs, urls, key, database, anthropic
    for proc in procs:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await proc.wait()
    await anthropic.stop()


async def test_a_killed_instance_loses_only_its_own_stream(
    instances: tuple[list[asyncio.subprocess.Process], list[str], str, str, FakeUpstream],
) -> None:
    procs, (one, two), key, database, anthropic = instances
    events = encode_events(message_events("the whole answer", input_tokens=10))
    cut = events.index(b"event: content_block_delta")
    gated = GatedSSE(events[:cut], events[cut:])
    anthropic.script(gated)
    headers = {"anthropic-version": "2023-06-01", "authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession() as client:
        async with client.post(one + "/v1/messages", json=BODY, headers=headers) as resp:
            assert resp.status == 200
            first = await resp.content.readuntil(b"\n\n")
            assert b"message_start" in first
            os.kill(procs[0].pid, signal.SIGKILL)
            with pytest.raises((aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError)):
                while await resp.content.readany():
                    pass  # the rest never comes: a reset, not an answer that looks whole
        gated.gate.set()
        async with client.post(two + "/v1/messages", json=BODY, headers=headers) as resp:
            assert resp.status == 200
            text = await resp.text()
    assert "message_stop" in text
    async with await psycopg.AsyncConnection.connect(database, autocommit=True) as conn:
        for _ in range(200):  # the ledger is written off the hot path: poll, bounded
            cur = await conn.execute("SELECT count(*), min(outcome) FROM gateway_exchanges")
            row = await cur.fetchone()
            if row and row[0] >= 1:
                break
            await asyncio.sleep(0.05)
    assert row is not None and (row[0], row[1]) == (1, "ok")  # the survivor's exchange


async def test_a_gateway_runs_tuned_as_serve_does(
    instances: tuple[list[asyncio.subprocess.Process], list[str], str, str, FakeUpstream],
) -> None:
    """uvloop and the rest of config/tuning.py (it ran on asyncio's own loop: py-spy showed
    BaseEventLoop._run_once at the top of every sample)."""
    pytest.importorskip("uvloop")
    for proc in instances[0]:
        assert "uvloop" in Path(f"/proc/{proc.pid}/maps").read_text()

"""`hotswap gateway --workers 2`, the installed command against a real PostgreSQL and Redis:
connections land on both workers (each status names its pid), a key revoked is refused by
both within a second, a worker killed is restarted, and SIGTERM stops them all."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from cli_run import BIN, user_env
from gateway_team import ANT_KEY, DS_KEY, Team, ask, postgres_fixture, redis_fixture, team_fixture  # noqa: F401
from hotswap.gateway.database import Database
from hotswap.gateway.keys import LOOKUP_TTL_S, KeyStore

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT")


async def _pid(url: str, key: str) -> int:
    """One new connection's answer: the pid of the worker that took it."""
    headers = {"authorization": f"Bearer {key}"}
    async with (
        aiohttp.ClientSession() as client,  # a new connection each time
        client.get(url + "/_hotswap/status", headers=headers) as resp,
    ):
        assert resp.status == 200
        return int((await resp.json())["pid"])


async def _pids(url: str, key: str, want: int) -> set[int]:
    seen: set[int] = set()
    for _ in range(200):  # the kernel spreads connections by their ports' hash: bounded
        seen.add(await _pid(url, key))
        if len(seen) >= want:
            break
    return seen


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_two_workers_share_the_port(team: Team, tmp_path: Path) -> None:
    alice = await team.key("alice")
    env = user_env(tmp_path, team.home, DEEPSEEK_API_KEY=DS_KEY, ANTHROPIC_API_KEY=ANT_KEY)
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "hotswap"), "gateway", "--listen", "127.0.0.1:0", "--workers", "2",
        "--database", team.database, "--redis", team.redis.url, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        assert line.startswith("gateway listening on http://127.0.0.1:") and "(2 workers)" in line
        url = line.split()[3]
        workers = await _pids(url, alice, 2)
        assert len(workers) == 2 and proc.pid not in workers
        assert (await ask(url, alice))[0] == 200
        # both have looked alice's key up; revoked, both refuse it within a second
        db = Database(team.database)
        await KeyStore(db).revoke("alice")
        await db.close()
        await asyncio.sleep(LOOKUP_TTL_S + 0.05)  # the documented bound, not a readiness wait
        for _ in range(20):
            assert (await ask(url, alice))[0] == 401
        bob = await team.key("bob")
        # a worker killed is restarted: a new pid serves beside the survivor
        killed, survivor = sorted(workers)
        os.kill(killed, signal.SIGKILL)
        for _ in range(400):
            now = await _pids(url, bob, 2)
            if len(now) == 2 and killed not in now:
                break
        assert survivor in now and killed not in now and len(now) == 2
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 60) == 0
        assert not any(_alive(pid) for pid in now)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

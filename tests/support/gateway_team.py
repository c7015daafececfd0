"""The team gateway's test scene: a real PostgreSQL and Redis (services.py), fake backends,
gateway instances on them, and the two calls a user makes (a request, a switch). Test
modules import the fixtures (`from gateway_team import team_fixture, ...`); pytest finds
them by their `name`: postgres, redis_server, team."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from conftest import backends_toml
from fakes import FakeUpstream
from services import Postgres, Redis

pytest.importorskip("psycopg", reason="the gateway extra: pip install '.[gateway]'")

from hotswap.config.loading import load_config
from hotswap.gateway.database import Database
from hotswap.gateway.keys import KeyStore
from hotswap.gateway.server import RunningGateway, gateway_config, start_gateway

SESSION = "x-claude-code-session-id"
DS_KEY, ANT_KEY = "sk-ds-gateway-1234567", "sk-ant-gateway-7654321"
BODY = {"model": "claude-opus-5-5", "max_tokens": 64, "stream": True,
        "messages": [{"role": "user", "content": "hi"}]}  # fmt: skip


@pytest.fixture(scope="session", name="postgres")
def postgres_fixture() -> Iterator[Postgres]:
    # Not under pytest's tmp folder: that one is root's alone, and the server runs as
    # `postgres` when the tests run as root.
    folder = Path(tempfile.mkdtemp(prefix="hotswap-pg-"))
    pg = Postgres(folder).start()
    yield pg
    pg.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session", name="redis_server")
def redis_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    server = Redis(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@dataclass
class Team:
    """Fake backends, a fresh database, a flushed Redis, and gateway instances on them."""

    home: Path
    database: str
    redis: Redis
    deepseek: FakeUpstream
    anthropic: FakeUpstream
    instances: list[RunningGateway] = field(default_factory=list)

    async def start(self) -> str:
        keys = {"DEEPSEEK_API_KEY": DS_KEY, "ANTHROPIC_API_KEY": ANT_KEY}
        config = gateway_config(load_config(), keys)
        running = await start_gateway(config, self.database, self.redis.url)
        self.instances.append(running)
        return f"http://127.0.0.1:{running.port}"

    async def key(self, name: str, **kwargs: Any) -> str:
        db = Database(self.database)
        try:
            await db.migrate()
            return await KeyStore(db).create(name, **kwargs)
        finally:
            await db.close()


@pytest.fixture(name="team")
async def team_fixture(home: Path, postgres: Postgres, redis_server: Redis) -> AsyncIterator[Team]:
    redis_server.flush()
    deepseek, anthropic = await FakeUpstream("deepseek").start(), await FakeUpstream().start()
    urls = {"deepseek": deepseek.url, "anthropic": anthropic.url}
    (home / "config.toml").write_text(backends_toml(urls))
    t = Team(home, postgres.new_database(), redis_server, deepseek, anthropic)
    yield t
    for running in t.instances:
        await running.stop()
    await deepseek.stop()
    await anthropic.stop()


async def ask(url: str, key: str | None, session: str | None = None, **kw: Any) -> Any:
    headers = {"anthropic-version": "2023-06-01"}
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    if session is not None:
        headers[SESSION] = session
    async with (
        aiohttp.ClientSession() as client,
        client.post(url + "/v1/messages", json=BODY, headers=headers) as resp,
    ):
        return resp.status, await resp.text()


async def switch(url: str, key: str, backend: str, session: str | None = None) -> Any:
    async with aiohttp.ClientSession() as client:
        body = {"backend": backend, **({"session": session} if session else {})}
        headers = {"authorization": f"Bearer {key}"}
        async with client.post(url + "/_hotswap/mode", json=body, headers=headers) as resp:
            return resp.status, await resp.json()


async def command(*argv: str, env: dict[str, str]) -> tuple[int, str, str]:
    """An installed command, run while this loop keeps serving the gateway."""
    from cli_run import BIN

    proc = await asyncio.create_subprocess_exec(
        str(BIN / argv[0]), *argv[1:], env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def until_rows(database: str, n: int) -> None:
    """The ledger writer is asynchronous: poll the database (bounded) for `n` rows."""
    import psycopg

    for _ in range(200):
        async with await psycopg.AsyncConnection.connect(database) as conn:
            cur = await conn.execute("SELECT count(*) FROM gateway_exchanges")
            row = await cur.fetchone()
        if row and int(row[0]) >= n:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{n} ledger rows never arrived")

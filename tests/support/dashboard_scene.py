"""What the dashboard's tests look at: sessions registered as `hotswap run` registers them,
each with its own router (secret, mode file, ledger) in this process, and a ledger with
some history.

    config = scene_config(home, {"anthropic": a.url, "deepseek": d.url})
    one = await start_session(config, "a1b2", "/work/api")
    await ask(one)                       # one exchange through that session's router
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from conftest import backends_toml
from hotswap.config.loading import Config, load_config
from hotswap.ledger.attach import RouterLedger, close_ledger, open_ledger
from hotswap.ledger.writer import LedgerWriter
from hotswap.router.app import Guard, RunningRouter, start_router
from hotswap.router.exchange import AttemptRecord, Usage
from hotswap.router.state import RouterState
from hotswap.sessions.registry import Session, new_secret, process_start_time, register
from records import record

DAY_S = 86400.0


def scene_config(home: Path, urls: dict[str, str]) -> Config:
    (home / "config.toml").write_text(backends_toml(urls))
    return load_config()


@dataclass
class LiveSession:
    session: Session
    state: RouterState
    running: RunningRouter
    ledger: RouterLedger

    @property
    def id(self) -> str:
        return self.session.id

    @property
    def mode_file(self) -> Path:
        return self.state.mode_file

    async def stop(self) -> None:
        await self.running.stop()
        await close_ledger(self.ledger)


async def start_session(
    config: Config, sid: str, cwd: str, backend: str = "anthropic"
) -> LiveSession:
    """A router for session `sid`, registered as `hotswap run` registers its own."""
    secret = new_secret()
    mode_file = config.sessions_dir / sid / "mode"
    state = RouterState(config=config, mode_file=mode_file, initial_backend=backend, session_id=sid)
    running = await start_router(state, "127.0.0.1", 0, Guard(secret=secret))
    ledger = open_ledger(state)
    pid = os.getpid()
    session = Session(
        sid, running.port, pid, cwd, time.time(), secret, backend, process_start_time(pid)
    )
    register(config.sessions_dir, session)
    return LiveSession(session, state, running, ledger)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def register_stale(config: Config, sid: str, cwd: str = "/work/old") -> Session:
    """A session whose hotswap process is gone (its record left behind)."""
    session = Session(sid, 1, dead_pid(), cwd, time.time() - 7200, "s", "anthropic", "")
    register(config.sessions_dir, session)
    return session


async def ask(live: LiveSession, text: str = "hi") -> None:
    """One streamed exchange through the session's router, as Claude Code sends it."""
    body = {
        "model": "claude-sonnet-5-5",
        "max_tokens": 16,
        "stream": True,
        "messages": [{"role": "user", "content": text}],
    }
    headers = {"x-api-key": "sk-ant-test-key", "anthropic-version": "2023-06-01"}
    url = live.session.base_url + "/v1/messages"
    async with aiohttp.ClientSession() as client, client.post(url, json=body, headers=headers) as r:
        assert r.status == 200, await r.text()
        await r.read()


async def rows_in_ledger(home: Path, count: int, timeout_s: float = 10.0) -> None:
    """Until the ledger holds `count` exchanges (routers write it every 0.25 s)."""
    deadline = time.monotonic() + timeout_s
    path = home / "ledger.db"
    while time.monotonic() < deadline:
        if path.exists():
            conn = sqlite3.connect(path)
            try:
                (n,) = conn.execute("SELECT COUNT(*) FROM exchanges").fetchone()
            finally:
                conn.close()
            if n >= count:
                return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the ledger did not reach {count} exchanges in {timeout_s} s")


def write_history(home: Path, days: int = 12, now: float | None = None) -> int:
    """Earlier days' exchanges of finished sessions, so the spend plot has a shape: some
    on Anthropic, more on DeepSeek and Kimi, one fallback. Returns how many."""
    now = time.time() if now is None else now
    writer = LedgerWriter(home / "ledger.db").start()
    count = 0
    for back in range(days, 0, -1):
        started = now - back * DAY_S
        per_day = [
            ("anthropic", "claude-sonnet-5-5", Usage(4000, 1500, 60_000, 3000), 2 + back % 3),
            ("deepseek", "deepseek-v4-pro", Usage(9000, 3000, 240_000, 0), 6 + (back * 7) % 9),
            ("kimi", "kimi-k2.7-code", Usage(7000, 2500, 90_000, 0), back % 4),
        ]
        for backend, model, usage, n in per_day:
            for i in range(n):
                writer.submit(
                    record(
                        backend,
                        session="9b1c" if back % 2 else "7e4d",
                        wire_model=model,
                        usage=usage,
                        started=started + i * 60,
                    )
                )
                count += 1
    failed = AttemptRecord("kimi", 529, "switch", "HTTP 529 overloaded_error: Overloaded")
    delivered = AttemptRecord("deepseek", 200, "deliver", "", "deepseek-v4-pro")
    writer.submit(
        record(
            "deepseek",
            session="9b1c",
            started=now - 2 * DAY_S,
            fell_back_from="kimi",
            fallback_kind="transient",
            attempts=(failed, delivered),
        )
    )
    assert writer.close(10)
    return count + 1

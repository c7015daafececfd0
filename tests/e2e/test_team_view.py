"""The team view (`hotswap dashboard --database URL`) against a real PostgreSQL: one row per
user of the gateway's ledger, right to the cent, today and over 30 days; a revoked user
without spend left out; no key material in what it answers; the dashboard's access rules;
the page in headless Chromium; and the command as a user types it."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from browser import Browser, need_browser
from cli_run import BIN, user_env
from services import Postgres

pytest.importorskip("psycopg", reason="the gateway extra: pip install '.[gateway]'")

from hotswap.config.budgets import period_start
from hotswap.dashboard.app import RunningDashboard
from hotswap.dashboard.team import start_team_view
from hotswap.figures import usd_sum
from hotswap.gateway.database import Database
from hotswap.gateway.keys import KeyStore

COLUMNS = (
    "id, user_id, user_name, started, endpoint, stream, active, backend, status, outcome,"
    " input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd,"
    " claude_usd, duration_ms"
)


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    folder = Path(tempfile.mkdtemp(prefix="hotswap-pg-team-"))  # (see test_gateway.py)
    pg = Postgres(folder).start()
    yield pg
    pg.stop()
    shutil.rmtree(folder, ignore_errors=True)


async def seed(url: str) -> dict[str, str]:
    """Four users and their exchanges; the keys made (to check none is ever answered)."""
    db = Database(url)
    await db.migrate()
    store = KeyStore(db)
    keys = {name: await store.create(name) for name in ("alice", "bob", "carol", "dave")}
    await store.create("erin", daily_usd=5.0)
    await store.revoke("carol")  # revoked, no spend: not listed
    await store.revoke("dave")  # revoked with spend: listed, as revoked
    ids = {r[1]: r[0] for r in await db.fetch("SELECT id, name FROM gateway_users")}
    now = time.time()
    today = max(period_start("daily", now), now - 60)  # a minute ago, or just after midnight
    earlier = period_start("daily", now) - 3 * 86400 + 3600  # three days ago
    rows = [
        ("alice", today, "ok", 200, 1000, 200, 0.0123, 0.25),
        ("alice", today, "ok", 200, 500, 100, 0.02, 0.2),
        ("alice", earlier, "ok", 200, 40000, 8000, 1.0, 4.0),
        ("bob", today, "ok", 200, 300, 30, None, None),  # a backend without a price
        ("bob", today, "upstream_error", 502, 0, 0, None, None),
        ("dave", earlier, "ok", 200, 100, 10, 0.5, 0.5),
        ("dave", earlier, "ok", 200, 100, 10, 0.0, None),  # priced, but not Claude's price
    ]
    await db.many(
        f"INSERT INTO gateway_exchanges ({COLUMNS})"
        " VALUES (%s, %s, %s, %s, '/v1/messages', true, 'deepseek', 'deepseek', %s, %s,"
        " %s, %s, 0, 0, %s, %s, 12.5)",
        [
            (uuid.uuid4().hex, ids[u], u, t, status, outcome, i, o, cost, claude)
            for u, t, outcome, status, i, o, cost, claude in rows
        ],
    )
    await db.close()
    return keys


@pytest.fixture
async def view(postgres: Postgres) -> AsyncIterator[tuple[RunningDashboard, dict[str, str]]]:
    url = postgres.new_database()
    keys = await seed(url)
    running = await start_team_view(url, 0)
    yield running, keys
    await running.stop()


async def get(url: str, **headers: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as client,
        client.get(url, headers=headers, allow_redirects=False) as resp,
    ):
        return resp.status, await resp.text()


async def test_one_row_per_user_right_to_the_cent(
    view: tuple[RunningDashboard, dict[str, str]],
) -> None:
    running, keys = view
    status, text = await get(f"{running.base}/team.json?token={running.token}")
    assert status == 303  # the token becomes a cookie (security.py)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        async with client.get(f"{running.base}/?token={running.token}") as page:
            assert page.status == 200 and "hotswap team" in await page.text()
        async with client.get(f"{running.base}/team.json") as resp:
            assert resp.status == 200
            text = await resp.text()
    users = {u["user"]: u for u in json.loads(text)["users"]}
    assert list(users) == ["alice", "dave", "bob", "erin"]  # by 30-day cost, then name
    alice, bob, dave, erin = users["alice"], users["bob"], users["dave"], users["erin"]
    assert alice["requests_today"] == 2 and alice["cost_today_usd"] == 0.0323
    assert (alice["cost_today"], alice["saved_today"]) == ("$0.032", "$0.42")
    assert (alice["requests"], alice["cost"], alice["saved"]) == (3, "$1.03", "$3.42")
    assert alice["tokens"] == "49.8k" and alice["key"] == "active"
    assert (bob["cost_today"], bob["saved"], bob["failed"]) == ("unknown", "unknown", 1)
    assert (dave["key"], dave["requests_today"], dave["cost"]) == ("revoked", 0, "$0.50")
    assert dave["saved"] == usd_sum(0.0, 1)  # as `hotswap cost --database` says it
    assert (erin["requests"], erin["cost"], erin["budget"]) == (0, "$0.00", "$5.00 a day")
    assert erin["last_seen"] == "-" and alice["last_seen"].endswith(" ago")
    assert "carol" not in users
    for key in keys.values():
        assert key not in text and key[-4:] not in text.replace("$", "")


async def test_the_dashboards_access_rules_hold(
    view: tuple[RunningDashboard, dict[str, str]],
) -> None:
    running, _ = view
    assert (await get(f"{running.base}/team.json"))[0] == 403  # no token
    assert (await get(f"{running.base}/team.json?token=wrong"))[0] == 403
    status, _ = await get(f"{running.base}/?token={running.token}", Origin="http://evil.test")
    assert status == 403
    status, _ = await get(f"{running.base}/?token={running.token}", Host="evil.test")
    assert status == 403


async def test_the_page_in_a_browser_shows_every_user(
    view: tuple[RunningDashboard, dict[str, str]],
) -> None:
    need_browser()
    running, _ = view
    b = await asyncio.to_thread(Browser)
    try:
        await asyncio.to_thread(b.open, running.url)
        rows = '#team-table tbody th[data-col="user"]'
        await asyncio.to_thread(b.wait, lambda: len(b.texts(rows)) == 4, "the users' rows")
        assert b.texts(rows) == ["alice", "dave", "bob", "erin"]
        cost = '#team-table tr[data-user="alice"] td[data-col="cost_today"]'
        assert b.texts(cost) == ["$0.032"]
        assert b.console_errors() == []
    finally:
        await asyncio.to_thread(b.quit)


def test_the_command_as_a_user_types_it(postgres: Postgres, tmp_path: Path) -> None:
    url = postgres.new_database()
    asyncio.run(seed(url))
    (tmp_path / "home").mkdir()
    env = user_env(tmp_path, tmp_path / "home")
    cmd = [str(BIN / "hotswap"), "dashboard", "--database", url, "--no-open"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        found = re.fullmatch(r"hotswap dashboard: (http://127\.0\.0\.1:\d+/\?token=\S+)\n", line)
        assert found, line + proc.stderr.read().decode() if proc.poll() is not None else line
        body: Any = asyncio.run(_rows(found.group(1)))
        assert [u["user"] for u in body["users"]] == ["alice", "dave", "bob", "erin"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    bad = subprocess.run(
        [str(BIN / "hotswap"), "dashboard", "--database", "postgresql://127.0.0.1:1/none"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode != 0 and "PostgreSQL" in bad.stderr and "fix:" in bad.stderr


async def _rows(url: str) -> Any:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        async with client.get(url) as page:
            assert page.status == 200
        async with client.get(url.split("/?")[0] + "/team.json") as resp:
            return await resp.json()

"""The team gateway against a real PostgreSQL and Redis (tests/support/services.py) and fake
backends: users' keys, each user switching their own sessions, two instances behaving as
one, the ledger in PostgreSQL right to the cent, and Redis or PostgreSQL going away."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from cli_run import fake_claude, user_env
from fakes import sse_message
from gateway_team import (  # noqa: F401
    ANT_KEY,
    Team,
    ask,
    command,
    postgres_fixture,
    redis_fixture,
    switch,
    team_fixture,
)
from services import Postgres

psycopg = pytest.importorskip("psycopg", reason="the gateway extra: pip install '.[gateway]'")

from hotswap.config.prices import lookup, price_table  # noqa: E402
from hotswap.gateway.database import Database  # noqa: E402
from hotswap.gateway.keys import LOOKUP_TTL_S, KeyStore  # noqa: E402
from hotswap.gateway.report import cost_lines  # noqa: E402
from hotswap.router.exchange import Usage  # noqa: E402


async def test_a_key_is_required_and_never_reaches_a_provider(team: Team) -> None:
    url = await team.start()
    alice = await team.key("alice")
    for key in (None, "hsk_not-a-real-key", "sk-ant-something"):
        status, text = await ask(url, key)
        assert status == 401 and '"type":"error"' in text.replace(" ", "")
        assert "authentication_error" in text
    status, text = await ask(url, alice)
    assert status == 200 and "Hello from the fake" in text
    got = team.anthropic.received[-1].headers
    assert got["x-api-key"] == ANT_KEY  # the gateway's own key
    assert alice not in str(dict(got)) and "authorization" not in got


async def test_a_revoked_key_is_refused_by_another_instance_within_a_second(team: Team) -> None:
    first, second = await team.start(), await team.start()
    bob = await team.key("bob")
    assert (await ask(first, bob))[0] == 200
    assert (await ask(second, bob))[0] == 200  # cached in the second instance now
    db = Database(team.database)
    await KeyStore(db).revoke("bob")
    await db.close()
    revoked = time.monotonic()
    assert LOOKUP_TTL_S <= 1.0
    await asyncio.sleep(LOOKUP_TTL_S + 0.05)  # the documented bound, not a readiness wait
    assert (await ask(second, bob))[0] == 401
    assert (await ask(first, bob))[0] == 401
    assert time.monotonic() - revoked < 1.0


async def test_users_switch_their_own_sessions_through_either_instance(team: Team) -> None:
    one, two = await team.start(), await team.start()
    alice, bob = await team.key("alice"), await team.key("bob")
    assert (await switch(one, alice, "ds", session="a1"))[0] == 200
    # alice's session a1 goes to DeepSeek on both instances, from the next request on
    for url in (one, two):
        n = len(team.deepseek.received)
        assert (await ask(url, alice, session="a1"))[0] == 200
        assert len(team.deepseek.received) == n + 1
    # alice's other session, and bob's session with the same id, stay on the default
    for key, session in ((alice, "a2"), (bob, "a1")):
        n = len(team.anthropic.received)
        assert (await ask(two, key, session=session))[0] == 200
        assert len(team.anthropic.received) == n + 1
    # bob switches all his sessions through the other instance: alice's stay as they are
    assert (await switch(two, bob, "deepseek"))[0] == 200
    n_ds, n_ant = len(team.deepseek.received), len(team.anthropic.received)
    await ask(one, bob, session="b9")
    await ask(one, alice, session="a2")
    assert len(team.deepseek.received) == n_ds + 1 and len(team.anthropic.received) == n_ant + 1
    # a user-wide switch replaces the session's own mode too
    assert (await switch(one, alice, "anthropic"))[0] == 200
    n_ant = len(team.anthropic.received)
    await ask(two, alice, session="a1")
    assert len(team.anthropic.received) == n_ant + 1


async def test_a_switch_to_a_backend_the_key_may_not_use_is_refused(team: Team) -> None:
    url = await team.start()
    carol = await team.key("carol", backends=("deepseek",))
    status, body = await switch(url, carol, "anthropic")
    assert status == 403 and body["error"]["type"] == "permission_error"
    assert (await ask(url, carol))[0] == 403  # the gateway's default is not hers either
    assert (await switch(url, carol, "deepseek"))[0] == 200
    assert (await ask(url, carol))[0] == 200


async def _rows(database: str) -> int:
    async with await psycopg.AsyncConnection.connect(database) as conn:
        cur = await conn.execute("SELECT count(*) FROM gateway_exchanges")
        row = await cur.fetchone()
        return int(row[0]) if row else 0


async def _until_rows(database: str, n: int) -> None:
    for _ in range(200):  # the writer is asynchronous: poll the database, bounded
        if await _rows(database) >= n:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{n} ledger rows never arrived")


async def test_both_instances_write_one_ledger_right_to_the_cent(team: Team) -> None:
    one, two = await team.start(), await team.start()
    alice, bob = await team.key("alice"), await team.key("bob")
    await switch(one, alice, "deepseek")
    big = {"input_tokens": 1_234_567, "output_tokens": 345_678}
    team.deepseek.script(*[sse_message(**big) for _ in range(3)])
    team.anthropic.script(*[sse_message(**big) for _ in range(2)])
    for url, key in ((one, alice), (two, alice), (one, alice), (two, bob), (one, bob)):
        assert (await ask(url, key))[0] == 200
    await _until_rows(team.database, 5)
    db = Database(team.database)
    rows = {line.key: line for line in (await cost_lines(db, "user"))[0]}
    await db.close()
    usage = Usage(1_234_567, 345_678)
    table = price_table()
    ds, ant = lookup(table, "deepseek", "deepseek-v4-pro"), lookup(table, "anthropic",
                                                                     "claude-opus-5-5")  # fmt: skip
    assert ds is not None and ant is not None
    assert rows["alice"].requests == 3 and rows["bob"].requests == 2
    assert round(rows["alice"].cost_usd, 2) == round(3 * ds.cost(usage), 2)
    assert round(rows["bob"].cost_usd, 2) == round(2 * ant.cost(usage), 2)
    saved = 3 * (ant.cost(usage) - ds.cost(usage))
    assert round(rows["alice"].savings_usd, 2) == round(saved, 2)


async def test_requests_flow_while_redis_is_down_and_switching_says_why(team: Team) -> None:
    url = await team.start()
    alice = await team.key("alice")
    await switch(url, alice, "deepseek", session="s1")
    assert (await ask(url, alice, session="s1"))[0] == 200  # the mode, now known here
    team.redis.stop()
    try:
        n = len(team.deepseek.received)
        assert (await ask(url, alice, session="s1"))[0] == 200
        assert len(team.deepseek.received) == n + 1  # on her last known mode
        status, body = await switch(url, alice, "anthropic", session="s1")
        assert status == 503 and "Redis" in body["error"]["message"]
    finally:
        team.redis.start()  # the same port
    assert (await switch(url, alice, "anthropic", session="s1"))[0] == 200
    n = len(team.anthropic.received)
    assert (await ask(url, alice, session="s1"))[0] == 200
    assert len(team.anthropic.received) == n + 1


async def test_records_spill_while_postgres_is_down_and_land_when_it_returns(
    team: Team, postgres: Postgres
) -> None:
    url = await team.start()
    alice = await team.key("alice")
    assert (await ask(url, alice))[0] == 200
    await _until_rows(team.database, 1)
    postgres.stop()
    try:
        for _ in range(3):  # her key is known: requests keep flowing
            assert (await ask(url, alice))[0] == 200
        spill = team.home / "gateway-spill.jsonl"
        for _ in range(200):
            if spill.exists() or (team.home / "gateway-spill.replaying").exists():
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("nothing spilled")
    finally:
        postgres.restart()
    await _until_rows(team.database, 4)
    assert await _rows(team.database) == 4


async def test_a_daily_budget_refuses_with_429_once_spent(team: Team) -> None:
    url = await team.start()
    dave = await team.key("dave", daily_usd=1.0)
    team.anthropic.script(sse_message(input_tokens=1_000_000, output_tokens=100_000))
    assert (await ask(url, dave))[0] == 200  # several dollars on Opus
    for _ in range(200):  # the counter is added after the exchange, off the hot path
        status, text = await ask(url, dave)
        if status == 429:
            break
        await asyncio.sleep(0.02)
    assert status == 429 and "rate_limit_error" in text and "daily budget" in text


async def test_ds_in_a_gateway_session_and_hotswap_use_gateway(team: Team, tmp_path: Path) -> None:
    url = await team.start()
    alice, bob = await team.key("alice"), await team.key("bob")
    env = user_env(tmp_path, team.home, HOTSWAP_GATEWAY_KEY=alice)
    inside = {**env, "HOTSWAP_GATEWAY": url, "HOTSWAP_GATEWAY_SESSION": "cc-1",
              "ANTHROPIC_AUTH_TOKEN": alice}  # fmt: skip
    code, out, err = await command("ds", env=inside)  # `!ds` inside that Claude Code
    assert code == 0, err
    assert "alice's session cc-1 -> deepseek" in out
    n = len(team.deepseek.received)
    assert (await ask(url, alice, session="cc-1"))[0] == 200
    assert (await ask(url, bob, session="cc-1"))[0] == 200  # bob's own session: untouched
    assert len(team.deepseek.received) == n + 1
    code, out, err = await command("hotswap", "use", "deepseek", "--gateway", url, env=env)
    assert code == 0 and "alice's every session -> deepseek" in out, err
    assert (await ask(url, alice, session="cc-2"))[0] == 200
    assert len(team.deepseek.received) == n + 2
    bad = {**env, "HOTSWAP_GATEWAY_KEY": "hsk_wrong"}
    code, _, err = await command("hotswap", "use", "ds", "--gateway", url, env=bad)
    assert code == 2 and "unknown or revoked key" in err


async def test_the_gateway_commands_as_a_user_types_them(team: Team, tmp_path: Path) -> None:
    env = user_env(tmp_path, team.home)
    db = ["--database", team.database]
    create = ("gateway", "keys", "create", "erin", "--daily-usd", "5", "--backends", "ds")
    code, out, err = await command("hotswap", *create, *db, env=env)
    key = out.strip()
    assert code == 0 and key.startswith("hsk_") and "shown once" in err
    code, out, _ = await command("hotswap", "gateway", "keys", "list", "--json", *db, env=env)
    (row,) = json.loads(out)
    assert row["name"] == "erin" and row["backends"] == "deepseek" and key not in out
    # a non-loopback gateway needs a key to exist: here one does, in another database
    empty = ["--database", team.database.rsplit("/", 1)[0] + "/postgres"]
    code, _, err = await command("hotswap", "gateway", "--listen", "0.0.0.0:0", *empty,
                                  "--redis", team.redis.url, env=env)  # fmt: skip
    assert code == 2 and "no keys exist yet" in err
    code, out, _ = await command("hotswap", "gateway", "keys", "revoke", "erin", *db, env=env)
    assert code == 0 and "revoked" in out
    code, out, _ = await command("hotswap", "gateway", "cost", "--json", *db, env=env)
    assert code == 0 and json.loads(out)["rows"] == [] and json.loads(out)["by"] == "user"
    # `hotswap run --gateway`: Claude Code with the gateway as its base URL and the key
    script = 'echo "$ANTHROPIC_BASE_URL $ANTHROPIC_AUTH_TOKEN $HOTSWAP_GATEWAY_SESSION $*"'
    claude = fake_claude(tmp_path / "bin2", script)
    run_env = {**env, "HOTSWAP_CLAUDE_BIN": str(claude), "HOTSWAP_GATEWAY_KEY": key}
    code, out, _ = await command("hotswap", "run", "--gateway", "http://gw:4000", "--", "-p",
                                  "hi", env=run_env)  # fmt: skip
    base, token, session, *args = out.split()
    assert (base, token) == ("http://gw:4000", key)
    assert args == ["--session-id", session, "-p", "hi"]

"""`hotswap cost --database URL` and `hotswap logs --database URL`, as a lead types them:
the team gateway's ledger in PostgreSQL, written by the same formatter as the SQLite
ledger's, `--by user` right to the cent against what the fake backends reported."""

from __future__ import annotations

import json
from pathlib import Path

from cli_run import user_env
from fakes import sse_message
from gateway_team import (  # noqa: F401
    Team,
    ask,
    command,
    postgres_fixture,
    redis_fixture,
    switch,
    team_fixture,
    until_rows,
)
from hotswap.config.prices import lookup, price_table
from hotswap.router.exchange import Usage

BIG = {"input_tokens": 1_234_567, "output_tokens": 345_678}


async def _team_used(team: Team) -> str:
    url = await team.start()
    alice, bob = await team.key("alice"), await team.key("bob")
    await switch(url, alice, "deepseek")
    team.deepseek.script(*[sse_message(**BIG) for _ in range(3)])
    team.anthropic.script(*[sse_message(**BIG) for _ in range(2)])
    for key in (alice, alice, alice, bob, bob):
        assert (await ask(url, key, session="s-" + key[-4:]))[0] == 200
    await until_rows(team.database, 5)
    return url


async def test_cost_by_user_right_to_the_cent(team: Team, tmp_path: Path) -> None:
    await _team_used(team)
    env, db = user_env(tmp_path, team.home), ["--database", team.database]
    code, out, err = await command("hotswap", "cost", "--by", "user", "--json", *db, env=env)
    assert code == 0, err
    rows = {row["key"]: row for row in json.loads(out)["rows"]}
    table, usage = price_table(), Usage(**BIG)
    ds, ant = lookup(table, "deepseek", "deepseek-v4-pro"), lookup(table, "anthropic",
                                                                     "claude-opus-5-5")  # fmt: skip
    assert ds is not None and ant is not None
    assert rows["alice"]["requests"] == 3 and rows["bob"]["requests"] == 2
    assert rows["alice"]["cost_usd"] == round(3 * ds.cost(usage), 6)
    assert rows["bob"]["cost_usd"] == round(2 * ant.cost(usage), 6)
    assert rows["alice"]["savings_usd"] == round(3 * (ant.cost(usage) - ds.cost(usage)), 6)
    code, text, _ = await command("hotswap", "cost", "--by", "user", *db, env=env)
    assert code == 0 and text.split("\n")[0].split()[:2] == ["USER", "REQ"]
    cents = f"${3 * ds.cost(usage):,.2f}"
    assert any(line.startswith("alice") and cents in line for line in text.splitlines())
    # the alias, and the other groupings the gateway's ledger has
    code, alias, _ = await command("hotswap", "gateway", "cost", "--days", "7", "--json", *db,
                                   env=env)  # fmt: skip
    assert code == 0 and json.loads(alias)["rows"] == json.loads(out)["rows"]
    for by, keys in (("backend", {"deepseek", "anthropic"}), ("route", {"(mode)"})):
        code, out, err = await command("hotswap", "cost", "--by", by, "--since", "7d", "--json",
                                       *db, env=env)  # fmt: skip
        assert code == 0 and {r["key"] for r in json.loads(out)["rows"]} == keys, err


async def test_by_user_needs_a_database_and_day_is_not_the_gateways(
    team: Team, tmp_path: Path
) -> None:
    env = user_env(tmp_path, team.home)
    code, _, err = await command("hotswap", "cost", "--by", "user", env=env)
    assert code == 2 and "--by user" in err and "--database" in err
    code, _, err = await command("hotswap", "cost", "--by", "day", "--database",
                                 team.database, env=env)  # fmt: skip
    assert code == 2 and "cannot group the gateway's ledger by 'day'" in err


async def test_logs_from_the_gateways_ledger(team: Team, tmp_path: Path) -> None:
    await _team_used(team)
    env, db = user_env(tmp_path, team.home), ["--database", team.database]
    code, out, err = await command("hotswap", "logs", "-n", "4", *db, env=env)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 4 and [line.split()[2] for line in lines] == [
        "alice", "alice", "bob", "bob"]  # fmt: skip
    code, out, _ = await command("hotswap", "logs", "--json", "-n", "1", *db, env=env)
    (entry,) = [json.loads(line) for line in out.splitlines()]
    assert entry["user"] == "bob" and entry["backend"] == "anthropic" and entry["cost_usd"] > 0


async def test_the_gateways_record_is_the_personal_ledgers_plus_the_user(
    team: Team, tmp_path: Path
) -> None:
    import aiohttp
    import psycopg

    from fakes import json_error
    from hotswap.ledger.rows import EXCHANGE_COLUMNS

    (team.home / "config.toml").write_text(
        f'[backends.deepseek]\nbase_url = "{team.deepseek.url}"\n\n'
        f'[backends.anthropic]\nbase_url = "{team.anthropic.url}"\nfallback = ["deepseek"]\n'
    )
    url = await team.start()
    cara = await team.key("cara")
    team.anthropic.script(json_error(402, "billing_error", "credit balance too low"))
    headers = {"authorization": f"Bearer {cara}", "anthropic-version": "2023-06-01",
               "x-claude-code-session-id": "conv-1",
               "x-claude-code-agent-id": "agent-7"}  # fmt: skip
    body = {"model": "claude-opus-5-5", "max_tokens": 64, "stream": True,
            "messages": [{"role": "user", "content": "hi"}]}  # fmt: skip
    async with (
        aiohttp.ClientSession() as client,
        client.post(url + "/v1/messages", json=body, headers=headers) as resp,
    ):
        assert resp.status == 200
        await resp.read()
    await until_rows(team.database, 1)
    async with await psycopg.AsyncConnection.connect(team.database) as conn:
        cur = await conn.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = 'gateway_exchanges'"
        )
        columns = {name for (name,) in await cur.fetchall()}
    assert set(EXCHANGE_COLUMNS) - {"exchange_id"} <= columns  # every field, plus the user's
    env, db = user_env(tmp_path, team.home), ["--database", team.database]
    code, out, err = await command("hotswap", "logs", "--json", "-n", "1", *db, env=env)
    assert code == 0, err
    entry = json.loads(out)
    assert entry["user"] == "cara" and entry["backend"] == "deepseek"
    assert entry["conversation"] == "conv-1" and entry["agent"] == "agent-7"
    assert entry["stop_reason"] == "end_turn"
    assert entry["request_bytes"] > 0 and entry["response_bytes"] > 0
    first, second = entry["attempts"]
    assert (first["backend"], first["status"]) == ("anthropic", 402)
    assert "credit balance" in first["reason"] and second["verdict"] == "deliver"
    code, out, _ = await command("hotswap", "logs", "-n", "1", *db, env=env)
    assert "fell back from anthropic" in out and "credit balance" in out  # the reason, too
    for by, key in (("agent", "agent-7"), ("conversation", "conv-1")):
        code, out, err = await command("hotswap", "cost", "--by", by, "--json", *db, env=env)
        assert code == 0 and [r["key"] for r in json.loads(out)["rows"]] == [key], err

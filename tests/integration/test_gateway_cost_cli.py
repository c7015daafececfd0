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

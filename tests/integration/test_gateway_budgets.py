"""A key's daily budget on the team gateway, against a real PostgreSQL and Redis: at the
limit its requests go to the key's cheaper backend (`--then`) or get a 429 with
`retry-after`; two instances spending at once overshoot by at most the requests in flight;
the counters are reconciled with the ledger when an instance starts (a Redis that restarted
empty gives nobody a fresh day); with Redis down, budgets fail open or closed as configured.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from cli_run import user_env
from fakes import sse_message

pytest.importorskip("psycopg", reason="the gateway extra: pip install '.[gateway]'")

from gateway_team import (  # noqa: F401
    BODY,
    Team,
    command,
    postgres_fixture,
    redis_fixture,
    team_fixture,
    until_rows,
)

EXPENSIVE = {"input_tokens": 1_000_000, "output_tokens": 100_000}  # ~$7.50 on Opus


async def ask(url: str, key: str) -> tuple[int, str, dict[str, str]]:
    headers = {"anthropic-version": "2023-06-01", "authorization": f"Bearer {key}"}
    async with (
        aiohttp.ClientSession() as client,
        client.post(url + "/v1/messages", json=BODY, headers=headers) as resp,
    ):
        return resp.status, await resp.text(), {k.lower(): v for k, v in resp.headers.items()}


async def until_status(url: str, key: str, status: int) -> tuple[int, str, dict[str, str]]:
    """Ask until the answer has `status` (the counter is added after each exchange, off
    the hot path), at most 200 times."""
    for _ in range(200):
        found = await ask(url, key)
        if found[0] == status:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"never {status}: {found[:2]}")


async def test_past_the_budget_the_keys_cheaper_backend_answers(team: Team) -> None:
    url = await team.start()
    frank = await team.key("frank", daily_usd=1.0, then="deepseek")
    team.anthropic.script(*[sse_message(**EXPENSIVE) for _ in range(3)])
    assert (await ask(url, frank))[0] == 200
    before = len(team.deepseek.received)
    await until_status(url, frank, 200)
    for _ in range(200):
        if len(team.deepseek.received) > before:
            break
        assert (await ask(url, frank))[0] == 200
        await asyncio.sleep(0.02)
    assert len(team.deepseek.received) > before  # no 429: deepseek took over
    assert len(team.anthropic.received) <= 3


async def test_past_the_budget_a_429_says_when_it_resets(team: Team) -> None:
    url = await team.start()
    gail = await team.key("gail", daily_usd=1.0)
    team.anthropic.script(sse_message(**EXPENSIVE))
    assert (await ask(url, gail))[0] == 200
    _, text, headers = await until_status(url, gail, 429)
    assert "rate_limit_error" in text and "$1.00" in text and "00:00 UTC" in text
    assert 1 <= int(headers["retry-after"]) <= 86400


async def test_two_instances_at_once_overshoot_by_at_most_the_requests_in_flight(
    team: Team,
) -> None:
    one, two = await team.start(), await team.start()
    hana = await team.key("hana", daily_usd=1.0)
    all_in, arrived = asyncio.Event(), []

    async def held(request: web.Request) -> web.StreamResponse:
        arrived.append(request)  # each answer waits until all six are in flight
        if len(arrived) == 6:
            all_in.set()
        await all_in.wait()
        return await sse_message(**EXPENSIVE)(request)

    team.anthropic.script(*[held] * 6)
    at_once = [ask(url, hana) for url in (one, two, one, two, one, two)]
    answers = await asyncio.gather(*at_once)
    assert [a[0] for a in answers] == [200] * 6
    await until_status(one, hana, 429)
    assert (await ask(two, hana))[0] == 429  # the other instance reads the same counter
    assert len(team.anthropic.received) == 6  # nothing past what was in flight


async def test_a_redis_that_restarted_empty_is_reconciled_from_the_ledger(team: Team) -> None:
    url = await team.start()
    ida = await team.key("ida", daily_usd=1.0)
    team.anthropic.script(sse_message(**EXPENSIVE))
    assert (await ask(url, ida))[0] == 200
    await until_rows(team.database, 1)
    team.redis.flush()  # the counters are gone, as after a restart without persistence
    assert (await ask(url, ida))[0] == 200  # this instance cannot know
    fresh = await team.start()  # a new instance reconciles from the ledger first
    assert (await ask(fresh, ida))[0] == 429


async def test_with_redis_down_budgets_fail_open_or_closed_as_configured(team: Team) -> None:
    config = team.home / "config.toml"
    config.write_text(config.read_text() + '\n[gateway]\nbudgets_when_redis_down = "closed"\n')
    closed = await team.start()
    jo, kim = await team.key("jo", daily_usd=50.0), await team.key("kim")
    config.write_text(config.read_text().replace('"closed"', '"open"'))
    opened = await team.start()
    team.redis.stop()
    try:
        status, text, _ = await ask(closed, jo)
        assert status == 503 and "budget cannot be checked" in text
        assert (await ask(closed, kim))[0] == 200  # no budget: nothing to check
        assert (await ask(opened, jo))[0] == 200
    finally:
        team.redis.start()
    assert (await ask(closed, jo))[0] == 200


async def test_then_as_a_user_types_it(team: Team, tmp_path: Path) -> None:
    env = user_env(tmp_path, team.home)
    db = ["--database", team.database]
    code, _, err = await command("hotswap", "gateway", "keys", "create", "lee", "--then",
                                  "ds", *db, env=env)  # fmt: skip
    assert code != 0 and "--then needs --daily-usd" in err
    create = ("gateway", "keys", "create", "lee", "--daily-usd", "2", "--then", "ds")
    code, out, _ = await command("hotswap", *create, *db, env=env)
    assert code == 0 and out.startswith("hsk_")
    code, out, _ = await command("hotswap", "gateway", "keys", "list", *db, env=env)
    assert "lee" in out and "$2.00/day, then deepseek" in out

"""What the gateway asks Redis per request, counted by Redis itself (INFO commandstats),
against a real PostgreSQL and Redis: a request reads its mode and its user's budget
counter in one MGET; users without a budget are counted in one pipeline per flush, not
one round trip per exchange, and what they owe is counted when an instance stops."""

from __future__ import annotations

import asyncio

import pytest
import redis
from aiohttp import web

from fakes import sse_message

pytest.importorskip("psycopg", reason="the gateway extra: pip install '.[gateway]'")

from gateway_team import (  # noqa: F401
    Team,
    ask,
    postgres_fixture,
    redis_fixture,
    team_fixture,
)
from hotswap.gateway.budget import _key

SPEND = {"input_tokens": 100_000, "output_tokens": 10_000}


def client(team: Team) -> redis.Redis:
    return redis.Redis.from_url(team.redis.url)


def calls(team: Team) -> dict[str, int]:
    """Redis's count of each command since the last CONFIG RESETSTAT."""
    with client(team) as r:
        stats = r.info("commandstats")
    return {name.removeprefix("cmdstat_"): v["calls"] for name, v in stats.items()}


def reset(team: Team) -> None:
    with client(team) as r:
        r.config_resetstat()


def counter(team: Team, uid: int) -> float:
    with client(team) as r:
        return float(r.get(_key(uid)) or 0)


async def held_answers(team: Team, n: int) -> None:
    """Script `n` answers that all wait until the n-th request arrives, so the n exchanges
    finish together."""
    all_in, arrived = asyncio.Event(), []

    async def held(request: web.Request) -> web.StreamResponse:
        arrived.append(request)
        if len(arrived) == n:
            all_in.set()
        await all_in.wait()
        return await sse_message(**SPEND)(request)

    team.anthropic.script(*[held] * n)


async def test_a_request_reads_its_mode_and_budget_in_one_round_trip(team: Team) -> None:
    url = await team.start()
    mia = await team.key("mia", daily_usd=100.0)
    reset(team)
    for _ in range(5):
        assert (await ask(url, mia, session="s-1"))[0] == 200
    seen = calls(team)
    assert seen.get("mget") == 5
    assert "get" not in seen  # the counter came with the mode


async def test_spend_without_a_budget_is_counted_per_flush_not_per_exchange(
    team: Team,
) -> None:
    url = await team.start()
    ned = await team.key("ned")
    await held_answers(team, 6)
    reset(team)
    answers = await asyncio.gather(*[ask(url, ned) for _ in range(6)])
    assert [a[0] for a in answers] == [200] * 6
    each = None
    for _ in range(100):
        await asyncio.sleep(0.05)
        spent = counter(team, 1)
        if spent > 0 and calls(team).get("incrbyfloat", 0) >= 1:
            each = spent
            break
    assert each is not None, "never counted"
    await asyncio.sleep(0.3)  # one more flush window: nothing left to count
    assert calls(team)["incrbyfloat"] <= 2  # six exchanges, one or two flushes
    single = await team.key("solo")
    team.anthropic.script(sse_message(**SPEND))
    assert (await ask(url, single))[0] == 200
    for _ in range(100):
        if counter(team, 2) > 0:
            break
        await asyncio.sleep(0.05)
    assert counter(team, 1) == pytest.approx(6 * counter(team, 2))


async def test_what_users_without_a_budget_owe_is_counted_when_an_instance_stops(
    team: Team,
) -> None:
    url = await team.start()
    oli = await team.key("oli")
    team.anthropic.script(sse_message(**SPEND))
    assert (await ask(url, oli))[0] == 200
    running = team.instances.pop()
    await running.stop()  # at once: well within the flush window
    assert counter(team, 1) > 0

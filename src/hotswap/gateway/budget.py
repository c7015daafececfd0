"""Each user's spend today (UTC), a Redis counter shared by every instance: increased
(INCRBYFLOAT) after each of their exchanges, read before each request of a user with a
daily budget (`keys create --daily-usd X`). Once it is reached the user's requests go to
the key's cheaper backend (`--then NAME`), or get a 429 `rate_limit_error` naming the
budget, with `retry-after` until the next UTC midnight.

Two instances read the same counter, so the last dollar is spent once; what a budget can
be exceeded by is the requests already in flight when it is reached (each is counted when
it finishes). At start an instance reconciles the counters with the ledger in PostgreSQL
(reconcile): a Redis that restarted empty does not hand everyone a fresh day.

Redis down: as `[gateway] budgets_when_redis_down` says: "open" (the default: requests
keep flowing, nothing is counted) or "closed" (a user with a budget gets a 503 until Redis
is back).
"""

from __future__ import annotations

import asyncio
import logging
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from hotswap.errors import BudgetSpentError, HotswapError, RequestError
from hotswap.gateway.caller import User
from hotswap.gateway.database import Database

log = logging.getLogger("hotswap")

KEEP_S = 2 * 86400  # a day's counter outlives its day, then goes
DAY_S = 86400
# SET the counter to the ledger's sum unless it already holds more (another instance
# counted exchanges the ledger has not been written yet), atomically.
_RAISE_TO = """
local now = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > now then redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


def _key(uid: int, now: float | None = None) -> str:
    return f"hotswap:u:{uid}:usd:{time.strftime('%Y%m%d', time.gmtime(now))}"


def utc_midnight(now: float) -> float:
    return now - now % DAY_S


class Budgets:
    def __init__(self, client: aioredis.Redis, fail_closed: bool = False) -> None:
        self.client = client
        self.fail_closed = fail_closed
        self._pending: set[asyncio.Task[None]] = set()

    async def check(self, user: User, mode: str | None) -> str | None:
        """The mode this request goes to: `mode`, or the key's `then` backend once the
        user's spend today has reached their daily budget (else BudgetSpentError)."""
        if user.daily_usd is None:
            return mode
        try:
            spent = float(await self.client.get(_key(user.id)) or 0)
        except (RedisError, OSError, ValueError) as exc:
            if self.fail_closed:
                raise RequestError(
                    f"hotswap gateway: {user.name}'s budget cannot be checked (Redis: "
                    f'{type(exc).__name__}); budgets_when_redis_down = "closed"',
                    status=503,
                ) from None
            return mode  # Redis down, budgets open (docs/gateway.md)
        if spent < user.daily_usd:
            return mode
        if user.then is not None:
            return user.then
        now = time.time()
        raise BudgetSpentError(
            f"hotswap gateway: {user.name}'s daily budget of ${user.daily_usd:.2f} is "
            f"spent (${spent:.2f} today, UTC); it resets at 00:00 UTC",
            max(1, int(utc_midnight(now) + DAY_S - now)),
        )

    async def spent(self, uid: int) -> float | None:
        """The user's spend today (UTC); None while Redis does not answer."""
        try:
            return float(await self.client.get(_key(uid)) or 0)
        except (RedisError, OSError, ValueError):
            return None

    def add(self, user: User, usd: float) -> None:
        """After an exchange (the ledger's observer): counted in the background."""
        if usd > 0:
            task = asyncio.get_running_loop().create_task(self._add(user.id, usd))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _add(self, uid: int, usd: float) -> None:
        key = _key(uid)
        try:
            async with self.client.pipeline(transaction=False) as pipe:  # (no MULTI/EXEC:
                pipe.incrbyfloat(key, usd)  # the increment is atomic, EXPIRE idempotent)
                pipe.expire(key, KEEP_S)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("gateway budget: not counted (%s)", exc)

    async def reconcile(self, db: Database, now: float | None = None) -> int:
        """Raise each user's counter for today to what the ledger holds for them (never
        lower it); how many users' counters were set. Redis or PostgreSQL down: nothing
        (the counters stay as they are; a warning says so)."""
        now = time.time() if now is None else now
        try:
            rows = await db.fetch(
                "SELECT user_id, sum(cost_usd) FROM gateway_exchanges"
                " WHERE started >= %s AND cost_usd IS NOT NULL GROUP BY user_id",
                (utc_midnight(now),),
            )
            for uid, spent in rows:
                await self.client.eval(_RAISE_TO, 1, _key(int(uid), now), str(spent), KEEP_S)
        except (HotswapError, RedisError, OSError) as exc:
            log.warning("gateway budgets: not reconciled with the ledger (%s)", exc)
            return 0
        return len(rows)

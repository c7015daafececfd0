"""Each user's spend today (UTC), a Redis counter shared by every instance: increased
(INCRBYFLOAT) after each of their exchanges, read before each request of a user with a daily
budget (`keys create --daily-usd X`), in the same MGET as their mode (modes.py). Once it is
reached the user's requests go to the key's cheaper backend (`--then NAME`), or get a 429
`rate_limit_error` naming the budget, with `retry-after` until the next UTC midnight.

Two instances read the same counter, so the last dollar is spent once; what a budget can be
exceeded by is the requests already in flight when it is reached (each is counted when it
finishes). A user without a budget is counted too (their status shows today's spend), but in
one pipeline for everyone every FLUSH_S, not one round trip per exchange; a user with a
budget is counted at once. At start an instance reconciles the counters with the ledger in
PostgreSQL (reconcile): a Redis that restarted empty does not hand everyone a fresh day.

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
from hotswap.figures import usd
from hotswap.gateway.caller import User
from hotswap.gateway.database import Database
from hotswap.gateway.modes import Lookup
from hotswap.router.budget_gate import retry_after_s

log = logging.getLogger("hotswap")

KEEP_S = 2 * 86400  # a day's counter outlives its day, then goes
FLUSH_S = 0.25  # how long the spend of users without a budget waits to be counted
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
        self._owed: dict[int, float] = {}  # users without a budget: spend not yet counted
        self._flush: asyncio.TimerHandle | None = None

    @staticmethod
    def counter(user: User) -> str | None:
        """The Redis key a request of this user reads with its mode: their counter today,
        if they have a budget."""
        return _key(user.id) if user.daily_usd is not None else None

    def check(self, user: User, looked: Lookup) -> str | None:
        """The mode this request goes to: the one looked up, or the key's `then` backend
        once the user's spend today (read with it) has reached their daily budget (else
        BudgetSpentError)."""
        mode = looked.mode
        if user.daily_usd is None:
            return mode
        try:
            spent = None if looked.down else float(looked.counter or 0)
        except ValueError:
            spent = None  # not a number: as if Redis had not answered
        if spent is None:
            if self.fail_closed:
                raise RequestError(
                    f"hotswap gateway: {user.name}'s budget cannot be checked (Redis does "
                    'not answer); budgets_when_redis_down = "closed"',
                    status=503,
                )
            return mode  # Redis down, budgets open (docs/gateway.md)
        if spent < user.daily_usd:
            return mode
        if user.then is not None:
            return user.then
        now = time.time()
        raise BudgetSpentError(
            f"hotswap gateway: {user.name}'s daily budget of {usd(user.daily_usd)} is "
            f"spent ({usd(spent)} today, UTC); it resets at 00:00 UTC",
            retry_after_s(utc_midnight(now) + DAY_S, now),
        )

    async def spent(self, uid: int) -> float | None:
        """The user's spend today (UTC); None while Redis does not answer."""
        try:
            return float(await self.client.get(_key(uid)) or 0)
        except (RedisError, OSError, ValueError):
            return None

    def add(self, user: User, usd: float) -> None:
        """After an exchange (the ledger's observer): counted in the background, at once
        for a user with a budget, within FLUSH_S for the others."""
        if usd <= 0:
            return
        if user.daily_usd is not None:
            self._count({user.id: usd})
            return
        self._owed[user.id] = self._owed.get(user.id, 0.0) + usd
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(FLUSH_S, self.flush)

    def flush(self) -> None:
        """Count what users without a budget owe now (and at shutdown)."""
        if self._flush is not None:
            self._flush.cancel()
        self._flush = None
        owed, self._owed = self._owed, {}
        if owed:
            self._count(owed)

    def _count(self, owed: dict[int, float]) -> None:
        task = asyncio.get_running_loop().create_task(self._add(owed))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _add(self, owed: dict[int, float]) -> None:
        try:
            async with self.client.pipeline(transaction=False) as pipe:  # (no MULTI/EXEC:
                for uid, usd in owed.items():  # each increment is atomic, EXPIRE idempotent)
                    key = _key(uid)
                    pipe.incrbyfloat(key, usd)
                    pipe.expire(key, KEEP_S)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            lost = ", ".join(f"user {uid} ${usd:.4f}" for uid, usd in owed.items())
            log.warning("gateway budget: not counted (%s): %s", exc, lost)

    async def close(self) -> None:
        """Count what is owed and wait for the counting (bounded by Redis's timeout)."""
        self.flush()
        if self._pending:
            await asyncio.wait(set(self._pending))

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

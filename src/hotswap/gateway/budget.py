"""Each user's spend today (UTC), a Redis counter shared by every instance: increased
(INCRBYFLOAT) after each of their exchanges, read before each request of a user with a
daily budget (`keys create --daily-usd X`), who is refused with a 429 once it is reached.
Redis down: the budget is not enforced (requests keep flowing) and nothing is counted.
"""

from __future__ import annotations

import asyncio
import logging
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from hotswap.errors import RequestError
from hotswap.gateway.caller import User

log = logging.getLogger("hotswap")

KEEP_S = 2 * 86400  # a day's counter outlives its day, then goes


def _key(uid: int, now: float | None = None) -> str:
    return f"hotswap:u:{uid}:usd:{time.strftime('%Y%m%d', time.gmtime(now))}"


class Budgets:
    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self._pending: set[asyncio.Task[None]] = set()

    async def check(self, user: User) -> None:
        """A 429 once the user's spend today has reached their daily budget."""
        if user.daily_usd is None:
            return
        try:
            spent = float(await self.client.get(_key(user.id)) or 0)
        except (RedisError, OSError, ValueError):
            return  # Redis down: budgets not enforced (docs/gateway.md)
        if spent >= user.daily_usd:
            raise RequestError(
                f"hotswap gateway: {user.name}'s daily budget of ${user.daily_usd:.2f} is "
                f"spent (${spent:.2f} today, UTC)",
                status=429,
            )

    def add(self, user: User, usd: float) -> None:
        """After an exchange (the ledger's observer): counted in the background."""
        if usd > 0:
            task = asyncio.get_running_loop().create_task(self._add(user.id, usd))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _add(self, uid: int, usd: float) -> None:
        key = _key(uid)
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.incrbyfloat(key, usd)
                pipe.expire(key, KEEP_S)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("gateway budget: not counted (%s)", exc)

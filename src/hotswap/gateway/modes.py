"""Modes in Redis: each user's (`hotswap use NAME --gateway URL`: all their sessions) and
each session's (`!ds` inside one Claude Code), namespaced by the user's id, so a user can
only ever read or switch their own. A request uses its session's mode if set, else its
user's, else the gateway's default.

    hotswap:u:{id}:mode           the user's mode
    hotswap:u:{id}:s:{session}    a session's mode (expires SESSION_TTL_S after its switch)
    hotswap:u:{id}:sessions       the sessions that have a mode (cleared by a user switch)

Redis down: a request uses the last mode this instance saw for its user and session (kept
in memory, bounded); a switch answers a clear 503. redis-py's errors are mapped here.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from hotswap.errors import HotswapError
from hotswap.gateway.caller import CallerSlot

SESSION_TTL_S = 7 * 86400
MAX_SESSION_CHARS = 128
MAX_REMEMBERED = 50_000  # (user, session) modes remembered for a Redis outage
SOCKET_TIMEOUT_S = 0.5  # a stalled Redis delays a request by at most about this


class ModeStoreDown(HotswapError):
    status = 503


def _user_key(uid: int) -> str:
    return f"hotswap:u:{uid}:mode"


def _session_key(uid: int, session: str) -> str:
    return f"hotswap:u:{uid}:s:{session}"


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class RedisModes:
    """Reads and switches modes; remembers the last ones it saw for a Redis outage."""

    def __init__(self, url: str) -> None:
        self.client = aioredis.Redis.from_url(
            url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=SOCKET_TIMEOUT_S
        )
        self._last: dict[tuple[int, str | None], str | None] = {}
        self.problem: str | None = None  # the last Redis failure, until it answers again

    async def lookup(self, uid: int, session: str | None) -> str | None:
        """The mode a request of this user and session uses (None: the default)."""
        if session is not None and len(session) > MAX_SESSION_CHARS:
            session = None
        keys = [_user_key(uid)] + ([_session_key(uid, session)] if session else [])
        try:
            found = await self.client.mget(keys)
        except (RedisError, OSError) as exc:
            self.problem = f"Redis: {exc}"
            return self._last.get((uid, session), self._last.get((uid, None)))
        self.problem = None
        user_mode = _text(found[0])
        mode = (_text(found[1]) if session else None) or user_mode
        if len(self._last) >= MAX_REMEMBERED:
            self._last.clear()
        self._last[(uid, session)] = mode
        self._last[(uid, None)] = user_mode
        return mode

    async def switch(self, uid: int, mode: str, session: str | None) -> None:
        """A session's mode; without a session, the user's, for all their sessions."""
        try:
            if session is not None:
                async with self.client.pipeline(transaction=True) as pipe:
                    pipe.set(_session_key(uid, session), mode, ex=SESSION_TTL_S)
                    pipe.sadd(f"hotswap:u:{uid}:sessions", session)
                    pipe.expire(f"hotswap:u:{uid}:sessions", SESSION_TTL_S)
                    await pipe.execute()
                return
            listed = await self.client.smembers(f"hotswap:u:{uid}:sessions")
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.set(_user_key(uid), mode)
                for s in listed:
                    pipe.delete(_session_key(uid, _text(s) or ""))
                pipe.delete(f"hotswap:u:{uid}:sessions")
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise ModeStoreDown(f"hotswap gateway: cannot switch: Redis: {exc}") from None

    async def close(self) -> None:
        await self.client.aclose()


class CallerModes:
    """The router's ModeStore (router.seams) on a gateway: the mode the middleware looked
    up for this request's caller. A sticky fallback is not saved (a backend refusing the
    gateway's key refuses every user: the fallback is decided per request instead)."""

    def __init__(self, slot: CallerSlot) -> None:
        self.slot = slot

    @property
    def where(self) -> str:
        return "the gateway's modes (Redis)"

    def read(self) -> str | None:
        caller = self.slot.get()
        return caller.mode if caller is not None else None

    def write(self, name: str) -> None:
        raise OSError("a gateway keeps each user's own mode")

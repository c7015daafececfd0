"""Modes in Redis: each user's (`hotswap use NAME --gateway URL`: all their sessions) and
each session's (`!ds` inside one Claude Code), namespaced by the user's id, so a user can
only ever read or switch their own. A request uses its session's mode if set, else its
user's, else the gateway's default.

    hotswap:u:{id}:mode           the user's mode
    hotswap:u:{id}:s:{session}    a session's mode (expires SESSION_TTL_S after its switch)
    hotswap:u:{id}:sessions       the sessions that have a mode (cleared by a user switch)
    hotswap:u:{id}:fallback       why the gateway switched them (a sticky fallback), until
                                  they switch themselves

Redis down: a request uses the last mode this instance saw for its user and session (kept
in memory, bounded); a switch answers a clear 503. redis-py's errors are mapped here.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, NamedTuple

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from hotswap.errors import HotswapError
from hotswap.gateway.caller import CallerSlot
from hotswap.reading.jsoncodec import dump_json, parse_json_body

log = logging.getLogger("hotswap")

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


def _sessions_key(uid: int) -> str:
    return f"hotswap:u:{uid}:sessions"


def _note_key(uid: int) -> str:
    return f"hotswap:u:{uid}:fallback"


def _note(saved: str | None) -> dict[str, Any] | None:
    try:
        note = parse_json_body(saved.encode()) if saved else None
    except ValueError:
        return None
    return note if isinstance(note, dict) else None


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class Lookup(NamedTuple):
    """What one round trip to Redis found for a request."""

    mode: str | None  # the session's mode, else the user's; None: the gateway's default
    counter: bytes | str | None  # the extra key asked for with it (a budget counter)
    down: bool  # Redis did not answer: `mode` is the last one this instance saw


class RedisModes:
    """Reads and switches modes; remembers the last ones it saw for a Redis outage."""

    def __init__(self, url: str) -> None:
        self.client = aioredis.Redis.from_url(
            url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=SOCKET_TIMEOUT_S
        )
        self._last: dict[tuple[int, str | None], str | None] = {}
        self.problem: str | None = None  # the last Redis failure, until it answers again

    async def lookup(self, uid: int, session: str | None, also: str | None = None) -> Lookup:
        """The mode a request of this user and session uses, and the key `also` (a budget
        counter), read in one MGET: the gateway's one Redis round trip per request."""
        if session is not None and len(session) > MAX_SESSION_CHARS:
            session = None
        keys = [_user_key(uid), _session_key(uid, session) if session else None, also]
        try:
            found = await self.client.mget([k for k in keys if k is not None])
        except (RedisError, OSError) as exc:
            self.problem = f"Redis: {exc}"
            last = self._last.get((uid, session), self._last.get((uid, None)))
            return Lookup(last, None, True)
        self.problem = None
        user_mode = _text(found[0])
        mode = (_text(found[1]) if session else None) or user_mode
        if len(self._last) >= MAX_REMEMBERED:
            self._last.clear()
        self._last[(uid, session)] = mode
        self._last[(uid, None)] = user_mode
        return Lookup(mode, found[-1] if also else None, False)

    async def switch(self, uid: int, mode: str, session: str | None) -> None:
        """A session's mode; without a session, the user's, for all their sessions."""
        try:
            if session is not None:
                async with self.client.pipeline(transaction=True) as pipe:
                    pipe.set(_session_key(uid, session), mode, ex=SESSION_TTL_S)
                    pipe.sadd(_sessions_key(uid), session)
                    pipe.expire(_sessions_key(uid), SESSION_TTL_S)
                    pipe.delete(_note_key(uid))
                    await pipe.execute()
                return
            listed = await self.client.smembers(_sessions_key(uid))
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.set(_user_key(uid), mode)
                for s in listed:
                    pipe.delete(_session_key(uid, _text(s) or ""))
                pipe.delete(_sessions_key(uid))
                pipe.delete(_note_key(uid))
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise ModeStoreDown(f"hotswap gateway: cannot switch: Redis: {exc}") from None

    async def fall_back(self, uid: int, session: str | None, mode: str, note: str) -> None:
        """A sticky fallback, saved as the user's own switch would be (the session's mode,
        else the user's) with the note that says why; this instance uses it at once."""
        self._last[(uid, session)] = mode
        try:
            await self.switch(uid, mode, session)
            saved = dump_json({"mode": mode, "session": session, "note": note})
            await self.client.set(_note_key(uid), saved, ex=SESSION_TTL_S)
        except (ModeStoreDown, RedisError, OSError) as exc:
            log.warning("gateway: fallback to %s not saved in Redis (%s)", mode, exc)

    async def view(self, uid: int) -> dict[str, Any]:
        """A user's own modes, for their status: theirs, their sessions', the fallback note."""
        try:
            names = sorted(_text(s) or "" for s in await self.client.smembers(_sessions_key(uid)))
            keys = [_user_key(uid), _note_key(uid), *(_session_key(uid, s) for s in names)]
            found = [_text(v) for v in await self.client.mget(keys)]
        except (RedisError, OSError) as exc:
            return {"user_mode": None, "sessions": {}, "fallback": None,
                    "mode_problem": f"Redis: {exc}"}  # fmt: skip
        sessions = {s: m for s, m in zip(names, found[2:], strict=True) if m}
        return {"user_mode": found[0], "sessions": sessions, "fallback": _note(found[1]),
                "mode_problem": None}  # fmt: skip

    async def close(self) -> None:
        await self.client.aclose()


class CallerModes:
    """The router's ModeStore (router.seams) on a gateway: the mode the middleware looked
    up for this request's caller. A sticky fallback (a refusal: 401/402/403) is saved as
    that caller's session's mode (or the user's) in Redis, so every instance uses the
    fallback from their next request, with a note in their status; the write runs in the
    background and the gateway's middleware waits for it before the answer goes out."""

    def __init__(self, slot: CallerSlot, modes: RedisModes) -> None:
        self.slot, self.modes = slot, modes
        self.pending: dict[asyncio.Task[None], asyncio.Task[Any] | None] = {}  # save: its request

    @property
    def where(self) -> str:
        return "the gateway's modes (Redis)"

    def read(self) -> str | None:
        caller = self.slot.get()
        return caller.mode if caller is not None else None

    def refusal(self, backend: str) -> str | None:
        caller = self.slot.get()
        return None if caller is None else caller.user.refusal(backend)

    def write(self, name: str, note: str) -> None:
        caller = self.slot.get()
        if caller is None:
            raise OSError("not a user's request")
        save = self.modes.fall_back(caller.user.id, caller.session, name, note)
        task = asyncio.get_running_loop().create_task(save)
        self.pending[task] = asyncio.current_task()
        task.add_done_callback(lambda done: self.pending.pop(done, None))

    async def settle(self) -> None:
        """Wait for the fallback this request is saving, if any (bounded by Redis's socket
        timeout); other requests' saves are theirs to wait for."""
        if self.pending:
            me = asyncio.current_task()
            mine = [save for save, request in self.pending.items() if request is me]
            if mine:
                await asyncio.wait(mine)

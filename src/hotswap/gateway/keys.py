"""Users' keys: `hsk_` and 43 random URL-safe characters (256 bits), shown once when
created and stored as their SHA-256 (a fast hash is enough for keys this random: there is
nothing to guess), in PostgreSQL's gateway_users.

Every gateway instance looks a key up in PostgreSQL and keeps the answer for at most
LOOKUP_TTL_S (a found key and an unknown one alike, in separate tables), so a revoked key is
refused by every instance within that time, and a busy gateway asks PostgreSQL about each
key at most a few times a second. While PostgreSQL is down, a key looked up before keeps
working (revoking needs PostgreSQL too, so nothing is revoked meanwhile); a key never seen
is refused (503).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Mapping
from typing import Any

from hotswap.errors import HotswapError, RequestError
from hotswap.gateway.caller import User
from hotswap.gateway.database import Database, DatabaseError

PREFIX = "hsk_"
LOOKUP_TTL_S = 0.5  # a revoked key: refused by every instance within this
MAX_CACHED = 10_000  # keys remembered by one instance (all dropped when full)
KEY_PROBLEM = (
    "hotswap gateway: {what}; use the key `hotswap gateway keys create` printed as "
    "ANTHROPIC_AUTH_TOKEN (or ANTHROPIC_API_KEY)"
)


class KeyCommandError(HotswapError):
    """A key command cannot do what it was asked (a name taken, a user not found)."""

    status = 400


def new_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key a client sent: `Authorization: Bearer KEY` (ANTHROPIC_AUTH_TOKEN) or
    `x-api-key: KEY` (ANTHROPIC_API_KEY)."""
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return headers.get("x-api-key") or None


def _user(row: tuple[Any, ...]) -> User:
    uid, name, daily, backends, then = row
    listed = tuple(b for b in str(backends).split(",") if b)
    budget = None if daily is None else float(daily)
    return User(int(uid), str(name), budget, listed, None if then is None else str(then))


class KeyStore:
    """The keys table: what `hotswap gateway keys` does, and the gateway's look-ups."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        name: str,
        daily_usd: float | None = None,
        backends: tuple[str, ...] = (),
        then: str | None = None,
    ) -> str:
        """A new user and their key (returned once, never stored)."""
        key = new_key()
        found = await self.db.fetch("SELECT revoked FROM gateway_users WHERE name = %s", (name,))
        if found:
            was = " (revoked; pick another name)" if found[0][0] is not None else ""
            raise KeyCommandError(f"user '{name}' already exists{was}")
        await self.db.fetch(
            "INSERT INTO gateway_users"
            " (name, key_hash, key_hint, created, daily_usd, backends, then_backend)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (name, key_hash(key), key[-4:], time.time(), daily_usd, ",".join(backends), then),
        )
        return key

    async def list(self) -> list[dict[str, Any]]:
        rows = await self.db.fetch(
            "SELECT name, key_hint, created, revoked, daily_usd, backends, then_backend"
            " FROM gateway_users ORDER BY name"
        )
        names = ("name", "key_hint", "created", "revoked", "daily_usd", "backends", "then")
        return [dict(zip(names, row, strict=True)) for row in rows]

    async def revoke(self, name: str) -> None:
        rows = await self.db.fetch(
            "UPDATE gateway_users SET revoked = %s WHERE name = %s AND revoked IS NULL"
            " RETURNING id",
            (time.time(), name),
        )
        if not rows:
            listing = "see `hotswap gateway keys list`"
            raise KeyCommandError(f"no user '{name}' with a live key ({listing})")

    async def find(self, key: str) -> User | None:
        """The live key's user; None for an unknown or revoked key."""
        rows = await self.db.fetch(
            "SELECT id, name, daily_usd, backends, then_backend FROM gateway_users"
            " WHERE key_hash = %s AND revoked IS NULL",
            (key_hash(key),),
        )
        return _user(rows[0]) if rows else None


class GatewayKeys:
    """The gateway's client authenticator: a request's key -> its user, or a 401.

    Live keys and unknown ones are remembered apart, so a flood of made-up keys cannot push
    the live ones out; and while a key is being looked up, its other requests wait for
    that one answer rather than each asking PostgreSQL (a busy key's expiry is one query).
    """

    def __init__(self, store: KeyStore) -> None:
        self.store = store
        self._live: dict[str, tuple[float, User]] = {}  # hash -> (when, user)
        self._unknown: dict[str, float] = {}  # hash -> when it was found unknown or revoked
        self._asking: dict[str, asyncio.Future[User | None]] = {}

    async def authenticate(self, headers: Mapping[str, str]) -> User:
        key = presented_key(headers)
        if key is None or not key.startswith(PREFIX):
            raise RequestError(KEY_PROBLEM.format(what="no gateway key sent"), status=401)
        digest = key_hash(key)
        now = time.monotonic()
        live = self._live.get(digest)
        if live is not None and now - live[0] <= LOOKUP_TTL_S:
            return live[1]
        refused = self._unknown.get(digest)
        if refused is None or now - refused > LOOKUP_TTL_S:
            user = await self._look_up_once(key, digest, live)
            if user is not None:
                return user
        raise RequestError(KEY_PROBLEM.format(what="unknown or revoked key"), status=401)

    async def _look_up_once(
        self, key: str, digest: str, live: tuple[float, User] | None
    ) -> User | None:
        asking = self._asking.get(digest)
        if asking is None:
            asking = asyncio.ensure_future(self._look_up(key, digest, live))
            self._asking[digest] = asking
            asking.add_done_callback(lambda done: self._asked(digest, done))
        return await asyncio.shield(asking)  # (one caller's cancel does not cancel the rest)

    def _asked(self, digest: str, done: asyncio.Future[User | None]) -> None:
        self._asking.pop(digest, None)
        if not done.cancelled():
            done.exception()  # retrieved: every caller may have gone (no "never retrieved")

    async def _look_up(self, key: str, digest: str, live: tuple[float, User] | None) -> User | None:
        asked = time.monotonic()  # the answer is as old as the question (a revoke may follow)
        try:
            user = await self.store.find(key)
        except DatabaseError as exc:
            if live is not None:
                return live[1]  # PostgreSQL down: a key known to be live stays live
            raise RequestError(f"hotswap gateway: cannot check keys: {exc}", 503) from None
        if user is None:
            self._live.pop(digest, None)
            _remember(self._unknown, digest, asked)
        else:
            self._unknown.pop(digest, None)
            _remember(self._live, digest, (asked, user))
        return user


def _remember(table: dict[str, Any], digest: str, value: Any) -> None:
    if len(table) >= MAX_CACHED:
        table.clear()
    table[digest] = value

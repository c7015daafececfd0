"""PostgreSQL for the gateway: one async connection that reconnects after a failure, and
the gateway's schema, created and migrated (numbered, forward-only) when a gateway or a
`hotswap gateway` command first connects. Two instances starting together migrate once:
the migration holds an advisory lock.

psycopg's errors are mapped here to DatabaseError (with the server's one-line reason).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import psycopg

from hotswap.errors import HotswapError

CONNECT_TIMEOUT_S = 3
_MIGRATION_LOCK = 0x686F7473  # pg_advisory_xact_lock's key: "hots"

MIGRATIONS: tuple[str, ...] = (
    # 1: users and their keys (hashed), the exchanges of every instance
    """
    CREATE TABLE gateway_users (
        id BIGSERIAL PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        key_hash TEXT NOT NULL UNIQUE,
        key_hint TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        revoked DOUBLE PRECISION,
        daily_usd DOUBLE PRECISION,
        backends TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE gateway_exchanges (
        id TEXT PRIMARY KEY,
        user_id BIGINT NOT NULL,
        user_name TEXT NOT NULL,
        session TEXT,
        started DOUBLE PRECISION NOT NULL,
        endpoint TEXT NOT NULL,
        stream BOOLEAN NOT NULL,
        client_model TEXT,
        active TEXT NOT NULL,
        backend TEXT,
        wire_model TEXT,
        response_model TEXT,
        status INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        error TEXT,
        fell_back_from TEXT,
        fallback_kind TEXT,
        input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL,
        cache_read_tokens BIGINT NOT NULL,
        cache_write_tokens BIGINT NOT NULL,
        cost_usd NUMERIC(20, 10),
        claude_usd NUMERIC(20, 10),
        ttfb_ms DOUBLE PRECISION,
        duration_ms DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX gateway_exchanges_user_started ON gateway_exchanges (user_id, started);
    """,
    # 2: a key's cheaper backend, once its daily budget is spent (else a 429)
    """
    ALTER TABLE gateway_users ADD COLUMN then_backend TEXT;
    """,
    # 3: the route that chose the backend (`hotswap cost --database URL --by route`)
    """
    ALTER TABLE gateway_exchanges ADD COLUMN route TEXT;
    """,
    # 4: the rest of the personal ledger's record (ledger/schema.py, ledger/rows.py): why the
    # answer stopped, its sizes, Claude Code's conversation and agent, and the attempts
    # (the personal ledger's `attempts` table, here a JSON array in the exchange's row)
    """
    ALTER TABLE gateway_exchanges ADD COLUMN stop_reason TEXT;
    ALTER TABLE gateway_exchanges ADD COLUMN request_bytes BIGINT;
    ALTER TABLE gateway_exchanges ADD COLUMN response_bytes BIGINT;
    ALTER TABLE gateway_exchanges ADD COLUMN conversation TEXT;
    ALTER TABLE gateway_exchanges ADD COLUMN agent TEXT;
    ALTER TABLE gateway_exchanges ADD COLUMN attempts JSONB;
    CREATE INDEX gateway_exchanges_conversation ON gateway_exchanges (conversation, started);
    """,
)


class DatabaseError(HotswapError):
    """PostgreSQL cannot be reached, or refused what was asked."""

    status = 503


def reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class Database:
    """One connection, opened on first use and again after it broke. Queries are
    serialised on it (a lock): key lookups are cached, and the ledger has its own."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            )
        return self._conn

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self._lock:
            try:
                conn = await self._connection()
                cur = await conn.execute(sql, params)
                return await cur.fetchall() if cur.description else []
            except psycopg.Error as exc:
                await self._drop()
                raise DatabaseError(f"PostgreSQL: {reason(exc)}") from None

    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement for many rows, in one transaction."""
        async with self._lock:
            try:
                conn = await self._connection()
                async with conn.transaction(), conn.cursor() as cur:
                    await cur.executemany(sql, rows)
            except psycopg.Error as exc:
                await self._drop()
                raise DatabaseError(f"PostgreSQL: {reason(exc)}") from None

    async def migrate(self) -> int:
        """Bring the schema up to date; the version it is at."""
        async with self._lock:
            try:
                conn = await self._connection()
                async with conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                    await conn.execute(
                        "CREATE TABLE IF NOT EXISTS gateway_schema (version INTEGER NOT NULL)"
                    )
                    cur = await conn.execute("SELECT max(version) FROM gateway_schema")
                    row = await cur.fetchone()
                    version = int(row[0] or 0) if row else 0
                    for number, sql in enumerate(MIGRATIONS[version:], start=version + 1):
                        await conn.execute(sql)
                        await conn.execute("INSERT INTO gateway_schema VALUES (%s)", (number,))
                return len(MIGRATIONS)
            except psycopg.Error as exc:
                await self._drop()
                raise DatabaseError(f"PostgreSQL: {reason(exc)}") from None

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):  # already broken: nothing to close
                await conn.close()

    async def close(self) -> None:
        await self._drop()

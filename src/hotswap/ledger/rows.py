"""An ExchangeRecord as the ledger rows it becomes (one exchange, one row per attempt)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from hotswap.router.exchange import ExchangeRecord

ERROR_CHARS = 500  # an error message is for a person skimming `hotswap logs`

EXCHANGE_COLUMNS = (
    "exchange_id",
    "started",
    "session",
    "endpoint",
    "stream",
    "client_model",
    "active",
    "backend",
    "wire_model",
    "response_model",
    "status",
    "outcome",
    "error",
    "fell_back_from",
    "fallback_kind",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "stop_reason",
    "ttfb_ms",
    "duration_ms",
    "request_bytes",
    "response_bytes",
    "route",
    "conversation",
    "agent",
)
# Columns added after spill files were first written: an older line lacks them (NULL).
LATER_COLUMNS = frozenset({"route", "conversation", "agent"})
ATTEMPT_COLUMNS = (
    "exchange",
    "seq",
    "backend",
    "status",
    "verdict",
    "reason",
    "wire_model",
    "ttfb_ms",
    "duration_ms",
)
_INSERT_EXCHANGE = (
    f"INSERT INTO exchanges ({', '.join(EXCHANGE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(EXCHANGE_COLUMNS))}) "
    "ON CONFLICT (exchange_id) DO NOTHING"  # written already (a spill merged twice)
)
_INSERT_ATTEMPT = (
    f"INSERT INTO attempts ({', '.join(ATTEMPT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(ATTEMPT_COLUMNS))})"
)


def clip_error(text: str | None) -> str | None:
    """An error message as both ledgers keep it (ERROR_CHARS)."""
    return text[:ERROR_CHARS] if text else text


def exchange_row(r: ExchangeRecord) -> tuple[Any, ...]:
    u = r.usage
    return (
        r.id,
        r.started,
        r.session,
        r.endpoint,
        int(r.stream),
        r.client_model,
        r.active,
        r.backend,
        r.wire_model,
        r.response_model,
        r.status,
        r.outcome,
        clip_error(r.error),
        r.fell_back_from,
        r.fallback_kind,
        u.input_tokens,
        u.output_tokens,
        u.cache_read_tokens,
        u.cache_write_tokens,
        r.stop_reason,
        r.ttfb_ms,
        r.duration_ms,
        r.request_bytes,
        r.response_bytes,
        r.route,
        r.conversation,
        r.agent,
    )


def attempt_rows(r: ExchangeRecord) -> list[tuple[Any, ...]]:
    """The record's attempts as rows, without the exchange's rowid (ATTEMPT_COLUMNS[1:])."""
    return [
        (
            seq,
            a.backend,
            a.status,
            a.verdict,
            clip_error(a.reason) or None,
            a.wire_model,
            a.ttfb_ms,
            a.duration_ms,
        )
        for seq, a in enumerate(r.attempts)
    ]


def attempt_dicts(r: ExchangeRecord) -> list[dict[str, Any]]:
    """The record's attempts as ATTEMPT_COLUMNS[1:] mappings (the spill files' JSON)."""
    return [dict(zip(ATTEMPT_COLUMNS[1:], a, strict=True)) for a in attempt_rows(r)]


def insert(conn: sqlite3.Connection, records: Iterable[ExchangeRecord]) -> int:
    """Insert the records and their attempts (inside the caller's transaction)."""
    count = 0
    for record in records:
        count += insert_rows(conn, exchange_row(record), attempt_rows(record))
    return count


def insert_rows(
    conn: sqlite3.Connection, exchange: Sequence[Any], attempts: Iterable[Sequence[Any]]
) -> int:
    """One exchange row (EXCHANGE_COLUMNS) and its attempt rows (ATTEMPT_COLUMNS[1:]); 0 when
    the ledger has that exchange id already (a spill file merged twice adds nothing)."""
    cursor = conn.execute(_INSERT_EXCHANGE, tuple(exchange))
    if cursor.rowcount != 1:
        return 0
    rowid = cursor.lastrowid
    conn.executemany(_INSERT_ATTEMPT, [(rowid, *a) for a in attempts])
    return 1

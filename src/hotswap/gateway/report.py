"""`hotswap cost --database URL` and `hotswap logs --database URL` (and `hotswap gateway
cost`, the same report): what the team spent and saved, from the gateway's ledger in
PostgreSQL, as the same CostLines and log entries the SQLite ledger gives, so one formatter
(ledger/report.py) writes both. Costs were priced when each exchange finished and are summed
as NUMERIC in the database: right to the cent."""

from __future__ import annotations

from typing import Any

from hotswap.gateway.database import Database
from hotswap.ledger import queries
from hotswap.ledger.queries import CostLine
from hotswap.router.exchange import Usage

# `--by` on the gateway's ledger: the SQLite ledger's groups its columns allow, and users
BY = {"user": "user_name", **{k: queries.GROUPS[k] for k in ("backend", "model", "session",
                                                           "route", "conversation",
                                                           "agent")}}  # fmt: skip


def tokens_sql(e: str = "") -> str:
    """An exchange's tokens, all four kinds (`e`: the table's alias and a dot, if any)."""
    return " + ".join(e + c for c in ("input_tokens", "output_tokens", "cache_read_tokens",
                                      "cache_write_tokens"))  # fmt: skip


def unpriced_sql(e: str = "") -> str:
    """An exchange that used tokens but has no price: `hotswap cost`'s unpriced."""
    return f"{e}cost_usd IS NULL AND {tokens_sql(e)} > 0"


def unsaved_sql(e: str = "") -> str:
    """An exchange whose saving cannot be told (its price or Claude's is unknown)."""
    return f"({e}cost_usd IS NULL OR {e}claude_usd IS NULL) AND {tokens_sql(e)} > 0"


_COST_SQL = f"""
SELECT {{key}} AS k, count(*), count(*) FILTER (WHERE {queries.FAILED_SQL}),
       count(*) FILTER (WHERE fell_back_from IS NOT NULL),
       sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens),
       COALESCE(sum(cost_usd), 0),
       COALESCE(sum(claude_usd - cost_usd), 0),
       count(*) FILTER (WHERE {unpriced_sql()}),
       count(*) FILTER (WHERE {unsaved_sql()})
FROM gateway_exchanges WHERE started >= %s {{where}}
GROUP BY 1 ORDER BY 1
"""


async def cost_lines(
    db: Database, by: str, since: float | None = None, session: str | None = None,
    user_id: int | None = None,
) -> tuple[list[CostLine], CostLine]:  # fmt: skip
    """Cost lines grouped `by` (BY's keys) and their total, as ledger.queries.cost gives
    them for the SQLite ledger; `user_id`: that user's only (their own status)."""
    if by not in BY:
        raise ValueError(f"cannot group the gateway's ledger by {by!r}; one of {', '.join(BY)}")
    where = ""
    params: list[Any] = [since or 0.0]
    for column, value in (("session", session), ("user_id", user_id)):
        if value is not None:
            where += f" AND {column} = %s"
            params.append(value)
    sql = _COST_SQL.format(key=BY[by], where=where)
    lines = [line_of(row) for row in await db.fetch(sql, tuple(params))]
    return lines, queries.total_of(lines)


def line_of(row: tuple[Any, ...]) -> CostLine:
    key, requests, failed, fallbacks = row[:4]
    usage = Usage(*(int(v or 0) for v in row[4:8]))
    line = CostLine(str(key), int(requests), int(failed), int(fallbacks), usage)
    line.cost_usd, line.savings_usd = float(row[8]), float(row[9])
    line.unpriced, line.unsaved = int(row[10]), int(row[11])
    return line


RECENT_ERRORS = 5


async def recent_errors(db: Database, user_id: int, since: float) -> list[dict[str, Any]]:
    """A user's last failed exchanges (their own only; the text was masked when recorded)."""
    rows = await db.fetch(
        "SELECT started, backend, status, outcome, error FROM gateway_exchanges"
        f" WHERE user_id = %s AND started >= %s AND {queries.FAILED_SQL}"
        " ORDER BY started DESC LIMIT %s",
        (user_id, since, RECENT_ERRORS),
    )
    return [
        {"at": round(at, 3), "backend": backend, "status": status, "outcome": outcome,
         "error": error}
        for at, backend, status, outcome, error in rows
    ]  # fmt: skip


# What a log entry holds (ledger.report.log_entry's keys, with `user`), then what prices it
_LOG_KEYS = ("id", "started", "user", "session", "backend", "active", "client_model",
             "wire_model", "response_model", "status", "outcome", "error", "fell_back_from",
             "fallback_kind", "input_tokens", "output_tokens", "cache_read_tokens",
             "cache_write_tokens", "ttfb_ms", "duration_ms", "endpoint", "route",
             "stop_reason", "request_bytes", "response_bytes", "conversation",
             "agent")  # fmt: skip
_LOG_COLUMNS = [("user_name" if k == "user" else k) for k in _LOG_KEYS]
_LOG_SQL = (
    f"SELECT {', '.join(_LOG_COLUMNS)}, cost_usd, claude_usd, attempts FROM gateway_exchanges"
    " WHERE started >= %s {session} ORDER BY started DESC, id LIMIT %s"
)


async def recent_entries(
    db: Database, n: int, session: str | None = None, since: float = 0.0
) -> list[dict[str, Any]]:
    """The last `n` exchanges, oldest first, as ledger.report.log_entry gives them (with
    `user`; the attempts of exchanges recorded before they were kept are [])."""
    sql = _LOG_SQL.format(session="AND session = %s" if session else "")
    params = (since, session, n) if session else (since, n)
    entries = []
    for row in reversed(await db.fetch(sql, params)):
        entry: dict[str, Any] = dict(zip(_LOG_KEYS, row[: len(_LOG_KEYS)], strict=True))
        cost, claude, attempts = row[len(_LOG_KEYS) :]
        entry["cost_usd"] = None if cost is None else round(float(cost), 6)
        saved = None if cost is None or claude is None else float(claude - cost)
        entry["savings_usd"] = None if saved is None else round(saved, 6)
        entry["attempts"] = attempts if isinstance(attempts, list) else []
        entries.append(entry)
    return entries

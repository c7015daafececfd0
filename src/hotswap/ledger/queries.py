"""Reading the ledger: cost per backend / model / day / session, and recent exchanges.

Tokens are summed in SQL per (group, backend, model, client model); prices are applied
here, so a price corrected in the config corrects every past report.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from hotswap.config.prices import PriceTable, price_usage
from hotswap.router.exchange import Usage

# How each `--by` groups rows (local days, like the times `hotswap logs` prints).
MODEL_SQL = "COALESCE(wire_model, response_model, client_model)"
GROUPS = {
    "backend": "COALESCE(backend, '(no answer)')",
    "model": f"COALESCE({MODEL_SQL}, '(none)')",
    "day": "date(started, 'unixepoch', 'localtime')",
    "session": "COALESCE(session, '(serve)')",
    "route": "COALESCE(route, '(mode)')",
    # Claude Code's own ids (x-claude-code-session-id, x-claude-code-agent-id)
    "conversation": "COALESCE(conversation, '(none)')",
    "agent": "COALESCE(agent, '(main)')",
}
FAILED_SQL = "outcome NOT IN ('ok', 'client_gone')"
_UNITS_S = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class Filter(NamedTuple):
    session: str | None = None
    since: float | None = None  # Unix seconds
    until: float | None = None
    # Leave out one router's own exchanges: their ids begin with its random prefix
    # (exchange.ExchangeIds.prefix). A router with a budget counts its own in memory.
    not_prefix: str | None = None
    backends: tuple[str, ...] = ()  # only these backends' (none: every one)

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = ["1"]
        params: list[Any] = []
        if self.session is not None:
            clauses.append("session = ?")
            params.append(self.session)
        if self.since is not None:
            clauses.append("started >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("started < ?")
            params.append(self.until)
        if self.not_prefix is not None:
            clauses.append("substr(exchange_id, 1, ?) != ?")
            params += [len(self.not_prefix), self.not_prefix]
        if self.backends:
            clauses.append(f"backend IN ({', '.join('?' * len(self.backends))})")
            params += self.backends
        return " AND ".join(clauses), params


def parse_since(text: str, now: float | None = None) -> float:
    """`7d`, `12h`, `30m`, `2w` ago, or a local date / date-time (`2026-12-01`,
    `2026-12-01T09:00`). Pure; raises ValueError."""
    text = text.strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([mhdw])", text)
    if match:
        return (time.time() if now is None else now) - float(match[1]) * _UNITS_S[match[2]]
    try:
        return datetime.fromisoformat(text).timestamp()  # naive: local time
    except ValueError:
        raise ValueError(
            f"{text!r} is not a duration (7d, 12h, 30m) or a date (2026-12-01)"
        ) from None


@dataclass
class CostLine:
    """One group of a cost report (or its total)."""

    key: str
    requests: int = 0
    failures: int = 0
    fallbacks: int = 0
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0  # of the priced exchanges
    savings_usd: float = 0.0  # of the exchanges whose cost and Claude price are known
    unpriced: int = 0  # exchanges that used tokens on a model without a price
    unsaved: int = 0  # ... and those whose savings are unknown (either price missing)

    @property
    def cache_hit_rate(self) -> float | None:
        u = self.usage
        prompt = u.input_tokens + u.cache_read_tokens + u.cache_write_tokens
        return u.cache_read_tokens / prompt if prompt else None

    def merge(self, other: CostLine) -> None:
        self.requests += other.requests
        self.failures += other.failures
        self.fallbacks += other.fallbacks
        self.usage = _add(self.usage, other.usage)
        self.cost_usd += other.cost_usd
        self.savings_usd += other.savings_usd
        self.unpriced += other.unpriced
        self.unsaved += other.unsaved


def _add(a: Usage, b: Usage) -> Usage:
    return Usage(
        a.input_tokens + b.input_tokens,
        a.output_tokens + b.output_tokens,
        a.cache_read_tokens + b.cache_read_tokens,
        a.cache_write_tokens + b.cache_write_tokens,
    )


_COST_SQL = """
SELECT {key} AS k, backend, {model} AS model, client_model,
       COUNT(*), SUM({failed}), SUM(fell_back_from IS NOT NULL),
       SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens), SUM(cache_write_tokens),
       SUM(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens > 0)
FROM exchanges WHERE {where}
GROUP BY k, backend, model, client_model
ORDER BY k
"""


def cost(
    conn: sqlite3.Connection,
    table: PriceTable,
    by: str = "backend",
    where: Filter | None = None,
) -> tuple[list[CostLine], CostLine]:
    """Cost lines grouped `by` (backend | model | day | session | conversation | agent),
    and their total."""
    if by not in GROUPS:
        raise ValueError(f"cannot group by {by!r}; one of {', '.join(GROUPS)}")
    lines = _grouped(conn, table, GROUPS[by], where or Filter())
    return lines, total_of(lines)


def total_of(lines: list[CostLine]) -> CostLine:
    """The lines summed, as the `total` row (every ledger's report)."""
    total = CostLine("total")
    for line in lines:
        total.merge(line)
    return total


_PAIR = "\x1f"  # between the two keys of cost_by_day's groups: in no day or backend name


def cost_by_day(
    conn: sqlite3.Connection, table: PriceTable, then: str = "backend", where: Filter | None = None
) -> list[tuple[str, str, CostLine]]:
    """Cost lines per (local day, `then`): the dashboard's stacked bars. Days in order."""
    if then not in GROUPS or then == "day":
        raise ValueError(f"cannot group days by {then!r}")
    key = f"{GROUPS['day']} || char(31) || {GROUPS[then]}"
    out = []
    for line in _grouped(conn, table, key, where or Filter()):
        day, _, second = line.key.partition(_PAIR)
        line.key = second
        out.append((day, second, line))
    return out


def _grouped(
    conn: sqlite3.Connection, table: PriceTable, key_sql: str, where: Filter
) -> list[CostLine]:
    clause, params = where.where()
    sql = _COST_SQL.format(key=key_sql, model=MODEL_SQL, failed=FAILED_SQL, where=clause)
    lines: dict[str, CostLine] = {}
    for row in conn.execute(sql, params):
        part = _priced(table, row)
        lines.setdefault(part.key, CostLine(part.key)).merge(part)
    return list(lines.values())


def _priced(table: PriceTable, row: tuple[Any, ...]) -> CostLine:
    key, backend, model, client_model, requests, failures, fallbacks = row[:7]
    usage = Usage(*(int(v or 0) for v in row[7:11]))
    with_tokens = int(row[11] or 0)
    line = CostLine(str(key), int(requests), int(failures or 0), int(fallbacks or 0), usage)
    costed = price_usage(table, usage, backend, model, client_model)
    if costed.cost_usd is None:
        line.unpriced = line.unsaved = with_tokens
    else:
        line.cost_usd = costed.cost_usd
    if costed.savings_usd is None:
        line.unsaved = with_tokens
    else:
        line.savings_usd = costed.savings_usd
    return line


LOG_COLUMNS = (
    "id",
    "started",
    "session",
    "backend",
    "active",
    "client_model",
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
    "ttfb_ms",
    "duration_ms",
    "endpoint",
    "route",
    "conversation",
    "agent",
)


def routed_since(conn: sqlite3.Connection, since: float) -> dict[str, int]:
    """How many exchanges each route sent since `since` (`hotswap routes`: today)."""
    sql = "SELECT route, COUNT(*) FROM exchanges WHERE started >= ? AND route IS NOT NULL"
    return {route: n for route, n in conn.execute(sql + " GROUP BY route", (since,))}


def recent(conn: sqlite3.Connection, n: int, session: str | None = None) -> list[dict[str, Any]]:
    """The last `n` exchanges, oldest first."""
    clause, params = Filter(session=session).where()
    sql = f"SELECT {', '.join(LOG_COLUMNS)} FROM exchanges WHERE {clause} ORDER BY id DESC LIMIT ?"
    rows = conn.execute(sql, [*params, n]).fetchall()
    return _with_attempts(conn, [dict(zip(LOG_COLUMNS, r, strict=True)) for r in reversed(rows)])


def after(
    conn: sqlite3.Connection, rowid: int, session: str | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """Exchanges written after `rowid`, oldest first (for `logs -f`)."""
    clause, params = Filter(session=session).where()
    sql = (
        f"SELECT {', '.join(LOG_COLUMNS)} FROM exchanges WHERE {clause} AND id > ? "
        "ORDER BY id LIMIT ?"
    )
    rows = conn.execute(sql, [*params, rowid, limit]).fetchall()
    return _with_attempts(conn, [dict(zip(LOG_COLUMNS, r, strict=True)) for r in rows])


def failed_attempts(conn: sqlite3.Connection, since: float) -> dict[str, dict[str, Any]]:
    """Per backend, its latest attempt that did not deliver since `since` (Unix seconds):
    `{"at", "status", "reason", "session"}`. Read through the index on `started`."""
    sql = (
        "SELECT a.backend, e.started, a.status, a.reason, e.session FROM exchanges e "
        "JOIN attempts a ON a.exchange = e.id "
        "WHERE e.started >= ? AND a.verdict != 'deliver' ORDER BY a.id"
    )
    latest: dict[str, dict[str, Any]] = {}
    for backend, started, status, reason, session in conn.execute(sql, (since,)):
        latest[backend] = {"at": started, "status": status, "reason": reason, "session": session}
    return latest


def last_id(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM exchanges").fetchone()[0])


def _with_attempts(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id = {row["id"]: row for row in rows}
    for row in rows:
        row["attempts"] = []
    for chunk in _chunks(list(by_id), 500):
        marks = ", ".join("?" * len(chunk))
        for exchange, backend, status, verdict, reason in conn.execute(
            "SELECT exchange, backend, status, verdict, reason FROM attempts "
            f"WHERE exchange IN ({marks}) ORDER BY exchange, seq",
            chunk,
        ):
            by_id[exchange]["attempts"].append(
                {"backend": backend, "status": status, "verdict": verdict, "reason": reason}
            )
    return rows


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def session_failures(conn: sqlite3.Connection, session: str | None, since: float) -> int:
    """How many of a session's exchanges since `since` failed: to seed Spend."""
    clause, params = Filter(session=session, since=since).where()
    if session is None:
        clause += " AND session IS NULL"
    sql = f"SELECT COUNT(*) FROM exchanges WHERE {clause} AND {FAILED_SQL}"
    return int(conn.execute(sql, params).fetchone()[0])


def session_usage(
    conn: sqlite3.Connection, session: str | None, since: float
) -> list[tuple[Usage, str | None, str | None, str | None, int, int]]:
    """A session's tokens per (backend, model, client model) since `since`: to seed Spend."""
    clause, params = Filter(session=session, since=since).where()
    if session is None:
        clause += " AND session IS NULL"
    sql = (
        f"SELECT backend, {MODEL_SQL}, client_model, COUNT(*), "
        "SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens), "
        "SUM(cache_write_tokens), "
        "SUM(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens > 0) "
        f"FROM exchanges WHERE {clause} GROUP BY 1, 2, 3"
    )
    return [
        (Usage(*(int(v or 0) for v in r[4:8])), r[0], r[1], r[2], int(r[3]), int(r[8] or 0))
        for r in conn.execute(sql, params)
    ]

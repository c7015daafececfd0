"""What the dashboard shows, gathered from the session registry, each live router's status
and the ledger, as plain JSON-ready values.

Synchronous (SQLite, loopback sockets): live.Feed runs `Gatherer.tick` in a worker thread,
one tick at a time. The registry is listed without cleaning it, so a stale session stays
on the page until the user removes it. No value of a key ever goes into what is gathered:
a backend's key is `set` or `missing`, by the name of its variable.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from hotswap.backend_rows import backend_rows
from hotswap.config.loading import Config
from hotswap.config.prices import PriceTable, price_table
from hotswap.dashboard.spend import SPEND_DAYS, Grid, day_grid, day_start, empty_spend, spend_of
from hotswap.figures import duration_ms, tokens, usd, usd_sum
from hotswap.ledger import queries, report
from hotswap.ledger.store import LEDGER_ERRORS, connect, ledger_path
from hotswap.sessions.registry import Session, list_sessions, router_status
from hotswap.sessions.switch_table import request_counts, router_note
from hotswap.sessions.switch_targets import session_target

LOG_FIRST = 50  # exchanges a page gets when it opens
LOG_BATCH = 500  # new exchanges read per tick at most (the rest on the next ticks)
ERRORS_SINCE_S = 7 * 86400  # how far back a backend's last error is looked for at start
EARLIER_REFRESH_S = 600.0  # the spend's earlier days are read again this often at most
_BREAKER_RANK = {"closed": 0, "half-open": 1, "open": 2}
Status = dict[str, object]


# -- sessions ------------------------------------------------------------------------------


def breaker_summary(status: Status) -> tuple[str, str]:
    """(worst state, text) of a router's breakers: `closed`, or who is open and for how long."""
    breakers = status.get("breakers")
    if not isinstance(breakers, dict):
        return "", ""
    worst, parts = "closed", []
    for name, snap in sorted(breakers.items()):
        state = str(snap.get("state", "closed")) if isinstance(snap, dict) else "closed"
        if state == "closed":
            continue
        worst = max(worst, state, key=_BREAKER_RANK.__getitem__)
        retry = snap.get("retry_in_s")
        parts.append(f"{name} {state}" + (f" (retry in {retry:g} s)" if retry else ""))
    return worst, ", ".join(parts) or "closed"


def session_row(
    config: Config,
    session: Session,
    alive: bool,
    status: Status,
    cost: queries.CostLine | None,
    made: int = 0,
) -> dict[str, Any]:
    """One row of the sessions table: its requests as its router counts them (as `hotswap
    sessions` does), else, a router gone or silent, the `made` the ledger holds."""
    current = session_target(config, session, alive).current(config)
    worst, breakers = breaker_summary(status)
    if not alive:
        note = "stale: its hotswap process is gone (remove it)"
    elif not status:
        note = "its router does not answer"
    else:
        note = router_note(status)
    line = cost or queries.CostLine(session.id)
    return {
        "id": session.id,
        "port": session.port,
        "cwd": session.cwd,
        "started": session.started,
        "alive": alive,
        "backend": current,
        "backend_name": current.split(" ", 1)[0],
        "requests": request_counts(status)[0] if status else made,
        "cost_today": usd_sum(line.cost_usd, line.unpriced),
        "cost_today_usd": round(line.cost_usd, 6),
        "note": note,
        "breaker": worst,
        "breakers": breakers,
    }


# -- backends ------------------------------------------------------------------------------


def key_state(row: Mapping[str, Any]) -> str:
    """`DEEPSEEK_API_KEY set` / `... missing`: never any character of the value."""
    if row["auth"] == "none":
        return "none needed"
    if row["auth"] == "passthrough":
        return f"{row['key_env']} set" if row["key_env"] else "Claude Code's own login"
    return f"{row['key_env']} {'set' if row['key_set'] else 'missing'}"


def backend_table(config: Config, environ: Mapping[str, str]) -> list[dict[str, Any]]:
    """The backends and their key state (the dashboard's environment, as `hotswap backends`)."""
    return [
        {
            "name": row["name"],
            "aliases": row["aliases"],
            "wire": row["wire"],
            "key": key_state(row),
            "key_ok": row["auth"] == "none" or bool(row["key_set"]) or row["auth"] == "passthrough",
            "default": row["default"],
        }
        for row in backend_rows(config, environ, None)
    ]


def with_health(
    rows: list[dict[str, Any]],
    statuses: Mapping[str, Status],
    errors: Mapping[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """Each backend row with its breakers in the live routers, the sessions whose router
    lacks its key (`missing_keys` in their status), and its last failure."""
    out = []
    for row in rows:
        name, states, lacking = row["name"], [], []
        for sid, status in sorted(statuses.items()):
            breakers = status.get("breakers")
            snap = breakers.get(name) if isinstance(breakers, dict) else None
            if isinstance(snap, dict) and snap.get("state", "closed") != "closed":
                states.append(f"{snap['state']} in {sid}")
            missing = status.get("missing_keys")
            if isinstance(missing, dict) and name in missing:
                lacking.append(sid)
        out.append(
            {
                **row,
                "breaker": ", ".join(states) or "closed",
                "key_missing_in": lacking,
                "last_error": errors.get(name),
            }
        )
    return out


# -- spend ---------------------------------------------------------------------------------


# -- the log -------------------------------------------------------------------------------


def log_row(entry: dict[str, Any]) -> dict[str, Any]:
    """A ledger entry (report.log_entry) as a row of the live log."""
    return {
        "id": entry["id"],
        "started": entry["started"],
        "session": entry["session"] or "serve",
        "backend": entry["backend"] or "-",
        "model": entry["wire_model"] or entry["response_model"] or entry["client_model"] or "-",
        "status": entry["status"],
        "outcome": entry["outcome"],
        "input_tokens": entry["input_tokens"],
        "output_tokens": entry["output_tokens"],
        "cache_read_tokens": entry["cache_read_tokens"],
        "tokens": _log_tokens(entry),
        "cost": usd(entry["cost_usd"]),
        "ttfb_ms": entry["ttfb_ms"],
        "ttfb": duration_ms(entry["ttfb_ms"]),
        "note": report.log_note(entry),
    }


def _log_tokens(entry: dict[str, Any]) -> str:
    cached = entry["cache_read_tokens"]
    text = f"{tokens(entry['input_tokens'])} in · {tokens(entry['output_tokens'])} out"
    return text + (f" · {tokens(cached)} cached" if cached else "")


def _failures(rows: list[dict[str, Any]], into: dict[str, dict[str, Any]]) -> None:
    """Keep each backend's latest attempt that did not deliver, from newly read rows."""
    for row in rows:
        for attempt in row["attempts"]:
            if attempt["verdict"] != "deliver":
                into[attempt["backend"]] = {
                    "at": row["started"],
                    "status": attempt["status"],
                    "reason": attempt["reason"],
                    "session": row["session"],
                }


# -- one tick ------------------------------------------------------------------------------


@dataclass
class Tick:
    sessions: list[dict[str, Any]]
    backends: list[dict[str, Any]]
    spend: dict[str, Any]
    log: list[dict[str, Any]]  # exchanges written since the last tick, oldest first
    ledger_problem: str | None = None
    log_reset: bool = False  # `log` is the newest exchanges, read afresh (not new ones)


@dataclass
class Gatherer:
    """Reads everything the page shows; remembers between ticks where the ledger's tail
    was (its last row id), each backend's last failure, and the spend (recomputed when
    the ledger grows, the day turns or the sessions change)."""

    config: Config
    environ: Mapping[str, str]
    clock: Callable[[], float] = time.time
    last_row: int | None = None
    errors: dict[str, dict[str, Any]] = field(default_factory=dict)
    _table: PriceTable = field(init=False)
    _backends: list[dict[str, Any]] = field(init=False)
    _spend_key: tuple[Any, ...] | None = None
    _past: Grid = field(default_factory=list)  # the spend's days before today
    _past_read: tuple[date, float] | None = None  # (for which today, when)
    _spend: dict[str, Any] = field(default_factory=dict)
    _today: dict[str, queries.CostLine] = field(default_factory=dict)
    _made: dict[str, int] = field(default_factory=dict)  # each session's requests, all told

    def __post_init__(self) -> None:
        self._table = price_table(self.config.prices)
        self._backends = backend_table(self.config, self.environ)

    def tick(self) -> Tick:
        now = self.clock()
        found = list_sessions(self.config.sessions_dir, clean=False)
        statuses = {s.id: (router_status(s) if alive else {}) for s, alive in found}
        log, problem, reset = self._read_ledger(now, found)
        rows = [
            session_row(
                self.config, s, a, statuses[s.id], self._today.get(s.id), self._made.get(s.id, 0)
            )
            for s, a in found
        ]
        live = {sid: st for sid, st in statuses.items() if st}
        backends = with_health(self._backends, live, self.errors)
        spent = self._spend or empty_spend(date.fromtimestamp(now))
        return Tick(rows, backends, spent, log, problem, reset)

    def _read_ledger(
        self, now: float, found: list[tuple[Session, bool]]
    ) -> tuple[list[dict[str, Any]], str | None, bool]:
        """New exchanges, a problem reading the ledger, and whether the exchanges are the
        newest ones read afresh (the first read, or a ledger made anew) rather than new."""
        path = ledger_path(self.config.state_dir)
        if not path.exists():
            return [], None, False
        try:
            conn = connect(path, create=False)
            try:
                rows, reset = self._tail(conn, now, found)
                return rows, None, reset
            finally:
                conn.close()
        except LEDGER_ERRORS as exc:
            return [], f"cannot read {path}: {exc}", False

    def _tail(
        self, conn: sqlite3.Connection, now: float, found: list[tuple[Session, bool]]
    ) -> tuple[list[dict[str, Any]], bool]:
        newest = queries.last_id(conn)
        last = self.last_row
        reset = last is None or newest < last  # the first read, or a ledger made anew
        if last is None or reset:
            rows = queries.recent(conn, LOG_FIRST)
            self.errors = queries.failed_attempts(conn, now - ERRORS_SINCE_S)
            self.last_row = newest
        else:
            rows = queries.after(conn, last, limit=LOG_BATCH)
            _failures(rows, self.errors)
            self.last_row = rows[-1]["id"] if rows else last
        today = date.fromtimestamp(now)
        key = (self.last_row, today, tuple((s.id, s.started) for s, _ in found))
        if key != self._spend_key:
            grid = self._earlier(conn, today, now) + day_grid(conn, self._table, today, None)
            self._spend = spend_of(grid, today)
            self._today = self._costs_today(conn, today, found)
            self._made = self._requests_made(conn, found)
            self._spend_key = key
        return [log_row(report.log_entry(row, self._table)) for row in rows], reset

    def _earlier(self, conn: sqlite3.Connection, today: date, now: float) -> Grid:
        """The days before today of the spend: read once a day (and every
        EARLIER_REFRESH_S, for a ledger pruned meanwhile), not on every new exchange:
        30 days of a busy ledger take a few hundred ms to sum."""
        if (
            self._past_read is None
            or self._past_read[0] != today
            or (now - self._past_read[1] > EARLIER_REFRESH_S)
        ):
            first = today - timedelta(days=SPEND_DAYS - 1)
            self._past = day_grid(conn, self._table, first, today)
            self._past_read = (today, now)
        return self._past

    def _requests_made(
        self, conn: sqlite3.Connection, found: list[tuple[Session, bool]]
    ) -> dict[str, int]:
        """Each session's requests since it started, as the ledger holds them: what the
        row of a session whose router is gone shows (a stale session made some)."""
        out = {}
        for session, _ in found:
            where = queries.Filter(session=session.id, since=session.started)
            out[session.id] = queries.cost(conn, self._table, "session", where)[1].requests
        return out

    def _costs_today(
        self, conn: sqlite3.Connection, today: date, found: list[tuple[Session, bool]]
    ) -> dict[str, queries.CostLine]:
        """Each session's cost today (since it started, if that was today: an older
        session may have had the same short id)."""
        midnight = day_start(today)
        out = {}
        for session, _ in found:
            where = queries.Filter(session=session.id, since=max(midnight, session.started))
            out[session.id] = queries.cost(conn, self._table, "session", where)[1]
        return out

"""What `hotswap cost`, `hotswap logs` and GET /_hotswap/cost do, behind their parsing."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from hotswap.config.loading import Config
from hotswap.config.prices import price_table
from hotswap.ledger import queries, report
from hotswap.ledger.store import connect, ledger_path, prune

FOLLOW_POLL_S = 0.5


class CostQuery(NamedTuple):
    by: str = "backend"
    since: float | None = None
    session: str | None = None

    @classmethod
    def parse(cls, by: str, since: str | None, session: str | None) -> CostQuery:
        if by not in queries.GROUPS:
            raise ValueError(f"cannot group by {by!r}; one of {', '.join(queries.GROUPS)}")
        return cls(by, queries.parse_since(since) if since else None, session or None)


def open_existing(config: Config) -> sqlite3.Connection | None:
    """The ledger, or None when nothing was ever recorded."""
    path = ledger_path(config.state_dir)
    if not path.exists():
        return None
    return connect(path, create=False)


def cost_lines(config: Config, query: CostQuery) -> tuple[list[queries.CostLine], queries.CostLine]:
    conn = open_existing(config)
    if conn is None:
        return [], queries.CostLine("total")
    try:
        where = queries.Filter(session=query.session, since=query.since)
        return queries.cost(conn, price_table(config.prices), query.by, where)
    finally:
        conn.close()


def cost_report(config: Config, query: CostQuery) -> dict[str, Any]:
    lines, total = cost_lines(config, query)
    return report.cost_json(lines, total, query.by, query.session, query.since)


def cost_text(config: Config, query: CostQuery, width: int | None = None) -> str:
    lines, total = cost_lines(config, query)
    return report.cost_table(lines, total, query.by, width)


def prune_before(config: Config, before: float) -> int:
    conn = open_existing(config)
    if conn is None:
        return 0
    try:
        count = prune(conn, before)
        if count:
            conn.execute("VACUUM")  # give the space back to the disk
        return count
    finally:
        conn.close()


def recent_entries(config: Config, n: int, session: str | None) -> list[dict[str, Any]]:
    conn = open_existing(config)
    if conn is None:
        return []
    table = price_table(config.prices)
    try:
        return [report.log_entry(row, table) for row in queries.recent(conn, n, session)]
    finally:
        conn.close()


def follow(
    config: Config,
    session: str | None,
    start_after: int | None = None,
    poll_s: float = FOLLOW_POLL_S,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[dict[str, Any]]:
    """New exchanges as they are written (polls the ledger by row id), forever."""
    table = price_table(config.prices)
    path = ledger_path(config.state_dir)
    conn: sqlite3.Connection | None = None
    last = start_after
    while True:
        if conn is None and path.exists():
            conn = connect(path, create=False)
        if conn is not None:
            if last is None:
                last = queries.last_id(conn)
            for row in queries.after(conn, last, session):
                last = row["id"]
                yield report.log_entry(row, table)
        sleep(poll_s)

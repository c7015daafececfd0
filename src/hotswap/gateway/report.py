"""`hotswap gateway cost`: what the team spent and saved, by user (or backend), from the
gateway's ledger in PostgreSQL. Sums are NUMERIC in the database: right to the cent."""

from __future__ import annotations

import time
from typing import Any

from hotswap import columns
from hotswap.figures import tokens, usd, usd_sum
from hotswap.gateway.database import Database

GROUPS = {"user": "user_name", "backend": "backend"}


async def cost_by(
    db: Database, by: str, since_s: float | None = None, user_id: int | None = None
) -> list[dict[str, Any]]:
    """One row per user (or backend): requests, failed, tokens, cost, Claude-equivalent
    cost and savings (USD), unpriced exchanges; `since_s`: only that many seconds back;
    `user_id`: that user's exchanges only (what their own status shows them)."""
    column = GROUPS[by]
    since = time.time() - since_s if since_s is not None else 0.0
    mine = " AND user_id = %s" if user_id is not None else ""
    rows = await db.fetch(
        f"SELECT COALESCE({column}, '-'), count(*),"
        " count(*) FILTER (WHERE outcome NOT IN ('ok', 'client_gone')),"
        " COALESCE(sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens), 0),"
        " COALESCE(sum(cost_usd), 0), COALESCE(sum(claude_usd), 0),"
        " count(*) FILTER (WHERE cost_usd IS NULL)"
        f" FROM gateway_exchanges WHERE started >= %s{mine} GROUP BY 1 ORDER BY 5 DESC, 1",
        (since,) if user_id is None else (since, user_id),
    )
    return [
        {
            by: name,
            "requests": int(n),
            "failed": int(failed),
            "tokens": int(tokens),
            "cost_usd": round(float(cost), 6),
            "claude_usd": round(float(claude), 6),
            "savings_usd": round(float(claude - cost), 6),
            "unpriced": int(unpriced),
        }
        for name, n, failed, tokens, cost, claude, unpriced in rows
    ]


def cost_table(rows: list[dict[str, Any]], by: str) -> str:
    """The rows, figures as every hotswap table writes them (hotswap/figures.py): a cost
    that left out unpriced exchanges is `≥$…`, or `unknown` when nothing had a price."""
    if not rows:
        return "no exchanges yet"
    head = [by.upper(), "REQUESTS", "TOKENS", "COST", "CLAUDE", "SAVED"]
    cells = [
        [
            str(r[by]),
            str(r["requests"]),
            tokens(r["tokens"]),
            usd_sum(r["cost_usd"], r["unpriced"]),
            usd(r["claude_usd"]),
            usd_sum(r["savings_usd"], r["unpriced"]),
        ]
        for r in rows
    ]
    return columns.table(head, cells, right=range(1, len(head)))


RECENT_ERRORS = 5


async def recent_errors(db: Database, user_id: int, since: float) -> list[dict[str, Any]]:
    """A user's last failed exchanges (their own only; the text was masked when recorded)."""
    rows = await db.fetch(
        "SELECT started, backend, status, outcome, error FROM gateway_exchanges"
        " WHERE user_id = %s AND started >= %s AND outcome NOT IN ('ok', 'client_gone')"
        " ORDER BY started DESC LIMIT %s",
        (user_id, since, RECENT_ERRORS),
    )
    return [
        {"at": round(at, 3), "backend": backend, "status": status, "outcome": outcome,
         "error": error}
        for at, backend, status, outcome, error in rows
    ]  # fmt: skip

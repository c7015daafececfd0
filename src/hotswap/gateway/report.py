"""`hotswap gateway cost`: what the team spent and saved, by user (or backend), from the
gateway's ledger in PostgreSQL. Sums are NUMERIC in the database: right to the cent."""

from __future__ import annotations

import time
from typing import Any

from hotswap import columns
from hotswap.figures import tokens, usd, usd_sum
from hotswap.gateway.database import Database

GROUPS = {"user": "user_name", "backend": "backend"}


async def cost_by(db: Database, by: str, since_s: float | None = None) -> list[dict[str, Any]]:
    """One row per user (or backend): requests, failed, tokens, cost, Claude-equivalent
    cost and savings (USD), unpriced exchanges; `since_s`: only that many seconds back."""
    column = GROUPS[by]
    since = time.time() - since_s if since_s is not None else 0.0
    rows = await db.fetch(
        f"SELECT COALESCE({column}, '-'), count(*),"
        " count(*) FILTER (WHERE outcome NOT IN ('ok', 'client_gone')),"
        " COALESCE(sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens), 0),"
        " COALESCE(sum(cost_usd), 0), COALESCE(sum(claude_usd), 0),"
        " count(*) FILTER (WHERE cost_usd IS NULL)"
        f" FROM gateway_exchanges WHERE started >= %s GROUP BY 1 ORDER BY 5 DESC, 1",
        (since,),
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

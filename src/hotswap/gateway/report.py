"""`hotswap gateway cost`: what the team spent and saved, by user (or backend), from the
gateway's ledger in PostgreSQL. Sums are NUMERIC in the database: right to the cent."""

from __future__ import annotations

import time
from typing import Any

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
    if not rows:
        return "no exchanges yet"
    head = [by.upper(), "REQUESTS", "TOKENS", "COST", "CLAUDE", "SAVED"]
    cells = [head] + [
        [str(r[by]), str(r["requests"]), f"{r['tokens']:,}", f"${r['cost_usd']:.2f}",
         f"${r['claude_usd']:.2f}", f"${r['savings_usd']:.2f}"]
        for r in rows
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                     for row in cells)  # fmt: skip

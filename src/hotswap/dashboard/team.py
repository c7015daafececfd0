"""The team view: `hotswap dashboard --database URL`, one row per user of a team gateway,
read from its ledger in PostgreSQL (gateway/ledger.py writes it, every instance).

GET /            the page, once with ?token=... (security.py: the same rules as the
                 personal dashboard: loopback, the token, no foreign Origin)
GET /team.json   the rows, read again on each request (the page asks every POLL_S)
GET /static/...  script and styles

Each user's requests, tokens, cost and savings today (local midnight, as `hotswap cost`)
and over the last DAYS days, their key's state and daily budget, and when they were last
seen. Users who made no request are listed too; a revoked key's user only while the
ledger has their spend. Sums are NUMERIC in the database: right to the cent. Only names,
counts and money are read: never a key (the users table keeps hashes and a 4-character
hint, and neither is read here).
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from aiohttp import web

from hotswap import __version__
from hotswap.config.budgets import midnight, period_start
from hotswap.dashboard.app import PAGE, RunningDashboard, page_app, serve_page
from hotswap.dashboard.security import new_token
from hotswap.dashboard.spend import SPEND_DAYS
from hotswap.figures import age, tokens, usd, usd_sum
from hotswap.gateway.database import Database, DatabaseError
from hotswap.gateway.report import tokens_sql, unpriced_sql, unsaved_sql
from hotswap.ledger.queries import FAILED_SQL

DAYS = SPEND_DAYS  # the personal dashboard's span
POLL_S = 5.0
DB = web.AppKey("team_db", Database)

# One row per user: today's figures and the last DAYS days', from one scan of the ledger.
# Unpriced and unsaved exchanges as `hotswap cost --database` counts them (gateway/report.py).
TEAM_SQL = f"""
SELECT u.name, u.revoked IS NOT NULL, u.daily_usd,
       count(e.id) FILTER (WHERE e.started >= %s),
       COALESCE(sum(e.cost_usd) FILTER (WHERE e.started >= %s), 0),
       COALESCE(sum(e.claude_usd - e.cost_usd) FILTER (WHERE e.started >= %s), 0),
       count(e.id) FILTER (WHERE e.started >= %s AND {unpriced_sql("e.")}),
       count(e.id) FILTER (WHERE e.started >= %s AND {unsaved_sql("e.")}),
       count(e.id),
       COALESCE(sum({tokens_sql("e.")}), 0),
       COALESCE(sum(e.cost_usd), 0),
       COALESCE(sum(e.claude_usd - e.cost_usd), 0),
       count(e.id) FILTER (WHERE {unpriced_sql("e.")}),
       count(e.id) FILTER (WHERE {unsaved_sql("e.")}),
       count(e.id) FILTER (WHERE {FAILED_SQL}),
       max(e.started)
FROM gateway_users u
LEFT JOIN gateway_exchanges e ON e.user_id = u.id AND e.started >= %s
GROUP BY u.id, u.name, u.revoked, u.daily_usd
HAVING u.revoked IS NULL OR count(e.id) > 0
ORDER BY 11 DESC, 1
"""


def team_row(values: tuple[Any, ...], now: float) -> dict[str, Any]:
    """One user's figures, as numbers and as every hotswap table writes them."""
    name, revoked, budget, n_today, cost_today, saved_today = values[:6]
    unpriced_today, unsaved_today, n, toks, cost, saved, unpriced, unsaved = values[6:14]
    failed, last = values[14:]
    return {
        "user": name,
        "key": "revoked" if revoked else "active",
        "budget": "-" if budget is None else usd(float(budget)) + " a day",
        "requests_today": int(n_today),
        "cost_today_usd": round(float(cost_today), 6),
        "cost_today": usd_sum(float(cost_today), int(unpriced_today)),
        "saved_today": usd_sum(float(saved_today), int(unsaved_today)),
        "requests": int(n),
        "failed": int(failed),
        "tokens": tokens(int(toks)),
        "cost_usd": round(float(cost), 6),
        "cost": usd_sum(float(cost), int(unpriced)),
        "saved": usd_sum(float(saved), int(unsaved)),
        "last_seen": "-" if last is None else age(now - float(last)) + " ago",
    }


async def team_rows(db: Database, now: float | None = None) -> list[dict[str, Any]]:
    now = time.time() if now is None else now
    today = period_start("daily", now)
    first = date.fromtimestamp(now) - timedelta(days=DAYS - 1)
    since = midnight(first)  # from the local date: a DST change does not move it an hour
    rows = await db.fetch(TEAM_SQL, (today, today, today, today, today, since))
    return [team_row(values, now) for values in rows]


async def handle_page(request: web.Request) -> web.Response:
    html = request.app[PAGE].render(version=__version__, days=DAYS, poll_ms=int(POLL_S * 1000))
    return web.Response(text=html, content_type="text/html")


async def handle_rows(request: web.Request) -> web.Response:
    try:
        rows = await team_rows(request.app[DB])
    except DatabaseError as exc:
        return web.json_response({"error": str(exc), "users": []}, status=503)
    return web.json_response({"days": DAYS, "users": rows})


async def _close_db(app: web.Application) -> None:
    await app[DB].close()


def make_team_app(database_url: str, token: str) -> web.Application:
    app = page_app(token, "team.html")
    app[DB] = Database(database_url)
    app.router.add_get("/", handle_page)
    app.router.add_get("/team.json", handle_rows)
    app.on_cleanup.append(_close_db)
    return app


async def start_team_view(database_url: str, port: int) -> RunningDashboard:
    """Bind 127.0.0.1:`port` (0: a free one) and serve; the schema is checked first, so a
    wrong URL fails here (DatabaseError) rather than on the page."""
    db = Database(database_url)
    try:
        await db.migrate()
    finally:
        await db.close()
    token = new_token()
    return await serve_page(make_team_app(database_url, token), port, token)

"""`GET /_hotswap/cost`: the cost report of one router's session, as `hotswap cost --json`.

Query parameters as the command's options: `by` (backend | model | day | session), `since`
(7d, 12h, a date), `session` (default: the router's own session; all sessions for a shared
`hotswap serve` router). SQLite is read in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from hotswap.errors import RequestError
from hotswap.ledger.usage import CostQuery, cost_report
from hotswap.router.proxy import STATE


async def handle_cost(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        query = CostQuery.parse(
            by=request.query.get("by", "backend"),
            since=request.query.get("since"),
            session=request.query.get("session", state.session_id),
        )
    except ValueError as exc:
        raise RequestError(f"hotswap: {exc}", status=400) from None
    report: dict[str, Any] = await asyncio.to_thread(cost_report, state.config, query)
    return web.json_response(report)

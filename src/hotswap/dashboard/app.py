"""The dashboard's aiohttp application: the page, its events, its CSV files and its actions.

GET  /                 the page (Jinja2), once with ?token=... (security.py)
GET  /events           server-sent events (live.py)
GET  /export/NAME.csv  the spend tables: cost (per day and backend), cache (per day)
GET  /static/...       script, styles, uPlot
POST /api/switch       {"session": ID or "*", "backend": NAME}
POST /api/remove       {"session": ID}: a stale session's record
POST /api/check        {"backend": NAME}: `hotswap doctor --live NAME`
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from hotswap import __version__
from hotswap.config.loading import Config
from hotswap.config.prices import price_table
from hotswap.dashboard import actions
from hotswap.dashboard.data import Gatherer, backend_table
from hotswap.dashboard.live import FEED, POLL_S, Feed, handle_events
from hotswap.dashboard.security import Access, access_middleware, add_headers, new_token
from hotswap.dashboard.spend import empty_spend, spend
from hotswap.ledger.usage import open_existing

HERE = Path(__file__).parent
MAX_BODY_BYTES = 16 * 1024
CONFIG = web.AppKey("config", Config)
ENVIRON = web.AppKey("environ", Mapping[str, str])
PAGE = web.AppKey("page", jinja2.Template)


def make_app(
    config: Config, token: str, environ: Mapping[str, str], poll_s: float = POLL_S
) -> web.Application:
    app = page_app(token, "index.html", client_max_size=MAX_BODY_BYTES)
    app[CONFIG] = config
    app[ENVIRON] = environ
    app[FEED] = Feed(Gatherer(config, environ), poll_s)
    app.router.add_get("/", handle_page)
    app.router.add_get("/events", handle_events)
    app.router.add_get("/export/{table}.csv", handle_csv)
    app.router.add_post("/api/switch", handle_switch)
    app.router.add_post("/api/remove", handle_remove)
    app.router.add_post("/api/check", handle_check)
    app.on_shutdown.append(_close_feed)
    return app


def page_app(token: str, page: str, **settings: Any) -> web.Application:
    """A page's application, the personal dashboard's or the team view's: the token and
    the security rules (security.py), its template as app[PAGE], the static files."""
    app = web.Application(middlewares=[access_middleware(Access(token))], **settings)
    app.on_response_prepare.append(add_headers)
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True
    )
    app[PAGE] = templates.get_template(page)
    app.router.add_static("/static/", HERE / "static")
    return app


async def _close_feed(app: web.Application) -> None:
    await app[FEED].close()


async def handle_page(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    html = request.app[PAGE].render(
        version=__version__,
        backends=backend_table(config, request.app[ENVIRON]),
        default_backend=config.default_backend,
    )
    return web.Response(text=html, content_type="text/html")


# -- actions -------------------------------------------------------------------------------


async def _fields(request: web.Request, *names: str) -> list[str]:
    """The named string fields of a JSON object body."""
    if request.content_type != "application/json":
        raise actions.ActionError("send JSON (Content-Type: application/json)", 415)
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise actions.ActionError("the body is not JSON") from None
    values = [body.get(name) if isinstance(body, dict) else None for name in names]
    if not all(isinstance(v, str) and v for v in values):
        raise actions.ActionError(f"expected a JSON object with {', '.join(names)}")
    return [str(v) for v in values]


def _error(exc: actions.ActionError) -> web.Response:
    return web.json_response({"ok": False, "error": str(exc)}, status=exc.status)


async def handle_switch(request: web.Request) -> web.Response:
    try:
        session, backend = await _fields(request, "session", "backend")
        config = request.app[CONFIG]
        lines = await asyncio.to_thread(actions.switch_sessions, config, backend, session)
    except actions.ActionError as exc:
        return _error(exc)
    request.app[FEED].poke()
    return web.json_response({"ok": True, "lines": lines})


async def handle_remove(request: web.Request) -> web.Response:
    try:
        (session,) = await _fields(request, "session")
        await asyncio.to_thread(actions.remove_stale, request.app[CONFIG], session)
    except actions.ActionError as exc:
        return _error(exc)
    request.app[FEED].poke()
    return web.json_response({"ok": True})


async def handle_check(request: web.Request) -> web.Response:
    try:
        (backend,) = await _fields(request, "backend")
        app = request.app
        result = await actions.check_backend(app[CONFIG], backend, app[ENVIRON])
    except actions.ActionError as exc:
        return _error(exc)
    return web.json_response({"ok": True, "result": result})


# -- CSV -----------------------------------------------------------------------------------


def spend_now(config: Config) -> dict[str, Any]:
    """The last 30 days' spend, read now (the same numbers as the page's)."""
    today = date.today()
    conn = open_existing(config)
    if conn is None:
        return empty_spend(today)
    try:
        return spend(conn, price_table(config.prices), today)
    finally:
        conn.close()


def cost_csv(data: Mapping[str, Any]) -> str:
    """Per day: each backend's cost, the total, and the savings against Claude's prices."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = [b["name"] for b in data["backends"]]
    header = ["day", *(_text_cell(f"{n}_usd") for n in names), "total_usd", "savings_usd"]
    writer.writerow([*header, "requests"])
    for i, day in enumerate(data["days"]):
        costs = [b["cost"][i] for b in data["backends"]]
        writer.writerow([day, *costs, data["total"][i], data["savings"][i], data["requests"][i]])
    return out.getvalue()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(text: str) -> str:
    """A text cell a spreadsheet would run as a formula (a backend named `=HYPERLINK(...)`
    in an old ledger row) starts with a quote instead, as OWASP advises. Numbers are not
    text cells: a negative saving stays a number."""
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def cache_csv(data: Mapping[str, Any]) -> str:
    """Per day: prompt tokens, those read from a cache, and the hit rate."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["day", "prompt_tokens", "cache_read_tokens", "cache_hit_rate"])
    for i, day in enumerate(data["days"]):
        rate = data["hit_rate"][i]
        writer.writerow(
            [day, data["prompt"][i], data["cache_read"][i], "" if rate is None else rate]
        )
    return out.getvalue()


CSV_TABLES = {"cost": cost_csv, "cache": cache_csv}


async def handle_csv(request: web.Request) -> web.Response:
    name = request.match_info["table"]
    render = CSV_TABLES.get(name)
    if render is None:
        raise web.HTTPNotFound(text=f"no table {name}; one of {', '.join(CSV_TABLES)}")
    data = await asyncio.to_thread(spend_now, request.app[CONFIG])
    filename = f"hotswap-{name}-{date.today().isoformat()}.csv"
    return web.Response(
        text=render(data),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# -- running -------------------------------------------------------------------------------


class RunningDashboard:
    """A started dashboard: its URL (with the token), and how to stop it."""

    def __init__(self, runner: web.AppRunner, port: int, token: str) -> None:
        self.runner = runner
        self.port = port
        self.token = token

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/?token={self.token}"

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_dashboard(
    config: Config,
    port: int,
    environ: Mapping[str, str],
    poll_s: float = POLL_S,
) -> RunningDashboard:
    """Bind 127.0.0.1:`port` (0: a free one) and serve; raises OSError if it cannot.
    `environ` is the command line's (only config and the CLI read the process's)."""
    token = new_token()
    return await serve_page(make_app(config, token, environ, poll_s), port, token)


async def serve_page(app: web.Application, port: int, token: str) -> RunningDashboard:
    """Serve `app` on 127.0.0.1:`port` (0: a free one); raises OSError if it cannot."""
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return RunningDashboard(runner, int(runner.addresses[0][1]), token)

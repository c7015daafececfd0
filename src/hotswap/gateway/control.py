"""The control endpoints as the gateway answers them: each user sees their own and nothing
of anyone else's. The router's status and cost (`/_hotswap/status`, `/_hotswap/cost`,
deepclaude's `/_proxy/status`, `/_router/status`, `/_proxy/cost`) describe one router and
everyone who used it -- every backend's counters, the last error whoever hit it, the
instance's mode file -- which on a shared gateway would show one user's sessions, spend
and upstream errors to any other key. The gateway's middleware routes these paths here.

    status: the caller's name, session and mode (with where it came from), their sessions'
            modes, the fallback note, their requests and recent errors today, their spend
            today against their daily budget, the backends they may use; the instance's
            pid, uptime and version (what `--workers` tells apart), never another user's
    cost:   their exchanges by backend, today (UTC) or `?days=N`, in deepclaude's shape
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from hotswap import __version__
from hotswap.config.loading import Config
from hotswap.errors import RequestError
from hotswap.gateway.budget import DAY_S, Budgets, utc_midnight
from hotswap.gateway.caller import Caller, CallerSlot
from hotswap.gateway.database import Database, DatabaseError
from hotswap.gateway.modes import RedisModes
from hotswap.gateway.report import cost_lines, recent_errors
from hotswap.reading.jsoncodec import dump_json
from hotswap.redact import Redactor
from hotswap.router.deepclaude import deepclaude_cost

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STATUS_PATHS = ("/_hotswap/status", "/_proxy/status", "/_router/status")
COST_PATHS = ("/_hotswap/cost", "/_proxy/cost")
MAX_DAYS = 366


@dataclass
class Controls:
    """The caller's own status and cost; `handlers()` is what the middleware routes."""

    config: Config
    slot: CallerSlot
    modes: RedisModes
    budgets: Budgets
    db: Database
    redactor: Redactor
    started: float

    def handlers(self) -> dict[tuple[str, str], Handler]:
        paths = [(p, self.status) for p in STATUS_PATHS] + [(p, self.cost) for p in COST_PATHS]
        return {("GET", path): handler for path, handler in paths}

    def _caller(self) -> Caller:
        caller = self.slot.get()
        assert caller is not None, "the middleware ran"
        return caller

    async def status(self, request: web.Request) -> web.Response:
        caller = self._caller()
        user, now = caller.user, time.time()
        view = await self.modes.view(user.id)
        name = (caller.mode or self.config.default_backend).split()[0]
        backend = self.config.resolve(name)
        mode = backend.name if backend is not None else name
        body: dict[str, Any] = {
            "user": user.name,
            "session": caller.session,
            "mode": mode,
            "model": backend.default_model if backend is not None else None,
            "mode_source": _source(caller, view),
            "default": caller.mode is None,
            "user_mode": view["user_mode"],
            "sessions": view["sessions"],
            "fallback": _note(view["fallback"], mode, caller.session),
            "mode_problem": view["mode_problem"],
            "spend_today_usd": await self.budgets.spent(user.id),
            "daily_usd": user.daily_usd,
            "backends": list(user.backends) or sorted(self.config.backends),
            "pid": os.getpid(),
            "version": __version__,
            "uptime": int(now - self.started),
            "uptime_s": round(now - self.started, 1),
            **await self._activity(user.id, utc_midnight(now)),
        }
        return self._json(body)

    async def _activity(self, uid: int, since: float) -> dict[str, Any]:
        try:
            _lines, total = await cost_lines(self.db, "backend", since, user_id=uid)
            errors = await recent_errors(self.db, uid, since)
        except DatabaseError as exc:
            return {"requests": None, "errors": [], "ledger_problem": str(exc)}
        return {"requests": total.requests, "errors": errors, "ledger_problem": None}

    async def cost(self, request: web.Request) -> web.Response:
        user, now = self._caller().user, time.time()
        since = utc_midnight(now) if "days" not in request.query else now - _days(request)
        lines, total = await cost_lines(self.db, "backend", since, user_id=user.id)
        answer = deepclaude_cost(lines, total)  # the router's own shape, plus who and since
        for line in lines:
            answer["backends"][line.key]["failed"] = line.failures
        return self._json({"user": user.name, "since": round(since, 3), **answer})

    async def fallback_note(self, uid: int, mode: str, session: str | None) -> str | None:
        """Why the gateway switched this session to `mode`, if it did (a sticky fallback)."""
        return _note((await self.modes.view(uid))["fallback"], mode, session)

    def _json(self, body: dict[str, Any]) -> web.Response:
        """Masked as every router answer is: an upstream error may quote a key."""
        data = self.redactor.bytes(dump_json(body))
        return web.Response(body=data, content_type="application/json")


def _days(request: web.Request) -> float:
    try:
        days = float(request.query["days"])
    except ValueError:
        days = -1.0
    if not 0 < days <= MAX_DAYS:
        raise RequestError(f"hotswap gateway: `days` must be a number of days, 0 to {MAX_DAYS}")
    return days * DAY_S


def _source(caller: Caller, view: dict[str, Any]) -> str:
    if caller.mode is None:
        return "default"
    if caller.session and caller.session in view["sessions"]:
        return "session"
    return "user"


def _note(saved: dict[str, Any] | None, mode: str, session: str | None) -> str | None:
    """The fallback's note, while it explains this session's mode (a switch of theirs
    since deletes it; modes.RedisModes.switch)."""
    if saved is None or saved.get("mode") != mode:
        return None
    if saved.get("session") not in (None, session):
        return None
    note = saved.get("note")
    return note if isinstance(note, str) else None

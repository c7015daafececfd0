"""deepclaude's control endpoints, as aliases on every router, for the VS Code tasks, slash
commands and scripts deepclaude users wired to them.

    POST /_proxy/mode    body `backend=NAME` (a form, as `curl -d`) or {"backend": NAME}
                         -> {"mode": NAME, "previous": NAME, ...}; what `hotswap use` does
    GET  /_proxy/status  -> {"mode", "uptime", "requests", "port"} and hotswap's status
    GET  /_router/status    (the name the deepclaude pull request gave it: the same answer)
    GET  /_proxy/cost    -> {"backends": {NAME: {...}}, "total_cost", "anthropic_equivalent",
                         "savings"}: this router's exchanges since it started, from the ledger

Field names are deepclaude's; hotswap's own status fields ride along, except `requests`,
which is deepclaude's total (hotswap's per-backend counts: `requests_by_backend`). They sit
behind the guard of every route (app.py): a session router wants its secret prefix, a
web page's Origin and a foreign Host are refused. Errors are Anthropic-shaped, as every
error of the router is.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from hotswap.errors import RequestError
from hotswap.ledger.queries import CostLine
from hotswap.ledger.usage import CostQuery, cost_lines
from hotswap.router.intake import read_body
from hotswap.router.proxy import STATE
from hotswap.sessions.switch_modes import checked_backend
from hotswap.sessions.switch_targets import SwitchError

MAX_MODE_BODY_BYTES = 4096  # `backend=deepseek` is 16; deepclaude took 1 KB
_USAGE = 'hotswap: POST /_proxy/mode needs backend=NAME (a form field) or {"backend": "NAME"}'


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/_proxy/mode", handle_mode)
    router.add_get("/_proxy/status", handle_status)
    router.add_get("/_router/status", handle_status)
    router.add_get("/_proxy/cost", handle_cost)


def parse_mode_body(raw: bytes, content_type: str) -> tuple[str, str | None]:
    """(backend name, model or None) from a form or JSON body. Pure; raises ValueError."""
    text = raw.decode("utf-8", "replace").strip()
    if content_type == "application/json" or text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise ValueError("the body is not JSON") from None
        fields = data if isinstance(data, dict) else {}
    else:
        fields = {k: v[0] for k, v in parse_qs(text).items()}
    name, model = fields.get("backend"), fields.get("model")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("no backend named")
    if model is not None and not isinstance(model, str):
        raise ValueError("model must be a string")
    return name.strip(), model


async def handle_mode(request: web.Request) -> web.Response:
    """Switch this router's mode exactly as `hotswap use` does: the same check
    (switch.checked_backend), written through the router's mode store (seams.ModeStore:
    for a session or `serve`, the mode file, atomically by modefile.write_mode)."""
    state = request.app[STATE]
    raw = await read_body(request, MAX_MODE_BODY_BYTES)
    try:
        name, model = parse_mode_body(raw, request.content_type)
        backend = checked_backend(state.config, name, model)
    except ValueError as exc:
        raise RequestError(f"{_USAGE} ({exc})", status=400) from None
    except SwitchError as exc:
        raise RequestError(f"hotswap: {exc}", status=400) from None
    previous = state.read_mode().backend.name
    mode = f"{backend.name} {model}" if model else backend.name  # as ModeStore.read gives it
    await asyncio.to_thread(state.modes.write, mode, f"switched to {mode} (POST /_proxy/mode)")
    answer: dict[str, Any] = {
        "mode": backend.name,
        "previous": previous,
        "model": model,
        "mode_file": str(state.mode_file),
    }
    variable = state.config.missing_keys().get(backend.name)
    if variable:
        answer["warning"] = f"{variable} is not set where this router runs"
    return web.json_response(answer)


def deepclaude_status(status: dict[str, Any]) -> dict[str, Any]:
    """hotswap's status with deepclaude's field names: `mode` (already hotswap's),
    `uptime` (whole seconds), `requests` (a total), `port`."""
    by_backend = status.get("requests", {})
    return {
        **status,
        "uptime": int(status.get("uptime_s", 0)),
        "requests": sum(by_backend.values()),
        "requests_by_backend": by_backend,
    }


async def handle_status(request: web.Request) -> web.Response:
    return web.json_response(deepclaude_status(request.app[STATE].status()))


def _usd(value: float) -> float:
    return round(value, 6)


def deepclaude_cost(lines: list[CostLine], total: CostLine) -> dict[str, Any]:
    """A cost report (grouped by backend) in deepclaude's shape. `anthropic_equivalent` is
    what Claude would have cost: cost plus savings (exchanges without a price count $0 in
    both; `unpriced_requests` says how many)."""
    backends = {
        line.key: {
            "input_tokens": line.usage.input_tokens,
            "output_tokens": line.usage.output_tokens,
            "cache_read_tokens": line.usage.cache_read_tokens,
            "cache_write_tokens": line.usage.cache_write_tokens,
            "requests": line.requests,
            "cost": _usd(line.cost_usd),
            "anthropic_equivalent": _usd(line.cost_usd + line.savings_usd),
        }
        for line in lines
    }
    return {
        "backends": backends,
        "total_cost": _usd(total.cost_usd),
        "anthropic_equivalent": _usd(total.cost_usd + total.savings_usd),
        "savings": _usd(total.savings_usd),
        "unpriced_requests": total.unpriced,
    }


async def handle_cost(request: web.Request) -> web.Response:
    """This router's exchanges since it started (its session's, for a session router), as
    the ledger holds them: SQLite read in a worker thread, never on the event loop."""
    state = request.app[STATE]
    query = CostQuery(by="backend", since=state.started, session=state.session_id)
    lines, total = await asyncio.to_thread(cost_lines, state.config, query)
    answer = deepclaude_cost(lines, total)
    answer.update(session=state.session_id, since=state.started)
    return web.json_response(answer)

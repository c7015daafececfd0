"""The request path of `POST /v1/messages` and `/v1/messages/count_tokens`.

1. receive    read the client's body, bounded, behind the body facade (413, 400)
2. plan       the session's mode, the request's route (routes.choose: the first
              matching route's backend, else the mode's), then its fallback chain
              (open breakers skipped)
3. attempt    the original body rewritten afresh for the backend, sent, what came back
              classified (streams: up to the first real event): attempt.py. The client
              has seen nothing yet
4. commit     the first deliverable answer is relayed (relay.py); no other backend after
              this. If the active backend refused the credentials, the switch is sticky
5. give up    one attempt: its error verbatim; several: one error naming every attempt
6. record     however it ended (answered, given up, client gone), the exchange becomes one
              ExchangeRecord: the router's counters take it, then its observers (exchange.py),
              off the hot path

Every step reads and writes the request's one exchange object (flow.Exchange) through its
named methods; the router's own state changes only through RouterState's named methods.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from hotswap.body import RequestBody
from hotswap.config.backends import Backend
from hotswap.errors import (
    ERROR_TYPES,
    HotswapError,
    NoBackendAvailableError,
    RequestError,
    UpstreamTimeoutError,
    error_body,
    render_error,
)
from hotswap.reading.jsoncodec import parse_json_body
from hotswap.router import exchange
from hotswap.router.attempt import Attempt, Request, attempt
from hotswap.router.budget_gate import apply_budget
from hotswap.router.fallback import Verdict, crosses_on_transient, plan
from hotswap.router.flow import Exchange
from hotswap.router.intake import read_body, release_hold
from hotswap.router.relay import commit
from hotswap.router.state import RouterState
from hotswap.router.upstream import Upstream
from hotswap.router.window import Fit
from hotswap.routes import choose

log = logging.getLogger("hotswap")

STATE: web.AppKey[RouterState] = web.AppKey("state", RouterState)
UPSTREAM: web.AppKey[Upstream] = web.AppKey("upstream", Upstream)


async def handle_messages(request: web.Request) -> web.StreamResponse:
    state, upstream = request.app[STATE], request.app[UPSTREAM]
    with state.idle_trim.request(request.content_length or 0):
        ex = await receive(request, state)
        try:
            return await route(request, ex, state, upstream)
        except asyncio.CancelledError:
            ex.client_left()  # the client went away (handler cancelled)
            raise
        finally:
            state.finished(ex.record(next(state.exchange_ids), state.session_id))


async def route(
    request: web.Request, ex: Exchange, state: RouterState, upstream: Upstream
) -> web.StreamResponse:
    """Steps 2 to 5."""
    if state.budget_reached:  # empty while no budget is spent: one truth test
        blocked = apply_budget(ex, state)
        if blocked is not None:
            return refuse(ex, blocked)
    fit = Fit(ex.req)
    too_long = fit.over(ex.active)
    if too_long is not None:
        return refuse(ex, too_long)  # at once: the backend would only say the same, later

    def may_take(backend: Backend) -> bool:  # a fallback: the caller's, and big enough
        return state.modes.refusal(backend.name) is None and fit.holds(backend)

    for backend in plan(state.config, ex.active, state.breakers, may_take):
        if ex.attempts and not state.breakers.get(backend.name).available():
            continue  # another request's probe went out since the plan was made
        result = await attempt(ex.req, backend, state, upstream)
        ex.tried(result)
        if result.verdict in (Verdict.DELIVER, Verdict.FINAL):
            ctx = ex.commit(result)
            if backend.name != ex.active.name:
                note_fallback(ex, state)
            release_hold(request)  # committed: its share of the body budget (intake.py)
            return await commit(request, ex, result, ctx, state)
        log.warning("%s failed (%s): %s", backend.name, result.verdict.value, result.reason)
        if result.verdict is Verdict.RETRY and not crosses_on_transient(state.config, backend):
            break  # a transient fault stays with its backend unless the user allowed more
    return give_up(ex, state)


async def receive(request: web.Request, state: RouterState) -> Exchange:
    """Step 1: the client's body, bounded, behind the body facade."""
    raw = await read_body(request, state.config.router.max_body_bytes)
    body = RequestBody.parse(raw, state.caches)  # BadBody: the client's 400
    path_qs = request.rel_url.raw_path_qs
    state.redactor.learn(request.headers)  # the client's credential: masked in what we say
    is_messages = request.path.rstrip("/").endswith("/v1/messages")
    req = Request(path_qs, body, request.headers, is_messages, body.model)
    mode, backends = state.refresh_mode().backend, state.config.backends
    choice = choose(body, request.headers, mode, state.routes(), backends)
    refused = state.modes.refusal(choice.backend.name)
    if refused is not None:
        raise RequestError(refused, status=403)
    return Exchange(req, choice.backend, route=choice.route)


def note_fallback(ex: Exchange, state: RouterState) -> None:
    """Step 4a: another backend than the active one answers; never unseen. If the active
    backend refused this session (credentials, credit), the switch is made sticky: written
    into the mode file so later requests go straight there. Either way the router counts
    it, logs it and shows it in its status (so in the status line and `sessions`)."""
    kind, winner, first = ex.fallback_kind(), ex.answered, ex.attempts[0]
    assert kind is not None and winner is not None, "called once another backend answered"
    state.record_fallback(kind, ex.active.name, winner.backend.name, first.reason)
    if kind != exchange.STICKY or state.read_mode().backend.name != ex.active.name:
        return  # for this request only; or the user switched meanwhile: their choice wins
    note = f"fell back from {ex.active.name} to {winner.backend.name}: {first.reason}"
    state.switch_to(winner.backend, note)


def error_response(exc: HotswapError) -> web.Response:
    """One of hotswap's own errors, in Anthropic's error shape."""
    status, body = render_error(exc)
    retry = getattr(exc, "retry_after_s", None)  # RouterBusyError's
    headers = {"retry-after": str(retry)} if retry is not None else None
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


def refuse(ex: Exchange, exc: HotswapError) -> web.Response:
    """The router's own answer before any backend is tried (a request too long for the
    active backend's window, a budget that blocks)."""
    out = error_response(exc)
    ex.gave_up(out.status, str(exc), len(out.body) if isinstance(out.body, bytes) else 0)
    return out


def give_up(ex: Exchange, state: RouterState) -> web.Response:
    """Step 5: every attempt failed. One attempt: its error as the backend gave it (or ours
    for a missing key). Several: one Anthropic-shaped error naming each attempt and why."""
    out, error = _give_up_response(ex)
    if isinstance(out.body, bytes):  # a backend may quote the key it got: never echoed
        out.body = state.redactor.bytes(out.body)
    ex.gave_up(out.status, error, len(out.body) if isinstance(out.body, bytes) else 0)
    return out


def _give_up_response(ex: Exchange) -> tuple[web.Response, str]:
    """The response, and why the exchange failed (for its record)."""
    last = ex.attempts[-1]
    if len(ex.attempts) == 1 and last.status and last.body:
        error = f"{last.backend.name}: {last.reason}"
        if last.headers.get("Content-Type", "").startswith("application/json"):
            return web.Response(status=last.status, body=last.body, headers=last.headers), error
        wrapped = _wrap_error(last)
        return web.Response(
            status=last.status, body=wrapped, content_type="application/json"
        ), error
    if len(ex.attempts) == 1 and last.error is not None:
        exc = last.error  # a missing key, a refused connection, a timeout: ours, as it is
    else:
        exc = NoBackendAvailableError(ex.attempt_lines(), status=give_up_status(ex.attempts))
    out = error_response(exc)
    retry_after = last.headers.get("retry-after")
    if retry_after and last.verdict is Verdict.RETRY:
        out.headers["retry-after"] = retry_after
    return out, str(exc)


def give_up_status(tried: list[Attempt]) -> int:
    """The status of the give-up error. Every backend refused: the first refusal's (a 4xx
    Claude Code reports instead of retrying for minutes). Otherwise the last transient
    failure's: its HTTP status, else 504 for a timeout, 502 for anything else."""
    transient = [a for a in tried if a.verdict is Verdict.RETRY]
    if not transient:
        return next((a.status for a in tried if a.status), _refusal_status(tried))
    last = transient[-1]
    if last.status:
        return last.status
    return 504 if isinstance(last.error, UpstreamTimeoutError) else 502


def _refusal_status(tried: list[Attempt]) -> int:
    """Every refusal was ours (missing keys): the first one's status (424 or 403)."""
    return next((a.error.status for a in tried if a.error is not None), 403)


def _wrap_error(last: Attempt) -> bytes:
    """An upstream error that is not Anthropic-shaped JSON (an SSE error event, HTML...)."""
    try:
        parsed = parse_json_body(last.body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("type") == "error":
        return last.body
    return error_body(
        ERROR_TYPES.get(last.status, "api_error"),
        f"hotswap: backend '{last.backend.name}': {last.reason}",
    )

"""The request path of `POST /v1/messages` and `/v1/messages/count_tokens`.

1. receive    read the client's body, bounded, behind the body facade (413, 400)
2. plan       the active backend, then its fallback chain (open breakers skipped)
3. attempt    the original body rewritten afresh for the backend, sent, what came back
              classified (streams: up to the first real event): attempt.py. The client
              has seen nothing yet
4. commit     the first deliverable answer is relayed (relay.py); no other backend after
              this. If the active backend refused the credentials, the switch is sticky
5. give up    one attempt: its error verbatim; several: one error naming every attempt
6. record     however it ended (answered, given up, client gone), one ExchangeRecord goes
              to the router's observers (exchange.py), off the hot path
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

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
    to_anthropic_error,
)
from hotswap.jsoncodec import parse_json_body
from hotswap.router import exchange
from hotswap.router.attempt import Attempt, Request, attempt
from hotswap.router.exchange import AttemptRecord, ExchangeRecord
from hotswap.router.fallback import Verdict, crosses_on_transient, plan
from hotswap.router.relay import Delivery, commit
from hotswap.router.state import RouterState
from hotswap.router.upstream import Upstream
from hotswap.rules.rewrite import map_model

log = logging.getLogger("hotswap")

STATE: web.AppKey[RouterState] = web.AppKey("state", RouterState)
UPSTREAM: web.AppKey[Upstream] = web.AppKey("upstream", Upstream)


@dataclass
class Exchange:
    """One client request on its way through the router: read by every step, and what its
    record is made of when it ends."""

    req: Request
    active: Backend
    started: float = field(default_factory=time.monotonic)
    started_at: float = field(default_factory=time.time)
    tried: list[Attempt] = field(default_factory=list)
    answered: Attempt | None = None  # the attempt whose answer the client got
    delivery: Delivery = field(default_factory=Delivery)
    error: str | None = None  # why it failed, when it did

    def attempts(self) -> list[str]:
        """Each attempt and why it failed, for logs and the give-up error."""
        return [f"{a.backend.name}: {a.reason}" for a in self.tried]


async def handle_messages(request: web.Request) -> web.StreamResponse:
    state, upstream = request.app[STATE], request.app[UPSTREAM]
    with state.idle_trim.request(request.content_length or 0):
        ex = await receive(request, state)
        try:
            return await route(request, ex, state, upstream)
        except asyncio.CancelledError:
            ex.delivery.client_gone = True  # the client went away (handler cancelled)
            raise
        finally:
            if state.observers:
                state.observers.publish(record(ex, state))


async def route(
    request: web.Request, ex: Exchange, state: RouterState, upstream: Upstream
) -> web.StreamResponse:
    """Steps 2 to 5."""
    for backend in plan(state.config, ex.active, state.breakers):
        if ex.tried and not state.breakers.get(backend.name).available():
            continue  # another request's probe went out since the plan was made
        result = await attempt(ex.req, backend, state, upstream)
        ex.tried.append(result)
        if result.verdict in (Verdict.DELIVER, Verdict.FINAL):
            ex.answered = result
            if backend.name != ex.active.name:
                note_fallback(ex, result, state)
            ex.delivery.release = ex.req.body.release
            return await commit(request, result, state, ex.delivery, ex.req.is_messages)
        log.warning("%s failed (%s): %s", backend.name, result.verdict.value, result.reason)
        if result.verdict is Verdict.RETRY and not crosses_on_transient(state.config, backend):
            break  # a transient fault stays with its backend unless the user allowed more
    return give_up(ex, state)


async def receive(request: web.Request, state: RouterState) -> Exchange:
    """Step 1: the client's body, bounded, behind the body facade."""
    raw = await read_body(request, state.config.router.max_body_bytes)
    body = RequestBody.parse(raw, state.caches)  # BadBody: the client's 400
    path_qs = request.rel_url.raw_path_qs
    is_messages = request.path.rstrip("/").endswith("/v1/messages")
    req = Request(path_qs, body, request.headers, is_messages, body.model)
    return Exchange(req, state.active().backend)


async def read_body(request: web.Request, limit: int) -> bytes:
    """The client's body, at most `limit` bytes (413 past it, before reading the rest)."""
    if request.content_length is not None and request.content_length > limit:
        raise RequestError(_too_large(request.content_length, limit), status=413)
    chunks, size = [], 0
    async for chunk in request.content.iter_any():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise RequestError(_too_large(size, limit), status=413)
    return b"".join(chunks)  # one chunk: that very object, no copy


def _too_large(size: int, limit: int) -> str:
    return f"hotswap: request body of {size} bytes exceeds the limit of {limit} bytes (max_body_mb)"


def note_fallback(ex: Exchange, winner: Attempt, state: RouterState) -> None:
    """Step 4a: another backend than the active one answers; never unseen. If the active
    backend refused this session (credentials, credit), the switch is made sticky: written
    into the mode file so later requests go straight there. Either way the router counts
    it, logs it and shows it in its status (so in the status line and `sessions`)."""
    first = ex.tried[0]
    sticky = first.verdict is Verdict.SWITCH and first.backend.name == ex.active.name
    kind = exchange.STICKY if sticky else exchange.TRANSIENT
    state.record_fallback(kind, ex.active.name, winner.backend.name, first.reason)
    if not sticky or state.active().backend.name != ex.active.name:
        return  # for this request only; or the user switched meanwhile: their choice wins
    note = f"fell back from {ex.active.name} to {winner.backend.name}: {first.reason}"
    state.switch_to(winner.backend, note)


def error_response(exc: HotswapError) -> web.Response:
    """One of hotswap's own errors, in Anthropic's error shape."""
    status, body = to_anthropic_error(exc)
    return web.Response(status=status, body=body, content_type="application/json")


def give_up(ex: Exchange, state: RouterState) -> web.Response:
    """Step 5: every attempt failed. One attempt: its error as the backend gave it (or ours
    for a missing key). Several: one Anthropic-shaped error naming each attempt and why."""
    out = _give_up_response(ex, state)
    ex.delivery.status = out.status
    ex.delivery.wrote(len(out.body) if isinstance(out.body, bytes) else 0)
    return out


def _give_up_response(ex: Exchange, state: RouterState) -> web.Response:
    last = ex.tried[-1]
    state.errors[last.backend.name] += 1
    if len(ex.tried) == 1 and last.status and last.body:
        ex.error = f"{last.backend.name}: {last.reason}"
        state.record_error(ex.error)
        if last.headers.get("Content-Type", "").startswith("application/json"):
            return web.Response(status=last.status, body=last.body, headers=last.headers)
        return web.Response(
            status=last.status, body=_wrap_error(last), content_type="application/json"
        )
    if len(ex.tried) == 1 and last.error is not None:
        exc = last.error  # a missing key, a refused connection, a timeout: ours, as it is
    else:
        exc = NoBackendAvailableError(ex.attempts(), status=give_up_status(ex.tried))
    ex.error = str(exc)
    state.record_error(ex.error)
    out = error_response(exc)
    retry_after = last.headers.get("retry-after")
    if retry_after and last.verdict is Verdict.RETRY:
        out.headers["retry-after"] = retry_after
    return out


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


# -- step 6: the record ---------------------------------------------------------------------


def record(ex: Exchange, state: RouterState) -> ExchangeRecord:
    """The exchange's record, however it ended."""
    out, answered = ex.delivery, ex.answered
    ctx = out.ctx
    client_model = ex.req.model
    backend = answered.backend if answered is not None else None
    fell_back_from = kind = None
    if backend is not None and backend.name != ex.active.name:
        fell_back_from = ex.active.name
        first = ex.tried[0]
        sticky = first.verdict is Verdict.SWITCH and first.backend.name == ex.active.name
        kind = exchange.STICKY if sticky else exchange.TRANSIENT
    return ExchangeRecord(
        id=next(state.exchange_ids),
        started=ex.started_at,
        session=state.session_id,
        endpoint="messages" if ex.req.is_messages else "count_tokens",
        stream=ex.req.stream,
        client_model=client_model,
        active=ex.active.name,
        backend=backend.name if backend is not None else None,
        wire_model=_wire_model(client_model, backend),
        response_model=ctx.model if ctx is not None else None,
        status=out.status,
        outcome=_outcome(ex),
        error=out.broke or ex.error,
        fell_back_from=fell_back_from,
        fallback_kind=kind,
        usage=ctx.usage if ctx is not None else exchange.Usage(),
        stop_reason=ctx.stop_reason if ctx is not None else None,
        ttfb_ms=_ms(ex.started, out.first_byte),
        duration_ms=_ms(ex.started, time.monotonic()) or 0.0,
        request_bytes=ex.req.body.size,
        response_bytes=out.sent,
        attempts=tuple(_attempt_record(a, client_model) for a in ex.tried),
    )


def _outcome(ex: Exchange) -> str:
    out = ex.delivery
    if out.client_gone:
        return exchange.CLIENT_GONE
    if ex.answered is None:
        return exchange.FAILED
    if out.broke is not None:
        return exchange.STREAM_ERROR
    return exchange.OK if 200 <= out.status < 300 else exchange.UPSTREAM_ERROR


def _attempt_record(a: Attempt, client_model: str | None) -> AttemptRecord:
    return AttemptRecord(
        backend=a.backend.name,
        status=a.status,
        verdict=a.verdict.value,
        reason=a.reason,
        wire_model=_wire_model(client_model, a.backend),
        ttfb_ms=_ms(a.started, a.first_byte),
        duration_ms=_ms(a.started, a.ended) or 0.0,
    )


def _wire_model(client_model: str | None, backend: Backend | None) -> str | None:
    if client_model is None or backend is None:
        return None
    return map_model(client_model, backend)


def _ms(start: float, end: float | None) -> float | None:
    return None if end is None else round((end - start) * 1000, 2)

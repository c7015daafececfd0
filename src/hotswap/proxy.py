"""The request path of `POST /v1/messages` and `/v1/messages/count_tokens`.

1. receive    read and parse the client's request (413, 400)
2. plan       the active backend, then its fallback chain
3. attempt    rewrite for the backend, send, classify what came back -- nothing sent yet
4. commit     the first deliverable answer is relayed; no other backend after this
5. give up    the last upstream error verbatim, or one error naming every attempt
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from hotswap.backends import Backend
from hotswap.errors import (
    HotswapError,
    MissingKeyError,
    NoBackendAvailableError,
    RequestError,
    UpstreamError,
    UpstreamStreamError,
    UpstreamTimeoutError,
    error_body,
    sse_error_event,
)
from hotswap.fallback import (
    Verdict,
    classify_event_error,
    classify_status,
    plan,
    retry_same_after,
)
from hotswap.rewrite import (
    StreamContext,
    dump_json,
    fix_message,
    parse_json_body,
    rewrite_event,
    rewrite_request,
)
from hotswap.sse import Event, SSEParser, encode
from hotswap.state import RouterState
from hotswap.upstream import Upstream, response_headers, upstream_headers

log = logging.getLogger("hotswap")

MAX_ERROR_BODY_BYTES = 1024 * 1024
STATE: web.AppKey[RouterState] = web.AppKey("state", RouterState)
UPSTREAM: web.AppKey[Upstream] = web.AppKey("upstream", Upstream)


@dataclass
class Exchange:
    """One client request on its way through the router (read by every step)."""

    path_qs: str
    raw: bytes
    body: dict[str, Any]
    headers: CIMultiDict[str]
    active: Backend
    is_messages: bool
    attempts: list[str] = field(default_factory=list)

    @property
    def stream(self) -> bool:
        return self.body.get("stream") is True


@dataclass
class Attempt:
    """What one backend answered, before anything reached the client."""

    backend: Backend
    verdict: Verdict
    reason: str = ""
    resp: aiohttp.ClientResponse | None = None
    status: int = 0
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)
    body: bytes = b""
    events: list[Event] = field(default_factory=list)
    parser: SSEParser = field(default_factory=SSEParser)
    error: HotswapError | None = None


async def handle_messages(request: web.Request) -> web.StreamResponse:
    state, upstream = request.app[STATE], request.app[UPSTREAM]
    ex = await receive(request, state)
    first_verdict: Verdict | None = None
    last: Attempt | None = None
    for backend in plan(state.config, ex.active, state.breakers):
        last = await attempt(ex, backend, state, upstream)
        first_verdict = first_verdict or last.verdict
        if last.verdict in (Verdict.DELIVER, Verdict.FINAL):
            if first_verdict is Verdict.SWITCH and backend is not ex.active:
                state.switch_to(backend, f"fell back from {ex.active.name}: {ex.attempts[0]}")
            return await commit(request, ex, last, state)
        ex.attempts.append(f"{backend.name}: {last.reason}")
        log.warning("attempt failed: %s: %s", backend.name, last.reason)
    assert last is not None
    return give_up(ex, last, state)


async def receive(request: web.Request, state: RouterState) -> Exchange:
    """Step 1: the client's body, bounded, parsed once."""
    limit = state.config.router.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise RequestError(_too_large(request.content_length, limit), status=413)
    buf = bytearray()
    async for chunk in request.content.iter_any():
        buf += chunk
        if len(buf) > limit:
            raise RequestError(_too_large(len(buf), limit), status=413)
    raw = bytes(buf)
    try:
        body = parse_json_body(raw)
    except ValueError as exc:
        raise RequestError(f"hotswap: the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise RequestError("hotswap: the request body must be a JSON object")
    return Exchange(
        path_qs=request.rel_url.raw_path_qs,
        raw=raw,
        body=body,
        headers=CIMultiDict(request.headers),
        active=state.active().backend,
        is_messages=request.path.rstrip("/").endswith("/v1/messages"),
    )


def _too_large(size: int, limit: int) -> str:
    return f"hotswap: request body of {size} bytes exceeds the limit of {limit} bytes (max_body_mb)"


async def attempt(
    ex: Exchange, backend: Backend, state: RouterState, upstream: Upstream
) -> Attempt:
    """Step 3: send to one backend and classify the answer; the client sees nothing yet."""
    breaker = state.breakers.get(backend.name)
    breaker.begin()
    try:
        headers = upstream_headers(ex.headers, backend, state.config.keys)
    except MissingKeyError as exc:
        return Attempt(backend, Verdict.SWITCH, reason=exc.reason, error=exc)
    payload = dict(ex.body)
    data = dump_json(payload) if rewrite_request(payload, backend) else ex.raw
    settings = state.config.router
    wait = settings.first_byte_timeout_s if ex.stream else settings.idle_timeout_s
    for _ in range(2):  # a second try only after a short 429 retry-after
        result = await _send_once(ex, backend, upstream, headers, data, wait)
        delay = retry_same_after(result.status, result.headers.get("retry-after"), result.body)
        if delay is None:
            break
        await asyncio.sleep(delay)
    if result.verdict is Verdict.RETRY:
        breaker.failure()
    elif result.verdict is Verdict.DELIVER:
        breaker.success()
    return result


async def _send_once(
    ex: Exchange,
    backend: Backend,
    upstream: Upstream,
    headers: CIMultiDict[str],
    data: bytes,
    wait_s: float,
) -> Attempt:
    try:
        resp = await upstream.send(backend, ex.path_qs, headers, data, wait_s)
    except UpstreamError as exc:
        return Attempt(backend, Verdict.RETRY, reason=exc.cause, error=exc)
    result = Attempt(backend, classify_status(resp.status), resp=resp, status=resp.status)
    result.headers = response_headers(resp.headers)
    if result.verdict is Verdict.DELIVER:
        if ex.stream and _is_sse(resp):
            return await _first_event(result, wait_s)
        return result
    try:
        result.body = await resp.content.read(MAX_ERROR_BODY_BYTES)
    except (aiohttp.ClientError, OSError, TimeoutError):
        result.body = b""
    finally:
        resp.release()
    result.resp = None
    result.reason = f"HTTP {resp.status} {_error_summary(result.body)}".strip()
    return result


async def _first_event(result: Attempt, wait_s: float) -> Attempt:
    """Hold the commit until one complete SSE event arrived: an early `error` can fall back."""
    assert result.resp is not None
    resp, name = result.resp, result.backend.name
    try:
        async with asyncio.timeout(wait_s):
            async for chunk in Upstream.chunks(resp, name):
                result.events = result.parser.feed(chunk)
                if result.events:
                    break
    except (UpstreamError, TimeoutError) as exc:
        resp.close()
        err = (
            exc
            if isinstance(exc, UpstreamError)
            else UpstreamTimeoutError(name, "no first event within the first-byte timeout")
        )
        return Attempt(result.backend, Verdict.RETRY, reason=err.cause, error=err)
    first = result.events[0] if result.events else None
    if first is None:
        resp.close()
        err = UpstreamStreamError(name, "stream ended before its first event")
        return Attempt(result.backend, Verdict.RETRY, reason=err.cause, error=err)
    if first.name == "error":
        error_type = _event_error_type(first.data)
        verdict = classify_event_error(error_type)
        if verdict is not Verdict.FINAL:
            resp.close()
            reason = f"stream opened with an error event: {_error_summary(first.data)}"
            status = _status_for_error_type(error_type)
            return Attempt(result.backend, verdict, reason=reason, status=status, body=first.data)
    return result


async def commit(
    request: web.Request, ex: Exchange, result: Attempt, state: RouterState
) -> web.StreamResponse:
    """Step 4: relay the chosen answer. From here on no other backend is tried."""
    assert result.resp is not None
    resp, backend = result.resp, result.backend
    state.requests[backend.name] += 1
    ctx = StreamContext(backend=backend.name)
    try:
        if result.verdict is Verdict.FINAL or not (ex.stream and _is_sse(resp)):
            body = await Upstream.read_all(resp, backend.name)
            if result.verdict is Verdict.DELIVER and ex.is_messages:
                body = _fix_json_message(body, ctx)
            else:
                state.errors[backend.name] += resp.status >= 400
            return web.Response(status=resp.status, body=body, headers=result.headers)
        return await _relay_stream(request, result, ctx, state)
    finally:
        resp.close()


def _fix_json_message(body: bytes, ctx: StreamContext) -> bytes:
    try:
        message = parse_json_body(body)
    except ValueError:
        return body
    if isinstance(message, dict) and message.get("type") == "message":
        return dump_json(message) if fix_message(message, ctx) else body
    return body


async def _relay_stream(
    request: web.Request, result: Attempt, ctx: StreamContext, state: RouterState
) -> web.StreamResponse:
    assert result.resp is not None
    out = web.StreamResponse(status=result.status, headers=result.headers)
    out.headers["Cache-Control"] = "no-cache"
    await out.prepare(request)
    saw_stop = any(e.name == "message_stop" for e in result.events)
    try:
        await out.write(_render(result.events, ctx))
        async for chunk in Upstream.chunks(result.resp, result.backend.name):
            events = result.parser.feed(chunk)
            if events:
                saw_stop = saw_stop or any(e.name == "message_stop" for e in events)
                await out.write(_render(events, ctx))
        if not saw_stop:
            raise UpstreamStreamError(result.backend.name, "stream ended before message_stop")
    except UpstreamError as exc:
        state.errors[result.backend.name] += 1
        state.record_error(str(exc))
        log.warning("%s", exc)
        await _write_quietly(out, sse_error_event(exc))
    except ConnectionError:
        log.info("client went away mid-stream; upstream closed")
        return out
    await _write_eof_quietly(out)
    return out


def _render(events: list[Event], ctx: StreamContext) -> bytes:
    parts = []
    for event in events:
        new = rewrite_event(event.name, event.data, ctx) if event.name else None
        parts.append(event.raw if new is None else encode(event.name, new))
    return b"".join(parts)


async def _write_quietly(out: web.StreamResponse, data: bytes) -> None:
    with contextlib.suppress(ConnectionError):
        await out.write(data)


async def _write_eof_quietly(out: web.StreamResponse) -> None:
    with contextlib.suppress(ConnectionError):
        await out.write_eof()


def give_up(ex: Exchange, last: Attempt, state: RouterState) -> web.Response:
    """Step 5: every attempt failed."""
    if last.status and last.body:
        state.record_error(f"{last.backend.name}: {last.reason}")
        state.errors[last.backend.name] += 1
        if last.headers.get("Content-Type", "").startswith("application/json"):
            return web.Response(status=last.status, body=last.body, headers=last.headers)
        return web.Response(
            status=last.status, body=_wrap_error(last), content_type="application/json"
        )
    status = 504 if isinstance(last.error, UpstreamTimeoutError) else 502
    if isinstance(last.error, MissingKeyError) and len(ex.attempts) == 1:
        exc: HotswapError = last.error
    else:
        exc = NoBackendAvailableError(ex.attempts, status=status)
    state.record_error(str(exc))
    state.errors[last.backend.name] += 1
    raise exc


def _wrap_error(last: Attempt) -> bytes:
    """An upstream error that is not Anthropic-shaped JSON (an SSE error event, HTML...)."""
    parsed = _loads(last.body)
    if isinstance(parsed, dict) and parsed.get("type") == "error":
        return last.body
    return error_body(
        _status_type(last.status), f"hotswap: backend '{last.backend.name}': {last.reason}"
    )


def _status_type(status: int) -> str:
    from hotswap.errors import ERROR_TYPES

    return ERROR_TYPES.get(status, "api_error")


def _is_sse(resp: aiohttp.ClientResponse) -> bool:
    return resp.content_type == "text/event-stream"


def _loads(data: bytes) -> Any:
    try:
        return parse_json_body(data)
    except ValueError:
        return None


def _event_error_type(data: bytes) -> str:
    parsed = _loads(data)
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        return str(parsed["error"].get("type", ""))
    return ""


_TYPE_STATUS = {
    "overloaded_error": 529,
    "rate_limit_error": 429,
    "api_error": 500,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "timeout_error": 504,
}


def _status_for_error_type(error_type: str) -> int:
    return _TYPE_STATUS.get(error_type, 500)


def _error_summary(body: bytes) -> str:
    parsed = _loads(body)
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        err = parsed["error"]
        return f"{err.get('type', '')}: {err.get('message', '')}"[:300]
    return body[:200].decode("utf-8", "replace").strip()

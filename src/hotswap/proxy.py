"""The request path of `POST /v1/messages` and `/v1/messages/count_tokens`.

1. receive    read and parse the client's request (413, 400)
2. plan       the active backend, then its fallback chain (open breakers skipped)
3. attempt    rewrite the original body afresh for the backend, send, classify what came
              back (streams: up to the first real event) -- the client has seen nothing yet
4. commit     the first deliverable answer is relayed; no other backend after this.
              If the active backend refused the credentials, the switch is made sticky.
5. give up    one attempt: its error verbatim; several: one error naming every attempt
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from hotswap.backends import Backend
from hotswap.body import NEEDS_FULL_PARSE, NotAnObject, Split, split
from hotswap.config import RouterSettings
from hotswap.errors import (
    ERROR_TYPES,
    HotswapError,
    InternalError,
    MissingKeyError,
    NoBackendAvailableError,
    RequestError,
    UpstreamError,
    UpstreamStreamError,
    UpstreamTimeoutError,
    error_body,
    parse_error,
    sse_error_event,
    to_anthropic_error,
)
from hotswap.fallback import (
    Verdict,
    classify,
    classify_event_error,
    plan,
    retry_same_after,
)
from hotswap.rewrite import (
    StreamContext,
    dump_json,
    fix_message,
    parse_json_body,
    parse_request_body,
    rewrite_event,
    rewrite_request,
    rewrite_split,
)
from hotswap.sse import Event, EventTooLarge, SSEParser, encode
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
    split: Split | None  # body.split(raw); None: the full parser's turn
    body: dict[str, Any] | None  # the full parse (when `split` is None), until an attempt takes it
    headers: Mapping[str, str]
    active: Backend
    is_messages: bool
    stream: bool
    exact: bool = True  # `raw` encodes `body` faithfully (False: repaired, re-serialise it)
    tried: list[Attempt] = field(default_factory=list)

    def take_body(self) -> dict[str, Any]:
        """The fully parsed body, for one attempt to rewrite. The first attempt takes
        receive()'s parse, so a request waiting for its upstream holds only its raw bytes;
        a fallback attempt parses the raw bytes again, so it never sees a previous
        attempt's rewrite."""
        body, self.body = self.body, None
        if body is None:
            body, self.exact = _parse_whole(self.raw)
        return body

    def release_body(self) -> None:
        """Committed: no other attempt will need the request, so let it go before a long
        relay."""
        self.raw, self.split, self.body = b"", None, None

    def attempts(self) -> list[str]:
        """Each attempt and why it failed, for logs and the give-up error."""
        return [f"{a.backend.name}: {a.reason}" for a in self.tried]


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
    for backend in plan(state.config, ex.active, state.breakers):
        if ex.tried and not state.breakers.get(backend.name).available():
            continue  # another request's probe went out since the plan was made
        result = await attempt(ex, backend, state, upstream)
        ex.tried.append(result)
        if result.verdict in (Verdict.DELIVER, Verdict.FINAL):
            make_sticky(ex, result, state)
            return await commit(request, ex, result, state)
        log.warning("%s failed (%s): %s", backend.name, result.verdict.value, result.reason)
    return give_up(ex, state)


async def receive(request: web.Request, state: RouterState) -> Exchange:
    """Step 1: the client's body, bounded, split by body.split (or, if it must be, parsed)."""
    limit = state.config.router.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise RequestError(_too_large(request.content_length, limit), status=413)
    chunks, size = [], 0
    async for chunk in request.content.iter_any():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise RequestError(_too_large(size, limit), status=413)
    raw = b"".join(chunks)  # one chunk: that very object, no copy
    del chunks  # the pieces go before the body is split
    body: Any = None
    exact = True
    try:
        parts: Split | None = split(raw)
    except NotAnObject as exc:
        raise RequestError(f"hotswap: {exc}") from None
    except NEEDS_FULL_PARSE:  # malformed, or JSON only the full parser takes
        parts = None
    if parts is None:
        body, exact = _parse_whole(raw)
        stream = body.get("stream") is True
    else:
        stream = parts.stream
    return Exchange(
        path_qs=request.rel_url.raw_path_qs,
        raw=raw,
        split=parts,
        body=body,
        headers=request.headers,
        active=state.active().backend,
        is_messages=request.path.rstrip("/").endswith("/v1/messages"),
        stream=stream,
        exact=exact,
    )


def _parse_whole(raw: bytes) -> tuple[dict[str, Any], bool]:
    try:
        body, exact = parse_request_body(raw)
    except ValueError as exc:
        raise RequestError(_not_json(exc)) from None
    if not isinstance(body, dict):
        raise RequestError("hotswap: the request body must be a JSON object")
    return body, exact


def _not_json(exc: ValueError) -> str:
    return f"hotswap: the request body is not valid JSON: {exc}"


def _too_large(size: int, limit: int) -> str:
    return f"hotswap: request body of {size} bytes exceeds the limit of {limit} bytes (max_body_mb)"


async def attempt(
    ex: Exchange, backend: Backend, state: RouterState, upstream: Upstream
) -> Attempt:
    """Step 3: send to one backend and classify the answer; the client sees nothing yet."""
    try:
        headers = upstream_headers(ex.headers, backend, state.config.keys)
    except MissingKeyError as exc:
        return Attempt(backend, Verdict.SWITCH, reason=exc.reason, error=exc)
    data = _body_for(ex, backend, state)
    breaker = state.breakers.get(backend.name)
    breaker.begin()
    try:
        result = await _send(ex, backend, upstream, headers, data, state.config.router)
    except BaseException:  # cancelled (client gone): no verdict on the backend's health
        breaker.release()
        raise
    if result.verdict is Verdict.RETRY:
        breaker.failure()
    elif result.verdict is Verdict.SWITCH:
        breaker.release()  # refused credentials say nothing about the backend's health
    else:
        breaker.success()
    return result


def _body_for(ex: Exchange, backend: Backend, state: RouterState) -> bytes:
    """The client's original body, rewritten afresh for this backend (never a previous
    attempt's rewrite); thinking blocks are judged by who produced them.

    Split bodies (body.py) are decoded only where the rules read, per attempt. The rest
    are parsed whole: each attempt gets a body of its own (Exchange.take_body); the
    rewrites replace its top-level keys only and copy nested values before changing them."""
    origin, count_tokens = state.thinking.origin, not ex.is_messages
    if ex.split is not None:
        try:
            return rewrite_split(ex.raw, ex.split, backend, origin, count_tokens=count_tokens)
        except NEEDS_FULL_PARSE:
            ex.split = None  # a value the rules read needs the full parser, for every attempt
    payload = ex.take_body()
    changed = rewrite_request(payload, backend, origin, count_tokens=count_tokens)
    return dump_json(payload) if changed or not ex.exact else ex.raw


async def _send(
    ex: Exchange,
    backend: Backend,
    upstream: Upstream,
    headers: CIMultiDict[str],
    data: bytes,
    settings: RouterSettings,
) -> Attempt:
    """One send; a 429 with a short `retry-after` is sent once more to the same backend."""
    wait_s = settings.first_byte_timeout_s if ex.stream else settings.idle_timeout_s
    result = await _send_once(ex, backend, upstream, headers, data, wait_s)
    delay = retry_same_after(result.status, result.headers.get("retry-after"), result.body)
    if delay is not None:
        log.info("%s: %s; retrying it in %.1fs", backend.name, result.reason, delay)
        await asyncio.sleep(delay)
        result = await _send_once(ex, backend, upstream, headers, data, wait_s)
    return result


async def _send_once(
    ex: Exchange,
    backend: Backend,
    upstream: Upstream,
    headers: CIMultiDict[str],
    data: bytes,
    wait_s: float,
) -> Attempt:
    deadline = asyncio.get_running_loop().time() + wait_s
    try:
        resp = await upstream.send(backend, ex.path_qs, headers, data, wait_s)
    except UpstreamError as exc:
        return Attempt(backend, classify(0), reason=exc.cause, error=exc)
    result = Attempt(backend, Verdict.DELIVER, resp=resp, status=resp.status)
    result.headers = response_headers(resp.headers)
    if 200 <= resp.status < 300:
        if _is_sse(resp):  # by what the backend sends, whatever `stream` said
            return await _first_event(result, deadline)
        return result
    result.resp = None
    try:
        result.body = await Upstream.read_error_body(resp, backend.name, MAX_ERROR_BODY_BYTES)
    except UpstreamError:
        result.body = b""
    result.verdict = classify(resp.status, result.body)
    result.reason = f"HTTP {resp.status} {_error_summary(result.body)}".strip()
    return result


async def _first_event(result: Attempt, deadline: float) -> Attempt:
    """Hold the commit until the first real SSE event (not a ping or comment) arrived within
    the first-byte timeout: an early `error` event can still fall back."""
    assert result.resp is not None
    resp, name = result.resp, result.backend.name
    try:
        # Usually the first event came in with the headers: no timer for that.
        result.events += _feed(result.parser, Upstream.read_buffered(resp, name), name)
        if not any(_is_real(e) for e in result.events):
            async with asyncio.timeout_at(deadline):
                while not any(_is_real(e) for e in result.events):
                    chunk = await Upstream.read_chunk(resp, name)
                    if not chunk:
                        break
                    result.events += _feed(result.parser, chunk, name)
    except (UpstreamError, TimeoutError) as exc:
        resp.close()
        err = (
            exc
            if isinstance(exc, UpstreamError)
            else UpstreamTimeoutError(name, "no first event within the first-byte timeout")
        )
        return Attempt(result.backend, classify(0), reason=err.cause, error=err)
    except BaseException:
        resp.close()
        raise
    first = next((e for e in result.events if _is_real(e)), None)
    if first is None:
        resp.close()
        err = UpstreamStreamError(name, "stream ended before its first event")
        return Attempt(result.backend, classify(0), reason=err.cause, error=err)
    if first.name == "error":
        verdict, status = classify_event_error(first.data)
        if verdict is not Verdict.FINAL:
            resp.close()
            reason = f"stream opened with an error event: {_error_summary(first.data)}"
            return Attempt(result.backend, verdict, reason=reason, status=status, body=first.data)
    return result


def _feed(parser: SSEParser, chunk: bytes, backend: str) -> list[Event]:
    try:
        return parser.feed(chunk)
    except EventTooLarge as exc:
        raise UpstreamStreamError(backend, str(exc)) from None


def _is_real(event: Event) -> bool:
    return bool(event.name) and event.name != "ping"


def make_sticky(ex: Exchange, winner: Attempt, state: RouterState) -> None:
    """Step 4a: the active backend refused this session (credentials, credit) and another
    backend answered: write it into the mode file so later requests go straight there."""
    first = ex.tried[0]
    if first.verdict is not Verdict.SWITCH or first.backend.name != ex.active.name:
        return
    if winner.backend.name == ex.active.name:
        return
    if state.active().backend.name != ex.active.name:
        return  # the user switched while this request was in flight: their choice wins
    note = f"fell back from {ex.active.name} to {winner.backend.name}: {first.reason}"
    state.switch_to(winner.backend, note)


async def commit(
    request: web.Request, ex: Exchange, result: Attempt, state: RouterState
) -> web.StreamResponse:
    """Step 4: relay the chosen answer. From here on no other backend is tried."""
    backend = result.backend
    state.requests[backend.name] += 1
    if result.resp is None:  # the client's own error, already read: verbatim
        state.errors[backend.name] += 1
        return web.Response(status=result.status, body=result.body, headers=result.headers)
    resp = result.resp
    ctx = StreamContext(backend=backend.name)
    try:
        if not _is_sse(resp):
            ex.release_body()
            body = await Upstream.read_all(resp, backend.name)
            if ex.is_messages:
                body = _fix_json_message(body, ctx)
            return web.Response(status=resp.status, body=body, headers=result.headers)
        return await _relay_stream(request, ex, result, ctx, state)
    finally:
        resp.close()
        state.thinking.record(backend.name, ctx.thinking.keys)


def _fix_json_message(body: bytes, ctx: StreamContext) -> bytes:
    try:
        message = parse_json_body(body)
    except ValueError:
        return body
    if isinstance(message, dict) and message.get("type") == "message":
        return dump_json(message) if fix_message(message, ctx) else body
    return body


async def _relay_stream(
    request: web.Request, ex: Exchange, result: Attempt, ctx: StreamContext, state: RouterState
) -> web.StreamResponse:
    assert result.resp is not None
    out = web.StreamResponse(status=result.status, headers=result.headers)
    out.headers["Cache-Control"] = "no-cache"
    await out.prepare(request)
    name = result.backend.name
    ended = _ends_stream(result.events)
    try:
        # The first real event on its own, the rest of what was held after it: the client's
        # first byte does not wait for the rewrite of a whole first chunk.
        cut = next(i for i, e in enumerate(result.events) if _is_real(e)) + 1
        await out.write(_render(result.events[:cut], ctx))
        ex.release_body()  # no other attempt will need the request: let it go before the relay
        if cut < len(result.events):
            await out.write(_render(result.events[cut:], ctx))
        async for chunk in Upstream.chunks(result.resp, name):
            data, events = relay_chunk(chunk, result.parser, ctx, name)
            ended = ended or _ends_stream(events)
            if data:
                await out.write(data)
        if not ended:
            raise UpstreamStreamError(name, "stream ended before message_stop")
    except UpstreamError as exc:
        state.errors[name] += 1
        state.record_error(str(exc))
        log.warning("%s", exc)
        if not ended:  # the upstream's own error event already ended it otherwise
            await _write_quietly(out, sse_error_event(exc))
    except ConnectionError:
        log.info("client went away mid-stream; upstream closed")
        return out
    except Exception as exc:  # a bug after the commit: still one clean error event
        log.exception("internal error relaying a stream from %s", name)
        state.record_error(f"internal error ({type(exc).__name__})")
        if not ended:
            await _write_quietly(out, sse_error_event(InternalError(type(exc).__name__)))
    await _write_eof_quietly(out)
    return out


_DELTA_EVENT = b"event: content_block_delta\n"


def relay_chunk(
    chunk: bytes, parser: SSEParser, ctx: StreamContext, backend: str
) -> tuple[bytes, list[Event]]:
    """What to write to the client for one upstream chunk, and the events parsed from it."""
    head, rest = passthrough_prefix(chunk, parser, ctx)
    events = _feed(parser, rest, backend) if rest else []
    if not events:
        return head, events
    return head + _render(events, ctx) if head else _render(events, ctx), events


def passthrough_prefix(chunk: bytes, parser: SSEParser, ctx: StreamContext) -> tuple[bytes, bytes]:
    """The complete events at the start of `chunk` that can be relayed without parsing
    them one by one, and the rest of `chunk` (for the parser).

    Most of a stream is content_block_delta events no rewrite reads (text, tool input):
    when the parser holds nothing and no thinking block is open, a run of complete events
    whose only `event:` fields name content_block_delta is relayed as it came. A count of
    `event:` anywhere counts every event field (and more), so any other event name, in
    any spelling, sends the chunk to the parser."""
    if parser.has_pending or ctx.thinking.open or b"\r" in chunk:
        return b"", chunk
    end = chunk.rfind(b"\n\n") + 2
    if end < 2:
        return b"", chunk
    head = chunk[:end]
    if head.count(b"event:") != head.count(_DELTA_EVENT):
        return b"", chunk
    return head, chunk[end:]


def _ends_stream(events: list[Event]) -> bool:
    """A `message_stop` or an `error` event is the last thing a stream says."""
    return any(e.name in ("message_stop", "error") for e in events)


def _render(events: list[Event], ctx: StreamContext) -> bytes:
    """The events as the client gets them. A content_block_delta outside a thinking block
    (most of a stream: text and tool input) is relayed without a look (rewrite_event would
    do nothing with it)."""
    parts = []
    thinking = ctx.thinking
    for event in events:
        name = event.name
        if name == "content_block_delta" and not thinking.open:
            parts.append(event.raw)
            continue
        new = rewrite_event(name, event.data, ctx) if name else None
        parts.append(event.raw if new is None else encode(name, new))
    return b"".join(parts)


async def _write_quietly(out: web.StreamResponse, data: bytes) -> None:
    with contextlib.suppress(ConnectionError):
        await out.write(data)


async def _write_eof_quietly(out: web.StreamResponse) -> None:
    with contextlib.suppress(ConnectionError):
        await out.write_eof()


def error_response(exc: HotswapError) -> web.Response:
    """One of hotswap's own errors, in Anthropic's error shape."""
    status, body = to_anthropic_error(exc)
    return web.Response(status=status, body=body, content_type="application/json")


def give_up(ex: Exchange, state: RouterState) -> web.Response:
    """Step 5: every attempt failed. One attempt: its error as the backend gave it (or ours
    for a missing key). Several: one Anthropic-shaped error naming each attempt and why."""
    last = ex.tried[-1]
    state.errors[last.backend.name] += 1
    if len(ex.tried) == 1 and last.status and last.body:
        state.record_error(f"{last.backend.name}: {last.reason}")
        if last.headers.get("Content-Type", "").startswith("application/json"):
            return web.Response(status=last.status, body=last.body, headers=last.headers)
        return web.Response(
            status=last.status, body=_wrap_error(last), content_type="application/json"
        )
    if len(ex.tried) == 1 and last.error is not None:
        exc = last.error  # a missing key, a refused connection, a timeout: ours, as it is
    else:
        exc = NoBackendAvailableError(ex.attempts(), status=give_up_status(ex.tried))
    state.record_error(str(exc))
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
        return next((a.status for a in tried if a.status), 403)
    last = transient[-1]
    if last.status:
        return last.status
    return 504 if isinstance(last.error, UpstreamTimeoutError) else 502


def _wrap_error(last: Attempt) -> bytes:
    """An upstream error that is not Anthropic-shaped JSON (an SSE error event, HTML...)."""
    parsed = _loads(last.body)
    if isinstance(parsed, dict) and parsed.get("type") == "error":
        return last.body
    return error_body(
        ERROR_TYPES.get(last.status, "api_error"),
        f"hotswap: backend '{last.backend.name}': {last.reason}",
    )


def _is_sse(resp: aiohttp.ClientResponse) -> bool:
    return resp.content_type == "text/event-stream"


def _loads(data: bytes) -> Any:
    try:
        return parse_json_body(data)
    except ValueError:
        return None


def _error_summary(body: bytes) -> str:
    error = parse_error(body)
    if error is not None:
        return f"{error[0]}: {error[1]}"[:300]
    return body[:200].decode("utf-8", "replace").strip()

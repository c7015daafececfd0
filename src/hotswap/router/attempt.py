"""One attempt: send the request to one backend and classify what came back, before the
client has seen anything (proxy.py's step 3).

A streaming answer is held until its first real SSE event (not a ping or comment) arrived
within the first-byte timeout, so an upstream that says 200 and then `error: overloaded`
can still fall back. A broken answer is a transient failure here, like a reset: a 2xx that
is not an event stream where one was asked, a first `message_start` that is not a JSON
object, a non-streaming 2xx that is not one JSON object (read whole here, before the
commit). An event stream is relayed as one even if the request did not ask for it. The
request goes out through the backend's wire adapter (wire/), so a translated backend's
answer reads here like any other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from multidict import CIMultiDict

from hotswap.body import RequestBody
from hotswap.config.backends import Backend
from hotswap.errors import (
    HotswapError,
    MissingKeyError,
    UpstreamError,
    UpstreamStreamError,
    UpstreamTimeoutError,
    parse_error,
)
from hotswap.reading.jsoncodec import is_json_object
from hotswap.router.fallback import Verdict, classify, classify_event_error, retry_same_after
from hotswap.router.sse import Event, EventTooLarge, SSEParser
from hotswap.router.upstream import Upstream, upstream_headers
from hotswap.wire import Outgoing, Reply, WireAdapter
from hotswap.wire.registry import adapter_for

if TYPE_CHECKING:
    from hotswap.router.state import RouterState

log = logging.getLogger("hotswap")

MAX_ERROR_BODY_BYTES = 1024 * 1024


@dataclass
class Request:
    """What every attempt sends: the client's request, as received."""

    path_qs: str
    body: RequestBody
    headers: Mapping[str, str]
    is_messages: bool  # /v1/messages (else count_tokens)
    model: str | None = None  # the model the client asked for

    @property
    def stream(self) -> bool:
        return self.body.stream


@dataclass
class Attempt:
    """What one backend answered, before anything reached the client."""

    backend: Backend
    verdict: Verdict
    reason: str = ""
    reply: Reply | None = None  # an answer to relay (DELIVER), still unread
    status: int = 0
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)
    body: bytes = b""  # an error answer, or a whole non-streaming answer, read
    events: list[Event] = field(default_factory=list)  # a stream's first events, held
    parser: SSEParser = field(default_factory=SSEParser)
    error: HotswapError | None = None
    started: float = 0.0  # time.monotonic()
    first_byte: float | None = None  # the headers (streams: the first real event)
    ended: float = 0.0  # its verdict


async def attempt(
    req: Request, backend: Backend, state: RouterState, upstream: Upstream
) -> Attempt:
    """Send to one backend and classify the answer; the client sees nothing yet."""
    started = time.monotonic()
    try:
        headers = upstream_headers(req.headers, backend, state.config.keys)
    except MissingKeyError as exc:
        return _ended(Attempt(backend, Verdict.SWITCH, reason=exc.reason, error=exc), started)
    # BadBody (a 400) when what the rules read needed the full parser, and it refused
    data = req.body.for_backend(backend, state.thinking.origin, count_tokens=not req.is_messages)
    breaker = state.breakers.get(backend.name)
    breaker.begin()
    try:
        result = await _send(req, backend, upstream, headers, data, state)
    except BaseException:  # cancelled (client gone): no verdict on the backend's health
        breaker.release()
        raise
    if result.verdict is Verdict.RETRY:
        breaker.failure()
    elif result.verdict is Verdict.SWITCH:
        breaker.release()  # refused credentials say nothing about the backend's health
    else:
        breaker.success()
    return _ended(result, started)


def _ended(result: Attempt, started: float) -> Attempt:
    result.started, result.ended = started, time.monotonic()
    return result


async def _send(
    req: Request,
    backend: Backend,
    upstream: Upstream,
    headers: CIMultiDict[str],
    data: bytes,
    state: RouterState,
) -> Attempt:
    """One send; a 429 with a short `retry-after` is sent once more to the same backend."""
    settings = state.config.router
    wait_s = settings.first_byte_timeout_s if req.stream else settings.idle_timeout_s
    wire = adapter_for(backend)
    try:
        cache = state.wire_caches.of(backend.wire)
        out = wire.prepare(backend, req.path_qs, data, headers, cache)  # may refuse it
    except UpstreamError as exc:
        return Attempt(backend, classify(0), reason=exc.cause, error=exc)
    result = await _send_once(req, backend, upstream, wire, out, wait_s)
    delay = retry_same_after(result.status, result.headers.get("retry-after"), result.body)
    if delay is not None:
        log.info("%s: %s; retrying it in %.1fs", backend.name, result.reason, delay)
        await asyncio.sleep(delay)
        result = await _send_once(req, backend, upstream, wire, out, wait_s)
    return result


async def _send_once(
    req: Request,
    backend: Backend,
    upstream: Upstream,
    wire: WireAdapter,
    out: Outgoing,
    wait_s: float,
) -> Attempt:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    try:
        sent = await upstream.send(backend, out.path_qs, out.headers, out.body, wait_s)
    except UpstreamError as exc:
        return Attempt(backend, classify(0), reason=exc.cause, error=exc)
    reply = wire.reply(backend, sent, req.stream)
    result = Attempt(backend, Verdict.DELIVER, reply=reply, status=reply.status)
    result.headers = reply.headers
    result.first_byte = time.monotonic()
    if 200 <= reply.status < 300:
        if reply.is_sse:
            return await _first_event(result, deadline)
        return await _whole_answer(result, req.stream)
    result.reply = None
    try:
        result.body = await reply.read_error_body(MAX_ERROR_BODY_BYTES)
    except UpstreamError:
        result.body = b""
    result.verdict = classify(reply.status, result.body)
    result.reason = f"HTTP {reply.status} {error_summary(result.body)}".strip()
    return result


async def _first_event(result: Attempt, deadline: float) -> Attempt:
    """Hold the commit until the first real SSE event arrived within the first-byte
    timeout: an early `error` event can still fall back."""
    assert result.reply is not None
    reply, name = result.reply, result.backend.name
    try:
        # Usually the first event came in with the headers: no timer for that.
        result.events += feed(result.parser, reply.read_buffered(), name)
        if not any(is_real(e) for e in result.events):
            async with asyncio.timeout_at(deadline):
                while not any(is_real(e) for e in result.events):
                    chunk = await reply.read_chunk()
                    if not chunk:
                        break
                    result.events += feed(result.parser, chunk, name)
    except (UpstreamError, TimeoutError) as exc:
        reply.close()
        err = (
            exc
            if isinstance(exc, UpstreamError)
            else UpstreamTimeoutError(name, "no first event within the first-byte timeout")
        )
        return Attempt(result.backend, classify(0), reason=err.cause, error=err)
    except BaseException:
        reply.close()
        raise
    first = next((e for e in result.events if is_real(e)), None)
    if first is None:
        reply.close()
        err = UpstreamStreamError(name, "stream ended before its first event")
        return Attempt(result.backend, classify(0), reason=err.cause, error=err)
    result.first_byte = time.monotonic()
    if first.name == "message_start" and not is_json_object(first.data):
        reply.close()
        err = UpstreamStreamError(name, f"a message_start that is not JSON: {first.data[:60]!r}")
        return Attempt(result.backend, classify(0), reason=err.cause, error=err)
    if first.name == "error":
        verdict, status = classify_event_error(first.data)
        if verdict is not Verdict.FINAL:
            reply.close()
            reason = f"stream opened with an error event: {error_summary(first.data)}"
            return Attempt(result.backend, verdict, reason=reason, status=status, body=first.data)
    return result


async def _whole_answer(result: Attempt, stream: bool) -> Attempt:
    """A 2xx that is not an event stream: a broken answer where a stream was asked; else
    read whole and checked before the commit, so that a broken one is retried like a
    reset (`read_all` of a translating wire raises when it cannot translate it)."""
    assert result.reply is not None
    reply, name = result.reply, result.backend.name
    try:
        if stream:
            raise UpstreamStreamError(name, "a 2xx answer that is not an event stream")
        result.body = await reply.read_all()
        if not is_json_object(result.body):
            why = f"a 2xx answer that is not a JSON object: {result.body[:60]!r}"
            raise UpstreamStreamError(name, why)
    except UpstreamError as exc:
        reply.close()
        return Attempt(result.backend, classify(0), reason=exc.cause, error=exc)
    return result


def feed(parser: SSEParser, chunk: bytes, backend: str) -> list[Event]:
    """The events `chunk` completes; an event too large to be real is a broken stream."""
    try:
        return parser.feed(chunk)
    except EventTooLarge as exc:
        raise UpstreamStreamError(backend, str(exc)) from None


def is_real(event: Event) -> bool:
    """Not a ping, not a comment."""
    return bool(event.name) and event.name != "ping"


def error_summary(body: bytes) -> str:
    """An error body in one short line: `type: message`, else its first bytes."""
    error = parse_error(body)
    if error is not None:
        return f"{error[0]}: {error[1]}"[:300]
    return body[:200].decode("utf-8", "replace").strip()

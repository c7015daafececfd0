"""The committed answer, relayed to the client (proxy.py's step 4): no other backend after this.

A stream's SSE events go through the event rewriter (events.py) and on to the client, each
the moment it is complete; the response is never buffered. Events nothing rewrites pass
through byte for byte. If the upstream fails after the commit -- a reset, an idle timeout,
an end before `message_stop`, a message_start or message_delta that is not JSON, a broken
translated stream -- the client gets exactly one SSE `error` event and the stream ends; an
upstream's own `error` event is that one event. Either way the exchange is a stream error
(ex.broke), never a success. While the upstream is silent after the commit (a reasoning
model thinking), the client gets an Anthropic `ping` event every `ping_interval_s`
(`ping_while_silent`): Claude Code 2.1.332 drops a stream silent for 300 s.
A non-streaming answer (read whole and checked by the attempt:
it is one JSON object) has its usage made readable. What reached the client is counted on
the exchange object (flow.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiohttp import web

from hotswap.errors import InternalError, UpstreamError, UpstreamStreamError, sse_error_event
from hotswap.reading.jsoncodec import dump_json, parse_json_body
from hotswap.router.attempt import Attempt, error_summary, feed, is_real
from hotswap.router.flow import Exchange
from hotswap.router.sse import Event, SSEParser, encode
from hotswap.router.state import RouterState
from hotswap.rules.events import BrokenEvent, StreamContext, fix_message, rewrite_event
from hotswap.wire import Reply

log = logging.getLogger("hotswap")


async def commit(
    request: web.Request, ex: Exchange, result: Attempt, ctx: StreamContext, state: RouterState
) -> web.StreamResponse:
    """Relay the chosen answer (`ex.commit(result)` made it the chosen one)."""
    backend = result.backend
    if result.reply is None:  # the client's own error, already read: verbatim, keys masked
        body = state.redactor.bytes(result.body)
        ex.wrote(len(body))
        return web.Response(status=result.status, body=body, headers=result.headers)
    reply = result.reply
    try:
        if not reply.is_sse:
            body = result.body  # read whole, and checked, by the attempt
            if ex.req.is_messages:
                body = fix_json_message(body, ctx)
            ex.wrote(len(body))
            return web.Response(status=reply.status, body=body, headers=result.headers)
        pings_s = state.config.router.ping_interval_s
        return await _relay_stream(request, ex, result, reply, ctx, state.redactor.bytes, pings_s)
    finally:
        reply.close()
        state.thinking.record(backend.name, ctx.thinking.keys)


def fix_json_message(body: bytes, ctx: StreamContext) -> bytes:
    """A non-streaming message with its usage made readable (and counted)."""
    try:
        message = parse_json_body(body)
    except ValueError:
        return body
    if isinstance(message, dict) and message.get("type") == "message":
        return dump_json(message) if fix_message(message, ctx) else body
    return body


async def _relay_stream(
    request: web.Request,
    ex: Exchange,
    result: Attempt,
    reply: Reply,
    ctx: StreamContext,
    redact: Callable[[bytes], bytes],
    ping_interval_s: float,
) -> web.StreamResponse:
    resp = web.StreamResponse(status=result.status, headers=result.headers)
    resp.headers["Cache-Control"] = "no-cache"
    await resp.prepare(request)
    pinger = asyncio.create_task(ping_while_silent(resp, ex, ping_interval_s))
    try:
        return await _pump(resp, ex, result, reply, ctx, redact)
    finally:
        pinger.cancel()


async def _pump(
    resp: web.StreamResponse,
    ex: Exchange,
    result: Attempt,
    reply: Reply,
    ctx: StreamContext,
    redact: Callable[[bytes], bytes],
) -> web.StreamResponse:
    """The held events, then the rest of the stream, onward as they complete."""
    name = result.backend.name
    end = None  # the message_stop or error event relayed, once it was
    try:
        # The first real event on its own, the rest of what was held after it: the client's
        # first byte does not wait for the rewrite of a whole first chunk.
        cut = next(i for i, e in enumerate(result.events) if is_real(e)) + 1
        for held in (result.events[:cut], result.events[cut:]):
            if held:
                last = _last_word(held)
                await _write(resp, _masked(render(held, ctx), last, redact), ex)
                end = end or last
        async for chunk in reply.chunks():
            data, events = relay_chunk(chunk, result.parser, ctx, name)
            last = _last_word(events) if events else None
            if data:
                await _write(resp, _masked(data, last, redact), ex)
            end = end or last
        if end is None:
            raise UpstreamStreamError(name, "stream ended before message_stop")
        if end.name == "error":  # relayed as it came: the one error event
            raise UpstreamStreamError(name, f"error event: {error_summary(end.data)}")
    except UpstreamError as exc:
        ex.broke(str(exc))
        log.warning("%s", exc)
        if end is None:  # the upstream's own error event already ended it otherwise
            await _write_quietly(resp, sse_error_event(exc))
    except ConnectionError:
        log.info("client went away mid-stream; upstream closed")
        ex.client_left()
        return resp
    except Exception as exc:  # a bug after the commit: still one clean error event
        log.exception("internal error relaying a stream from %s", name)
        ex.broke(f"internal error ({type(exc).__name__})")
        if end is None:
            await _write_quietly(resp, sse_error_event(InternalError(type(exc).__name__)))
    await _write_eof_quietly(resp)
    return resp


def _masked(data: bytes, last: Event | None, redact: Callable[[bytes], bytes]) -> bytes:
    """An upstream's error event (the last thing a stream says) may quote the key it got:
    masked like every other error (redact.py); any other data goes as it came."""
    if last is not None and last.name == "error":
        return redact(data)
    return data


async def _write(resp: web.StreamResponse, data: bytes, ex: Exchange) -> None:
    await resp.write(data)
    ex.wrote(len(data))


PING = b'event: ping\ndata: {"type": "ping"}\n\n'


async def ping_while_silent(resp: web.StreamResponse, ex: Exchange, interval_s: float) -> None:
    """A `ping` event to the client each time nothing was written for a whole interval
    (so after a silence of between one and two intervals). One task and one timer per
    stream, and nothing on the path of a chunk: it only compares the exchange's byte
    count between two ticks. Every write is one whole event, written to the transport at
    once, so a ping never lands inside a relayed event."""
    seen = -1
    while True:
        await asyncio.sleep(interval_s)
        if ex.sent == seen:
            try:
                await _write(resp, PING, ex)
            except ConnectionError:
                return  # the client is gone: the relay finds out at its next write
        seen = ex.sent


_DELTA_EVENT = b"event: content_block_delta\n"


def relay_chunk(
    chunk: bytes, parser: SSEParser, ctx: StreamContext, backend: str
) -> tuple[bytes, list[Event]]:
    """What to write to the client for one upstream chunk, and the events parsed from it."""
    head, rest = passthrough_prefix(chunk, parser, ctx)
    events = feed(parser, rest, backend) if rest else []
    if not events:
        return head, events
    return head + render(events, ctx) if head else render(events, ctx), events


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


def _last_word(events: list[Event]) -> Event | None:
    """The `message_stop` or `error` event among `events`: the last thing a stream says."""
    return next((e for e in events if e.name in ("message_stop", "error")), None)


def render(events: list[Event], ctx: StreamContext) -> bytes:
    """The events as the client gets them. A content_block_delta outside a thinking block
    (most of a stream: text and tool input) is relayed without a look (rewrite_event would
    do nothing with it: the same rule as passthrough_prefix)."""
    parts = []
    thinking = ctx.thinking
    for event in events:
        name = event.name
        if name == "content_block_delta" and not thinking.open:
            parts.append(event.raw)
            continue
        try:
            new = rewrite_event(name, event.data, ctx) if name else None
        except BrokenEvent as exc:
            raise UpstreamStreamError(ctx.backend, str(exc)) from None
        parts.append(event.raw if new is None else encode(name, new))
    return b"".join(parts)


async def _write_quietly(resp: web.StreamResponse, data: bytes) -> None:
    with contextlib.suppress(ConnectionError):
        await resp.write(data)


async def _write_eof_quietly(resp: web.StreamResponse) -> None:
    with contextlib.suppress(ConnectionError):
        await resp.write_eof()

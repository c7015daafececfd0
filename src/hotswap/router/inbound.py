"""What one client connection may take from a router: time, a connection slot, log lines.

aiohttp's server waits as long as a client likes for headers and bodies, so any local
process could hold a router's sockets (and file descriptors) open without knowing its
session secret. Here, per router (`[router]` in the config):

    header_timeout_s     a new connection must deliver its first request's headers in time
    keepalive_timeout_s  an idle keep-alive connection (or one whose next headers stall)
                         is closed
    body_timeout_s       a request body must arrive within this, plus 1 s per MB received
    max_connections      at the cap, the oldest connection not in a request makes room for
                         a new one, else the one whose request body has waited longest for
                         its next byte; when every one is in a request whose body has
                         arrived, the new one gets a 503 (then its connection closes)

A connection whose first request line has no session secret in its path gets a 401 and is
closed as soon as that line is read. A request the guard refuses (no session secret, a
browser's Origin) gets its error and its connection is closed at once, whatever it was
still sending. Errors of aiohttp's HTTP parser
(a bad request line, a header too long) are Anthropic-shaped JSON and one short log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

from aiohttp import StreamReader, web
from aiohttp.typedefs import Middleware

from hotswap.config.loading import MB, RouterSettings
from hotswap.errors import ERROR_TYPES, error_body
from hotswap.router.intake import SHARE, Share, release_hold

log = logging.getLogger("hotswap")

MAX_REQUEST_LINE = 8190  # aiohttp's max_line_size: a longer line is its 400 anyway
REFUSED_LINGER_S = 1.0  # a refused connection's request is read (and dropped) this long
NO_SECRET_MESSAGE = (
    "hotswap: this router belongs to another session (missing or wrong session secret in "
    "ANTHROPIC_BASE_URL)"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Limits:
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    keepalive_timeout_s: float = 60.0
    max_connections: int = 128

    @classmethod
    def of(cls, settings: RouterSettings) -> Limits:
        return cls(
            settings.header_timeout_s,
            settings.body_timeout_s,
            settings.keepalive_timeout_s,
            settings.max_connections,
        )

    def body_allowance_s(self, received: int) -> float:
        return self.body_timeout_s + received / MB


class Connection(web.RequestHandler):
    """aiohttp's connection protocol, reporting to the router's Connections; its parser
    errors are rendered like every other error of hotswap's."""

    def __init__(self, manager: web.Server, conns: Connections, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self.conns = conns
        self.requests_seen = 0
        self.in_request = False
        self.last_data_at = time.monotonic()
        self.body: StreamReader | None = None  # the request's, while in a request
        self.share: Share | None = None
        # The first request line, until it is complete: checked for the session secret.
        self.first_line: bytes | None = b"" if conns.secret is not None else None

    def data_received(self, data: bytes) -> None:
        self.last_data_at = time.monotonic()
        if self.first_line is not None:
            line = self.first_line + data[:MAX_REQUEST_LINE]
            self.first_line = line
            if b"\n" in line or len(line) > MAX_REQUEST_LINE:
                self.first_line = None
                if not self.conns.admits(line):
                    self._refuse_at_once()
                    return
        super().data_received(data)

    def _refuse_at_once(self) -> None:
        """No session secret in the first request's path: its 401, and the connection is
        closed without waiting for the rest of the request."""
        if self.transport is not None:
            self.transport.write(_raw_response(401, "authentication_error", NO_SECRET_MESSAGE))
        self.force_close()

    def awaits_body(self) -> bool:
        """In a request whose body has not all arrived, and not queued for the budget."""
        queued = self.share is not None and self.share.queued
        return self.body is not None and not self.body.is_eof() and not queued

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.conns.opened(self)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.conns.closed(self)
        super().connection_lost(exc)

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """A request aiohttp could not parse (or a handler bug): one log line, no
        traceback for the client's mistakes, and Anthropic's error shape."""
        kind = type(exc).__name__ if exc is not None else "error"
        if status >= 500:
            log.error("internal error (%s) serving %s", kind, request.remote, exc_info=exc)
            text = f"hotswap: internal error ({kind}); the router log has the details"
        else:
            log.info("refused a malformed HTTP request from %s (%s)", request.remote, kind)
            text = f"hotswap: malformed HTTP request ({kind})"
        if request.writer.output_size > 0:
            raise ConnectionError("the response had started; the connection is dropped")
        resp = web.Response(
            status=status,
            body=error_body(ERROR_TYPES.get(status, "invalid_request_error"), text),
            content_type="application/json",
        )
        resp.force_close()
        return resp


@dataclass(eq=False)
class Connections:
    """The router's client connections: the protocol factory handed to the event loop,
    the connection cap, the header deadline, and the requests in flight."""

    limits: Limits
    secret: str | None = None  # the session's (the Guard's), checked on the first request line
    server: web.Server | None = None  # aiohttp's, once the runner is set up
    open: dict[Connection, asyncio.TimerHandle | None] = field(default_factory=dict)
    in_flight: set[asyncio.Task[Any]] = field(default_factory=set)
    stopping: bool = False  # requests cancelled now are cut by shutdown

    def __call__(self) -> asyncio.BaseProtocol:
        assert self.server is not None, "the runner is set up before the first connection"
        if not self._make_room():
            return _Refuse()
        loop = asyncio.get_running_loop()
        return Connection(
            self.server,
            self,
            loop=loop,
            keepalive_timeout=self.limits.keepalive_timeout_s,
            access_log=None,
        )

    def _make_room(self) -> bool:
        """Under the cap, or made so by closing the oldest connection not in a request."""
        live = [c for c in self.open if c.transport is not None]
        if len(live) < self.limits.max_connections:
            return True
        victim = next((c for c in live if not c.in_request), None)
        if victim is not None:
            log.info("closed an idle connection to make room (max_connections)")
            victim.force_close()
            return True
        stalled = [c for c in live if c.awaits_body()]
        if not stalled:
            log.warning("refused a connection: %d in requests", len(live))
            return False
        victim = min(stalled, key=lambda c: c.last_data_at)
        log.info("closed a connection whose request body stalled, to make room")
        assert victim.transport is not None
        victim.transport.abort()  # its handler is cancelled (handler_cancellation)
        return True

    def admits(self, line: bytes) -> bool:
        """Does a request line carry the session secret? A target that is not a plain path
        (`*`, an absolute URL) is left to the parser and the guard."""
        parts = line.split(b"\n", 1)[0].split(b" ")
        if self.secret is None or len(parts) < 2 or not parts[1].startswith(b"/"):
            return True
        path = parts[1]
        if not path.startswith(b"/s/"):
            return False
        given = path[3:].split(b"?", 1)[0].split(b"/", 1)[0]
        return hmac.compare_digest(given, self.secret.encode())

    def opened(self, conn: Connection) -> None:
        loop = asyncio.get_running_loop()
        due = self.limits.header_timeout_s
        self.open[conn] = loop.call_later(due, self._headers_due, conn)

    def closed(self, conn: Connection) -> None:
        timer = self.open.pop(conn, None)
        if timer is not None:
            timer.cancel()

    def _headers_due(self, conn: Connection) -> None:
        self.open[conn] = None
        if conn.requests_seen == 0 and conn.transport is not None:
            log.info("closed a connection that sent no request headers in time")
            conn.force_close()

    def request_started(self, request: web.Request, share: Share) -> None:
        conn = request.protocol
        if isinstance(conn, Connection):
            conn.requests_seen += 1
            conn.in_request = True
            conn.body, conn.share = request.content, share
            timer = self.open.get(conn)
            if timer is not None:
                timer.cancel()
                self.open[conn] = None

    @staticmethod
    def request_ended(request: web.Request) -> None:
        conn = request.protocol
        if isinstance(conn, Connection):
            conn.in_request = False
            conn.body = conn.share = None


class _Refuse(asyncio.Protocol):
    """Over the cap with every connection busy: one 503, then close. What the client
    sends meanwhile is read and dropped for a moment: closing a socket with unread data
    resets it, and the client would see a reset instead of the 503."""

    def __init__(self) -> None:
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        out = cast(asyncio.WriteTransport, transport)  # uvloop's is no asyncio.Transport
        message = "hotswap: too many connections (max_connections)"
        out.write(_raw_response(503, "overloaded_error", message))
        self.timer = asyncio.get_running_loop().call_later(REFUSED_LINGER_S, out.close)

    def data_received(self, data: bytes) -> None:
        pass  # the request nobody will serve

    def eof_received(self) -> bool:
        return False  # the client is done: close

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()


def _raw_response(status: int, error_type: str, message: str) -> bytes:
    """A whole HTTP/1.1 error response, for a connection aiohttp is not going to answer."""
    body = error_body(error_type, message)
    reason = {401: "Unauthorized", 503: "Service Unavailable"}.get(status, "Error")
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


CONNECTIONS: web.AppKey[Connections] = web.AppKey("connections", Connections)


def make_inbound_middleware() -> Middleware:
    """Outermost: marks the connection busy, bounds the body's arrival, tracks the request
    for shutdown, and closes the connection after a refusal (the guard's force_close)."""

    @web.middleware
    async def inbound(request: web.Request, handler: Handler) -> web.StreamResponse:
        conns = request.app[CONNECTIONS]
        task = asyncio.current_task()
        assert task is not None
        request[SHARE] = share = Share()  # the body budget's (intake.py)
        conns.request_started(request, share)
        conns.in_flight.add(task)
        watch = _BodyWatch(request, conns.limits, share)
        try:
            resp = await handler(request)
            if request.content.exception() is not None:
                resp.force_close()  # an unreadable body (intake.py): nothing more to read
            if resp.keep_alive is False and not resp.prepared:
                await _send_and_close(request, resp)
            return resp
        except asyncio.CancelledError:
            if conns.stopping:
                await end_for_shutdown(request)
            raise
        finally:
            watch.cancel()
            release_hold(request)
            conns.in_flight.discard(task)
            conns.request_ended(request)

    return inbound


async def _send_and_close(request: web.Request, resp: web.StreamResponse) -> None:
    """A refusal: the answer, then the connection closes at once (no lingering read of a
    body the client may keep sending forever)."""
    await resp.prepare(request)
    await resp.write_eof()
    if request.transport is not None:
        request.transport.close()


SHUTDOWN_MESSAGE = "hotswap: the router is shutting down; this request was cut"


async def end_for_shutdown(request: web.Request) -> None:
    """A request cut by shutdown: a stream that started gets one SSE `error` event; one
    that had not answered yet gets a 503 in Anthropic's shape."""
    with contextlib.suppress(ConnectionError, RuntimeError):
        if request.writer.output_size > 0:
            event = b"event: error\ndata: " + error_body("api_error", SHUTDOWN_MESSAGE) + b"\n\n"
            await request.writer.write(event)
            await request.writer.write_eof()
            return
        resp = web.Response(
            status=503,
            body=error_body("overloaded_error", SHUTDOWN_MESSAGE),
            content_type="application/json",
        )
        resp.force_close()
        await resp.prepare(request)
        await resp.write_eof()


class _BodyWatch:
    """Aborts the connection when the request body has not arrived within the limits
    (the time it waits for the body budget, when it is read, does not count)."""

    def __init__(self, request: web.Request, limits: Limits, share: Share) -> None:
        self.request, self.limits, self.share = request, limits, share
        self.loop = asyncio.get_running_loop()
        self.start = self.loop.time()
        self.timer: asyncio.TimerHandle | None = None
        if not request.content.is_eof():
            self._schedule()

    def _schedule(self) -> None:
        allowed = self.limits.body_allowance_s(self.request.content.total_bytes)
        self.timer = self.loop.call_at(self.start + allowed, self._check)

    def _check(self) -> None:
        self.timer = None
        content = self.request.content
        if content.is_eof():
            return
        if self.share.queued:  # waiting for the body budget (intake.py), not for the client
            self.start = self.loop.time()
        if self.loop.time() < self.start + self.limits.body_allowance_s(content.total_bytes):
            self._schedule()
            return
        log.info("closed a connection whose request body did not arrive in time")
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()

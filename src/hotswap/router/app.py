"""The router's aiohttp application: routes, guards, and the server lifecycle."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from hotswap.errors import HotswapError, InternalError, RequestError
from hotswap.ledger.route import handle_cost
from hotswap.reading.jsoncodec import dump_json
from hotswap.redact import LogRedaction
from hotswap.router import deepclaude
from hotswap.router.estimate import handle_count_tokens
from hotswap.router.inbound import (
    CONNECTIONS,
    NO_SECRET_MESSAGE,
    Connections,
    Limits,
    make_inbound_middleware,
)
from hotswap.router.intake import BUDGET, BodyBudget
from hotswap.router.listen import listen
from hotswap.router.models import handle_models
from hotswap.router.proxy import STATE, UPSTREAM, error_response, handle_messages
from hotswap.router.seams import (
    ClientAuthenticator,
    LoopbackClients,
    SessionSecret,
)
from hotswap.router.state import RouterState
from hotswap.router.upstream import Upstream

log = logging.getLogger("hotswap")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


_LOOPBACK_NAMES = frozenset(("localhost", "127.0.0.1", "::1"))


def is_loopback_host(host: str) -> bool:
    """True for `localhost`, 127.0.0.0/8 and ::1, with or without a port."""
    name = host.strip().lower()
    if name.startswith("["):
        name = name[1 : name.find("]")] if "]" in name else name[1:]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True  # what every client sends, without parsing an address each request
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _loopback_origin(origin: str) -> bool:
    host = origin.split("://", 1)[-1].split("/", 1)[0]
    return origin != "null" and is_loopback_host(host)


@dataclass(frozen=True)
class Guard:
    """Who may use this router: loopback Host and Origin, and its clients as its
    authenticator says (seams.ClientAuthenticator: the session's secret, if any)."""

    secret: str | None = None
    check_host: bool = True
    clients: ClientAuthenticator = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.clients is None:  # from `secret`: a session router's, or serve's (anyone)
            clients = SessionSecret(self.secret) if self.secret is not None else LoopbackClients()
            object.__setattr__(self, "clients", clients)

    def strip_secret(self, path: str) -> str | None:
        """The path to route; None when the client is not this router's (a 401)."""
        return self.clients.authenticate(path)

    def refuse(self, request: web.Request) -> HotswapError | None:
        # Claude Code and the SDKs never send an Origin; browsers always do. A router
        # without a session secret (`serve`) refuses any; one with a secret, foreign ones.
        origin = request.headers.get("Origin")
        if origin is not None and (self.secret is None or not _loopback_origin(origin)):
            return RequestError("hotswap: requests from a web page are refused", status=403)
        if self.check_host and not is_loopback_host(request.host):
            return RequestError("hotswap: the Host header must be a loopback address", 403)
        return None


def make_guard_middleware(guard: Guard) -> Middleware:
    @web.middleware
    async def guard_and_render(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            refusal = guard.refuse(request)
            if refusal is not None:
                raise refusal
            path = guard.strip_secret(request.rel_url.raw_path)
            if path is None:
                raise RequestError(NO_SECRET_MESSAGE, status=401)
            if path != request.rel_url.raw_path:
                url = request.rel_url.with_path(path, encoded=True)
                request = request.clone(rel_url=url.with_query(request.rel_url.query))
                return await _dispatch(request)
            return await handler(request)
        except HotswapError as exc:
            resp = error_response(exc)
            if exc.status in (401, 403) and isinstance(exc, RequestError):
                resp.force_close()  # a refusal: the connection goes too (inbound.py)
            return resp
        except web.HTTPException:
            raise
        except Exception as exc:  # a bug: still Anthropic-shaped, never aiohttp's text page
            log.exception("internal error on %s %s", request.method, request.path)
            return error_response(InternalError(type(exc).__name__))

    return guard_and_render


async def _dispatch(request: web.Request) -> web.StreamResponse:
    """Route a request whose secret prefix was stripped (the router matched the old path)."""
    match = await request.app.router.resolve(request)
    return await match.handler(request)


async def handle_status(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = state.redactor.bytes(dump_json(state.status()))  # last_error may quote a key
    return web.Response(body=body, content_type="application/json")


async def handle_unknown(request: web.Request) -> web.Response:
    raise RequestError(
        f"hotswap: no route for {request.method} {request.path}; the router serves "
        "POST /v1/messages, POST /v1/messages/count_tokens, GET /v1/models, "
        "GET /_hotswap/status and GET /_hotswap/cost (and deepclaude's /_proxy/mode, "
        "/_proxy/status, /_proxy/cost, /_router/status)",
        status=404,
    )


Extend = Callable[[web.Application], None]


def make_app(
    state: RouterState, guard: Guard | None = None, extend: Extend | None = None
) -> web.Application:
    """The router's app; `extend` adds middleware (inside the guard) and routes (before
    the catch-all): the team gateway's keys, modes and POST /_hotswap/mode."""
    guard = guard or Guard()
    middlewares = [make_inbound_middleware(), make_guard_middleware(guard)]
    app = web.Application(middlewares=middlewares)
    app[STATE] = state
    state.redactor.add(guard.secret)
    settings = state.config.router
    app[CONNECTIONS] = Connections(Limits.of(settings), secret=guard.secret)
    app[BUDGET] = BodyBudget(settings.body_budget_bytes, settings.body_wait_s)
    app[UPSTREAM] = Upstream(state.config.router)
    app.router.add_post("/v1/messages", handle_messages)
    app.router.add_post("/v1/messages/count_tokens", handle_count_tokens)
    app.router.add_get("/v1/models", handle_models)
    app.router.add_get("/_hotswap/status", handle_status)
    app.router.add_get("/_hotswap/cost", handle_cost)
    deepclaude.add_routes(app.router)  # /_proxy/*, /_router/status: deepclaude's names
    if extend is not None:
        extend(app)
    app.router.add_route("*", "/{tail:.*}", handle_unknown)
    app.cleanup_ctx.append(_upstream_ctx)
    app.cleanup_ctx.append(_log_redaction_ctx)
    return app


async def _upstream_ctx(app: web.Application) -> AsyncIterator[None]:
    await app[UPSTREAM].start()
    yield
    await app[UPSTREAM].close()


async def _log_redaction_ctx(app: web.Application) -> AsyncIterator[None]:
    """While the router runs, the `hotswap` logger masks every secret it knows."""
    redaction = LogRedaction(app[STATE].redactor)
    log.addFilter(redaction)
    yield
    log.removeFilter(redaction)


class RunningRouter:
    """A started router: its port, its requests in flight, and how to stop it."""

    def __init__(
        self, runner: web.AppRunner, server: asyncio.AbstractServer, conns: Connections, port: int
    ) -> None:
        self.runner, self.server, self.conns, self.port = runner, server, conns, port

    @property
    def in_flight(self) -> int:
        return len(self.conns.in_flight)

    def stop_accepting(self) -> None:
        self.server.close()
        for conn in list(self.conns.open):
            if not conn.in_request:
                conn.force_close()  # idle keep-alive connections: nothing to wait for

    async def stop(self, grace_s: float = 0.0) -> None:
        """Stop accepting at once; requests in flight get `grace_s` to finish, then each
        is cut (a stream ends with one SSE `error` event)."""
        self.stop_accepting()
        pending = set(self.conns.in_flight)
        if pending and grace_s > 0:
            _, pending = await asyncio.wait(pending, timeout=grace_s)
        await self.cut(pending)
        await self.runner.cleanup()

    async def cut(self, tasks: set[asyncio.Task[Any]] | None = None) -> None:
        """Cancel requests in flight now (each is answered by inbound.end_for_shutdown)."""
        tasks = set(self.conns.in_flight) if tasks is None else tasks
        self.conns.stopping = True
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)


async def start_router(
    state: RouterState,
    host: str = "127.0.0.1",
    port: int = 0,
    guard: Guard | None = None,
    sock: socket.socket | None = None,
    extend: Extend | None = None,
) -> RunningRouter:
    """Serve on `sock` (already listening), else bind host:port (0 picks a free one)."""
    sock = sock if sock is not None else listen(host, port)
    app = make_app(state, guard, extend)
    conns = app[CONNECTIONS]
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1)
    try:
        await runner.setup()
        assert runner.server is not None
        conns.server = runner.server
        server = await asyncio.get_running_loop().create_server(conns, sock=sock)
    except BaseException:
        sock.close()
        await runner.cleanup()
        raise
    bound = int(sock.getsockname()[1])
    state.port = bound
    return RunningRouter(runner, server, conns, bound)

"""The router's aiohttp application: routes, guards, and the server lifecycle."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

from hotswap.errors import HotswapError, InternalError, RequestError
from hotswap.estimate import handle_count_tokens
from hotswap.ledger.route import handle_cost
from hotswap.models import handle_models
from hotswap.proxy import STATE, UPSTREAM, error_response, handle_messages
from hotswap.state import RouterState
from hotswap.upstream import Upstream

log = logging.getLogger("hotswap")

SECRET_PREFIX = "/s/"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback_host(host: str) -> bool:
    """True for `localhost`, 127.0.0.0/8 and ::1, with or without a port."""
    name = host.strip().lower()
    if name.startswith("["):
        name = name[1 : name.find("]")] if "]" in name else name[1:]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _origin_host(origin: str) -> str:
    rest = origin.split("://", 1)[-1]
    return rest.split("/", 1)[0]


@dataclass(frozen=True)
class Guard:
    """Who may use this router: loopback Host and Origin, and the session's secret if any."""

    secret: str | None = None
    check_host: bool = True

    def strip_secret(self, path: str) -> str | None:
        """The path without the secret prefix; None when the secret is missing or wrong."""
        if self.secret is None:
            return path
        if not path.startswith(SECRET_PREFIX):
            return None
        given, _, rest = path[len(SECRET_PREFIX) :].partition("/")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return None
        return "/" + rest

    def refuse(self, request: web.Request) -> HotswapError | None:
        origin = request.headers.get("Origin")
        if origin and (origin == "null" or not is_loopback_host(_origin_host(origin))):
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
                raise RequestError(
                    "hotswap: this router belongs to another session (missing or wrong "
                    "session secret in ANTHROPIC_BASE_URL)",
                    status=401,
                )
            if path != request.rel_url.raw_path:
                url = request.rel_url.with_path(path, encoded=True)
                request = request.clone(rel_url=url.with_query(request.rel_url.query))
                return await _dispatch(request)
            return await handler(request)
        except HotswapError as exc:
            return error_response(exc)
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
    return web.json_response(request.app[STATE].status())


async def handle_unknown(request: web.Request) -> web.Response:
    raise RequestError(
        f"hotswap: no route for {request.method} {request.path}; the router serves "
        "POST /v1/messages, POST /v1/messages/count_tokens, GET /v1/models, "
        "GET /_hotswap/status and GET /_hotswap/cost",
        status=404,
    )


def make_app(state: RouterState, guard: Guard | None = None) -> web.Application:
    app = web.Application(middlewares=[make_guard_middleware(guard or Guard())])
    app[STATE] = state
    app[UPSTREAM] = Upstream(state.config.router)
    app.router.add_post("/v1/messages", handle_messages)
    app.router.add_post("/v1/messages/count_tokens", handle_count_tokens)
    app.router.add_get("/v1/models", handle_models)
    app.router.add_get("/_hotswap/status", handle_status)
    app.router.add_get("/_hotswap/cost", handle_cost)
    app.router.add_route("*", "/{tail:.*}", handle_unknown)
    app.cleanup_ctx.append(_upstream_ctx)
    return app


async def _upstream_ctx(app: web.Application) -> AsyncIterator[None]:
    await app[UPSTREAM].start()
    yield
    await app[UPSTREAM].close()


class RunningRouter:
    """A started router: its port, and how to stop it."""

    def __init__(self, runner: web.AppRunner, port: int) -> None:
        self.runner = runner
        self.port = port

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_router(
    state: RouterState, host: str, port: int, guard: Guard | None = None
) -> RunningRouter:
    """Bind and start serving; port 0 picks a free one."""
    app = make_app(state, guard)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    bound = int(runner.addresses[0][1])
    state.port = bound
    return RunningRouter(runner, bound)

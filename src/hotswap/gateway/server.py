"""The team gateway: the router app (router/app.py, the same hot path) with the gateway
behind its seams -- users' keys (ClientAuthenticator), modes in Redis (ModeStore), the
ledger in PostgreSQL (ExchangeSink) -- plus POST /_hotswap/mode, each user's switch.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from hotswap.config.backends import Backend
from hotswap.config.loading import Config, KeyRing
from hotswap.config.prices import price_table
from hotswap.config.tuning import tune_process
from hotswap.errors import ConfigError, RequestError
from hotswap.gateway.budget import Budgets
from hotswap.gateway.caller import Caller, CallerSlot
from hotswap.gateway.control import Controls
from hotswap.gateway.database import Database
from hotswap.gateway.keys import GatewayKeys, KeyStore
from hotswap.gateway.ledger import GatewayLedger
from hotswap.gateway.modes import MAX_SESSION_CHARS, CallerModes, RedisModes
from hotswap.osdeps import on_signals, stop_signals
from hotswap.reading.jsoncodec import dump_json, parse_json_body
from hotswap.router.app import Guard, RunningRouter, is_loopback_host, start_router
from hotswap.router.deepclaude import MAX_MODE_BODY_BYTES, parse_mode_body
from hotswap.router.intake import read_body
from hotswap.router.listen import url_of
from hotswap.router.server import bind
from hotswap.router.state import RouterState

log = logging.getLogger("hotswap")

SESSION_HEADER = "x-claude-code-session-id"
MODE_PATH = "/_hotswap/mode"
CONTROL_PREFIXES = ("/_hotswap/", "/_proxy/", "/_router/")
PROXY_MODE_PATH = "/_proxy/mode"  # deepclaude's switch: the caller's own, here
ANTHROPIC_KEY_ENV = "ANTHROPIC_API_KEY"


def gateway_config(config: Config, environ: Mapping[str, str]) -> Config:
    """The config as a gateway runs it: a passthrough backend (`anthropic`) would forward
    the client's credential -- here a gateway key -- so it sends the gateway's own
    ANTHROPIC_API_KEY instead. Provider keys come from the gateway's environment only."""
    backends: dict[str, Backend] = {}
    for name, b in config.backends.items():
        if b.is_passthrough:
            b = b._replace(auth="x-api-key", api_key_env=ANTHROPIC_KEY_ENV)
        backends[name] = b
    names = {b.api_key_env for b in backends.values() if b.api_key_env}
    default = config.gateway.default_backend or config.default_backend
    resolved = config.resolve(default)
    if resolved is None:
        raise ConfigError(config.unknown_backend(default) + " ([gateway] default_backend)")
    return config._replace(
        backends=backends, keys=KeyRing(environ, names), default_backend=resolved.name
    )


@dataclass
class Gateway:
    """What a gateway instance holds besides the router's state."""

    config: Config
    keys: GatewayKeys
    modes: RedisModes
    budgets: Budgets
    slot: CallerSlot
    controls: Controls
    caller_modes: CallerModes

    def extend(self, app: web.Application) -> None:
        """router.app.make_app's hook: the keys and modes middleware, the switch route."""
        app.middlewares.append(self._middleware())
        app.router.add_post(MODE_PATH, self.handle_mode)
        app.router.add_get(MODE_PATH, self.handle_mode)

    def _middleware(self) -> Any:
        @web.middleware
        async def gateway_caller(request: web.Request, handler: Any) -> web.StreamResponse:
            user = await self.keys.authenticate(request.headers)
            session = request.headers.get(SESSION_HEADER) or None
            control = self.control_handlers.get((request.method, request.path))
            if control is None and _router_control(request.path):
                raise RequestError(f"hotswap gateway: {request.path} is not served here", 404)
            routed = control is None and request.path != MODE_PATH  # (the proxy's is a control)
            looked = await self.modes.lookup(
                user.id, session, self.budgets.counter(user) if routed else None
            )
            mode = self.budgets.check(user, looked) if routed else looked.mode
            token = self.slot.set(Caller(user, session, mode))
            try:
                response: web.StreamResponse = await (control or handler)(request)
                await self.caller_modes.settle()  # a sticky fallback saved before the answer
                return response
            finally:
                self.slot.reset(token)

        return gateway_caller

    def __post_init__(self) -> None:
        # Routed by the middleware ahead of the router's own (which show every user's):
        # the caller's own status and cost (control.py), deepclaude's switch as theirs.
        self.control_handlers: dict[tuple[str, str], Any] = {
            **self.controls.handlers(),
            ("POST", PROXY_MODE_PATH): self.handle_proxy_mode,
        }

    def _json(self, data: dict[str, Any]) -> web.Response:
        """Masked as every answer is (a fallback's note quotes an upstream's error)."""
        body = self.controls.redactor.bytes(dump_json(data))
        return web.Response(body=body, content_type="application/json")

    async def handle_mode(self, request: web.Request) -> web.Response:
        """GET: the caller's mode. POST {"backend": NAME, "session": ID?}: switch the
        session's mode (or, without a session, every session of the caller's)."""
        caller = self.slot.get()
        assert caller is not None, "the middleware ran"
        if request.method == "GET":
            session = request.query.get("session") or caller.session
            mode = (await self.modes.lookup(caller.user.id, session)).mode
            name = mode or self.config.default_backend
            note = await self.controls.fallback_note(caller.user.id, name, session)
            return self._json({"user": caller.user.name, "session": session, "backend": name,
                          "default": mode is None, "fallback": note})  # fmt: skip
        name, session = await _mode_request(request)
        return self._json(await self._switch(caller, name, session))

    async def handle_proxy_mode(self, request: web.Request) -> web.Response:
        """deepclaude's `POST /_proxy/mode` (`backend=NAME`): the caller's switch, their
        session's (Claude Code's header) or, from a script without one, every session's."""
        caller = self.slot.get()
        assert caller is not None, "the middleware ran"
        raw = await read_body(request, MAX_MODE_BODY_BYTES)  # bounded as deepclaude's own
        try:
            name, _model = parse_mode_body(raw, request.content_type)
        except ValueError as exc:
            raise RequestError(f"hotswap gateway: POST {PROXY_MODE_PATH}: {exc}", 400) from None
        previous = caller.mode or self.config.default_backend
        answer = await self._switch(caller, name, caller.session)
        return self._json({**answer, "mode": answer["backend"], "previous": previous})

    async def _switch(self, caller: Caller, name: str, session: str | None) -> dict[str, Any]:
        backend = self.config.resolve(name)
        if backend is None:
            raise RequestError(f"hotswap gateway: {self.config.unknown_backend(name)}", 400)
        refused = caller.user.refusal(backend.name)
        if refused is not None:
            raise RequestError(refused, status=403)
        await self.modes.switch(caller.user.id, backend.name, session)
        log.info("%s switched %s to %s", caller.user.name, session or "every session",
                 backend.name)  # fmt: skip
        return {"user": caller.user.name, "session": session, "backend": backend.name}


def _router_control(path: str) -> bool:
    """A path of the router's own control endpoints, which speak for every user: on a
    gateway only the caller's own (control.py) and the mode switch are served; any other,
    today's or one added later, is refused rather than shown to every key."""
    return path.startswith(CONTROL_PREFIXES) and path != MODE_PATH


async def _mode_request(request: web.Request) -> tuple[str, str | None]:
    raw = await read_body(request, MAX_MODE_BODY_BYTES)
    try:
        body = parse_json_body(raw)
    except ValueError:
        body = None
    name = body.get("backend") if isinstance(body, dict) else None
    session = body.get("session") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise RequestError('hotswap gateway: expected {"backend": NAME, "session": ID?}', 400)
    if session is not None and (not isinstance(session, str) or len(session) > MAX_SESSION_CHARS):
        raise RequestError("hotswap gateway: `session` must be a string (Claude Code's id)", 400)
    return name.strip(), session or None


@dataclass
class RunningGateway:
    router: RunningRouter
    gateway: Gateway
    ledger: GatewayLedger
    db: Database

    @property
    def port(self) -> int:
        return self.router.port

    async def stop(self, grace_s: float = 0.0) -> None:
        await self.router.stop(grace_s)
        await asyncio.sleep(0)  # observers already scheduled run first
        await self.ledger.close()
        await self.gateway.budgets.close()
        await self.gateway.modes.close()
        await self.db.close()


async def start_gateway(
    config: Config, database: str, redis_url: str, host: str = "127.0.0.1", port: int = 0,
    sock: socket.socket | None = None, worker: int | None = None,
) -> RunningGateway:  # fmt: skip
    """One gateway instance, serving; `config` already as gateway_config made it. `sock`:
    a socket already listening (a worker's, workers.py); `worker`: its number, which
    names its own spill file."""
    db = Database(database)
    await db.migrate()
    if not is_loopback_host(host) and not await KeyStore(db).list():
        await db.close()
        raise ConfigError(
            f"refusing to listen on {host}: no keys exist yet; create one first "
            "(`hotswap gateway keys create NAME`)"
        )
    slot = CallerSlot()
    modes = RedisModes(redis_url)
    budgets = Budgets(modes.client, fail_closed=config.gateway.budgets_when_redis_down == "closed")
    await budgets.reconcile(db)  # a Redis that restarted empty does not reset the day
    caller_modes = CallerModes(slot, modes)
    state = RouterState(
        config=config,
        mode_file=config.state_dir / "gateway-mode",  # unused: modes=CallerModes
        initial_backend=config.default_backend,
        modes=caller_modes,
    )
    controls = Controls(config, slot, modes, budgets, db, state.redactor, state.started)
    keys = GatewayKeys(KeyStore(db))
    gateway = Gateway(config, keys, modes, budgets, slot, controls, caller_modes)
    spill = spill_path(config.state_dir, worker)
    ledger = GatewayLedger(Database(database), slot, price_table(config.prices), spill).start()
    ledger.on_cost.append(gateway.budgets.add)
    state.observers.add_sink(ledger)
    guard = Guard(check_host=False)  # keys decide; a reverse proxy's Host is not loopback
    router = await start_router(state, guard=guard, sock=sock or bind(host, port),
                                extend=gateway.extend)  # fmt: skip
    return RunningGateway(router, gateway, ledger, db)


def serve_gateway(config: Config, database: str, redis_url: str, host: str, port: int) -> None:
    """`hotswap gateway`: serve until SIGINT/SIGTERM, tuned as `hotswap serve` is (uvloop,
    fewer GC passes, freed memory kept: config/tuning.py)."""
    tune_process()
    asyncio.run(serve(config, database, redis_url, host, port))


async def serve(
    config: Config, database: str, redis_url: str, host: str, port: int,
    sock: socket.socket | None = None, worker: int | None = None,
    ready: Callable[[int], None] | None = None,
) -> None:  # fmt: skip
    """Serve until SIGINT/SIGTERM; `ready(port)` once listening (default: say so)."""
    stop = asyncio.Event()
    on_signals(asyncio.get_running_loop(), stop_signals(), lambda _n: stop.set())
    running = await start_gateway(config, database, redis_url, host, port, sock, worker)
    (ready or (lambda p: print(f"gateway listening on {url_of(host, p)}", flush=True)))(
        running.port
    )
    try:
        await stop.wait()
    finally:
        await running.stop(config.router.shutdown_grace_s)


def spill_path(state_dir: Path, worker: int | None = None) -> Path:
    """Each worker (`--workers N`) spills to its own file, which its restart replays."""
    return state_dir / (
        "gateway-spill.jsonl" if worker is None else f"gateway-spill-{worker}.jsonl"
    )

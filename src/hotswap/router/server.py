"""Run one router in the foreground until a signal stops it (`hotswap serve`)."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import sys
from pathlib import Path

from hotswap.config.loading import Config
from hotswap.config.tuning import tune_process
from hotswap.errors import ConfigError
from hotswap.ledger.attach import close_ledger, open_ledger
from hotswap.osdeps import on_signals, stop_signals
from hotswap.router.app import Guard, RunningRouter, is_loopback_host, start_router
from hotswap.router.listen import busy_port_fix, listen, url_of
from hotswap.router.state import RouterState
from hotswap.sessions.modefile import write_mode
from hotswap.sessions.registry import register_serve, remove_serve


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="hotswap: %(levelname)s %(message)s",
        stream=sys.stderr,
    )


def prepare_state(config: Config, mode_file: Path, backend: str | None) -> RouterState:
    """The router's state; `backend`, when given, is written into the mode file first."""
    name = backend or config.default_backend
    resolved = config.resolve(name)
    if resolved is None:
        raise config.unknown_backend_error(name)
    if backend is not None:
        write_mode(mode_file, resolved.name)
    return RouterState(config=config, mode_file=mode_file, initial_backend=resolved.name)


def serve(
    config: Config,
    host: str,
    port: int,
    mode_file: Path,
    backend: str | None,
    allow_remote: bool = False,
) -> None:
    if not is_loopback_host(host):
        if not allow_remote:
            raise ConfigError(
                f"refusing to bind {host}: not a loopback address",
                "drop --host (127.0.0.1: only this machine), or add --allow-remote to listen "
                f"on {host}: every machine that can reach this port can then send requests "
                "with your API keys, with no password (only on a network you trust)",
            )
        logging.getLogger("hotswap").warning(
            "listening on non-loopback %s: anyone who can reach it can use your keys", host
        )
    state = prepare_state(config, mode_file, backend)
    sock = bind(host, port)
    tune_process()
    guard = Guard(check_host=not allow_remote)
    asyncio.run(_serve_forever(state, sock, host, guard))


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, or a ConfigError naming the address (a busy port, say)."""
    try:
        return listen(host, port)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        fix = busy_port_fix(port) if exc.errno == errno.EADDRINUSE else ""
        raise ConfigError(f"cannot listen on {host}:{port}: {reason}", fix) from None


class _Signals:
    """SIGINT/SIGTERM (Windows: Ctrl-C/Ctrl-Break): the first stops gracefully, a second
    one cuts what is left."""

    def __init__(self) -> None:
        self.first, self.second = asyncio.Event(), asyncio.Event()
        on_signals(asyncio.get_running_loop(), stop_signals(), self._got)

    def _got(self, _signum: int = 0) -> None:
        (self.second if self.first.is_set() else self.first).set()


def next_step(url: str) -> str:
    """What to do once `hotswap serve` (`make run`) listens: the line after `listening on`."""
    return (
        f"next, in another terminal: ANTHROPIC_BASE_URL={url} claude\n"
        "  then switch it from anywhere: ds, ant, backend NAME (or !ds inside Claude Code)\n"
        "  or, without serve: hotswap run (Claude Code behind a router of its own)"
    )


async def _serve_forever(state: RouterState, sock: socket.socket, host: str, guard: Guard) -> None:
    # Handlers first: whoever reads the `listening` line may send SIGTERM at once.
    signals = _Signals()
    ledger = open_ledger(state)
    try:
        router = await start_router(state, guard=guard, sock=sock)
    except BaseException:
        await close_ledger(ledger)
        raise
    url = url_of(host, router.port)
    print(f"listening on {url}", flush=True)
    print(next_step(url), flush=True)
    record = register_serve(state.config.state_dir, router.port, state.mode_file)
    try:
        await signals.first.wait()
    finally:
        remove_serve(record)
        await _stop(router, signals, state.config.router.shutdown_grace_s)
        await close_ledger(ledger)


async def _stop(router: RunningRouter, signals: _Signals, grace_s: float) -> None:
    """Stop accepting at once; give requests in flight `grace_s` (or until a second
    signal), then cut the rest. One line says what is happening, one that it is done."""
    router.stop_accepting()
    pending = set(router.conns.in_flight)
    if pending:
        _say(f"stopping ({_requests(len(pending))} in flight, up to {grace_s:g} s)")
        finished = asyncio.ensure_future(asyncio.wait(pending))
        second = asyncio.ensure_future(signals.second.wait())
        await asyncio.wait({finished, second}, timeout=grace_s, return_when="FIRST_COMPLETED")
        finished.cancel()
        second.cancel()
        pending = {t for t in pending if not t.done()}
    await router.stop()  # cuts what is left: each stream ends with one SSE error event
    _say(f"stopped ({_requests(len(pending))} cut)" if pending else "stopped")


def _requests(n: int) -> str:
    return f"{n} request" + ("" if n == 1 else "s")


def _say(line: str) -> None:
    print(f"hotswap: {line}", file=sys.stderr, flush=True)

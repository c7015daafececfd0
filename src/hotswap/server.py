"""Run one router in the foreground until a signal stops it (`hotswap serve`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from hotswap.app import Guard, is_loopback_host, start_router
from hotswap.config import Config
from hotswap.errors import ConfigError
from hotswap.modefile import write_mode
from hotswap.state import RouterState
from hotswap.tuning import tune_process


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
        raise ConfigError(config.unknown_backend(name))
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
                f"refusing to bind {host}: not a loopback address (add --allow-remote if you "
                "really want every machine that can reach it to spend your API keys)"
            )
        logging.getLogger("hotswap").warning(
            "listening on non-loopback %s: anyone who can reach it can use your keys", host
        )
    state = prepare_state(config, mode_file, backend)
    tune_process()
    asyncio.run(_serve_forever(state, host, port, Guard(check_host=not allow_remote)))


async def _serve_forever(state: RouterState, host: str, port: int, guard: Guard) -> None:
    # Handlers first: whoever reads the `listening` line may send SIGTERM at once.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    router = await start_router(state, host, port, guard)
    shown = f"[{host}]" if ":" in host else host
    print(f"listening on http://{shown}:{router.port}", flush=True)
    try:
        await stop.wait()
    finally:
        await router.stop()

"""The router of one `hotswap run` session, in this process, while Claude Code runs.

launcher.py has bound the socket, registered the session and started Claude Code; this
module (which imports aiohttp) serves on that socket until Claude Code exits.
"""

from __future__ import annotations

import asyncio
import io
import logging
import logging.handlers
import os
import socket
from pathlib import Path

from hotswap.config.loading import Config
from hotswap.config.tuning import tune_process
from hotswap.ledger.attach import close_ledger, open_ledger
from hotswap.osdeps import forwarded_signals, on_signals
from hotswap.router.app import Guard, start_router
from hotswap.router.state import RouterState
from hotswap.sessions.child import Child, forward, wait_exit_code
from hotswap.sessions.modefile import read_mode, split_mode, write_mode
from hotswap.sessions.registry import MODE, RECORD, ROUTER_LOG, Session, register

log = logging.getLogger("hotswap")

LOG_MAX_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 2
RECHECK_S = 2.0  # how often the router checks that its session folder still exists


def serve_session(config: Config, session: Session, sock: socket.socket, proc: Child) -> int:
    """Serve until Claude Code exits; return its exit code."""
    tune_process()
    return asyncio.run(_serve(config, session, sock, proc))


async def _serve(config: Config, session: Session, sock: socket.socket, proc: Child) -> int:
    folder = session.dir(config.sessions_dir)
    log_to_file(folder / ROUTER_LOG)
    state = RouterState(config, folder / MODE, session.backend, session_id=session.id)
    ledger = open_ledger(state)
    try:
        router = await start_router(state, guard=Guard(secret=session.secret), sock=sock)
    except BaseException:
        await close_ledger(ledger)
        raise
    loop = asyncio.get_running_loop()
    on_signals(loop, ("SIGINT",), lambda _sig: None)  # Ctrl-C is Claude Code's to handle
    on_signals(loop, forwarded_signals(), lambda sig: forward(proc, sig))
    keeper = asyncio.create_task(keep_registered(config, session))
    try:
        code = await asyncio.to_thread(proc.wait)
    finally:
        keeper.cancel()
        await router.stop()
        await close_ledger(ledger)
    return wait_exit_code(code)


async def keep_registered(config: Config, session: Session) -> None:
    """A session whose folder was removed (by hand, a cleaner) is registered again, with
    the backend its mode file last named, so it can still be found and switched."""
    folder = session.dir(config.sessions_dir)
    mode = session.backend
    while True:
        await asyncio.sleep(RECHECK_S)
        if (folder / RECORD).exists():
            mode = _named(config, folder / MODE) or mode
            continue
        register(config.sessions_dir, session)
        write_mode(folder / MODE, *split_mode(mode))
        log_to_file(folder / ROUTER_LOG)
        log.warning("the session folder %s was removed; recreated it (%s)", folder, mode)


def _named(config: Config, mode_file: Path) -> str | None:
    """The mode file's backend (and model, as `ollama qwen3-coder`), if it names a known one."""
    try:
        text = read_mode(mode_file)
    except (OSError, ValueError):
        return None
    name, model = split_mode(text) if text else ("", None)
    backend = config.resolve(name) if name else None
    if backend is None:
        return None
    return f"{backend.name} {model}" if model else backend.name


class _PrivateRotatingHandler(logging.handlers.RotatingFileHandler):
    """Size-capped, and every file it creates is private (0600) like the session's others."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


def log_to_file(path: Path) -> None:
    """The router must not write on Claude Code's screen: its log goes to a file, private
    to the user (it names backends, paths and errors), 5 MB and two older ones at most."""
    handler = _PrivateRotatingHandler(
        path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(logging.INFO)

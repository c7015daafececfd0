"""The `hotswap run` command line, parsed without click: Claude Code's start waits for it.

`hotswap run [-b NAME] [-m MODEL] [--port N] [--config PATH] [--] [claude args]` is read
here; anything else (help, an unknown option before `--`, a bad value) goes to click
(cli.py), which parses the same options and reports the errors. Stdlib only.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Any

from hotswap.config.loading import Config, load_config
from hotswap.errors import HotswapError
from hotswap.sessions.child import Child
from hotswap.sessions.gateway_client import run_gateway_session
from hotswap.sessions.launcher import find_claude, run_session
from hotswap.sessions.registry import Session

# The second line of an `Error:` whose raiser said no fix of its own (main._fail too).
ERROR_FIX = "  fix: `hotswap doctor` checks the whole setup and says what to change"


def error_text(exc: BaseException) -> str:
    """`Error: ...` and its `fix:` line: the error's own fix, else the generic one."""
    fix = getattr(exc, "fix", "")
    return f"Error: {exc}\n" + (f"  fix: {fix}" if fix else ERROR_FIX)


_RUN_OPTIONS = {
    "-b": "backend",
    "--backend": "backend",
    "-m": "model",
    "--model": "model",
    "--port": "port",
    "--config": "config",
    "--gateway": "gateway",
}


def parse_run_args(args: list[str]) -> dict[str, Any] | None:
    """`hotswap run [-b NAME] [-m MODEL] [--port N] [--config PATH] [--] [claude args]`,
    without click (~30 ms of the start-up budget); None for anything else (help, an unknown
    option, a bad value): click parses those and reports the errors."""
    found: dict[str, Any] = {"backend": None, "model": None, "port": 0, "config": None}
    found["gateway"] = None
    found["claude_args"] = []
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=")
        if arg == "--":
            found["claude_args"] = args[i + 1 :]
            break
        if name in _RUN_OPTIONS and (eq or arg == name) and not (eq and len(name) == 2):
            if not eq:
                if i + 1 >= len(args):
                    return None
                value = args[i + 1]
                i += 1
            found[_RUN_OPTIONS[name]] = value
        elif arg.startswith("-"):
            return None
        else:
            found["claude_args"] = args[i:]
            break
        i += 1
    port = str(found["port"])
    if not port.isdigit() or int(port) > 65535:
        return None
    found["port"] = int(port)
    return found


def run_main(args: list[str]) -> int | None:
    """The `hotswap run` fast path; None when click must parse the arguments."""
    parsed = parse_run_args(args)
    if parsed is None:
        return None
    try:
        if parsed["gateway"]:  # Claude Code against a team gateway: no router of ours
            claude = find_claude(os.environ)
            return run_gateway_session(claude, parsed["gateway"], parsed["claude_args"], os.environ)
        config = load_config(Path(parsed["config"]) if parsed["config"] else None)
        config = with_model(config, parsed["backend"], parsed["model"])
        return run_session(
            config,
            parsed["backend"],
            parsed["port"],
            parsed["claude_args"],
            os.environ,
            serve=serve_session,
        )
    except (HotswapError, OSError) as exc:
        print(error_text(exc), file=sys.stderr)
        return 2


def serve_session(config: Config, session: Session, sock: socket.socket, proc: Child) -> int:
    """The session's router, imported (aiohttp) only now: Claude Code is already starting."""
    from hotswap.sessions.session_router import serve_session

    return serve_session(config, session, sock, proc)


def with_model(config: Config, name: str | None, model: str | None) -> Config:
    """`--model X`: the config with backend `name` (else the default one) sending every
    request to X, whatever its model map says."""
    if model is None:
        return config
    backend = config.resolve(name or config.default_backend)
    if backend is None:
        raise config.unknown_backend_error(name or config.default_backend)
    return config._replace(backends={**config.backends, backend.name: backend.with_model(model)})

"""`hotswap run`: a router for this session alone, then Claude Code pointed at it.

The router runs in this process; Claude Code is its child. When Claude Code exits
(normally, Ctrl-C, SIGTERM, a crash) the router stops and the session record goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hotswap.app import Guard, start_router
from hotswap.backends import PLACEHOLDER_TOKEN
from hotswap.config import Config
from hotswap.errors import ConfigError
from hotswap.modefile import write_mode
from hotswap.sessions import (
    MODE,
    Session,
    new_secret,
    new_session_id,
    process_start_time,
    register,
    remove,
)
from hotswap.state import RouterState
from hotswap.tuning import tune_process

log = logging.getLogger("hotswap")

INSTALL_HINT = (
    "Claude Code's `claude` command was not found on PATH. Install it with\n"
    "    npm install -g @anthropic-ai/claude-code\n"
    "or point HOTSWAP_CLAUDE_BIN at the executable."
)
TIER_VARIABLES = (
    "ANTHROPIC_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "ANTHROPIC_SMALL_FAST_MODEL",
)
_CREDENTIAL_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN")


def find_claude(environ: Mapping[str, str]) -> str:
    explicit = environ.get("HOTSWAP_CLAUDE_BIN")
    if explicit:
        if shutil.which(explicit) is None:
            raise ConfigError(f"HOTSWAP_CLAUDE_BIN={explicit} is not an executable")
        return explicit
    found = shutil.which("claude", path=environ.get("PATH"))
    if found is None:
        raise ConfigError(INSTALL_HINT)
    return found


def _home(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("HOME") or Path.home())


def _claude_dir(environ: Mapping[str, str]) -> Path:
    """Claude Code's config folder: CLAUDE_CONFIG_DIR, else ~/.claude."""
    return Path(environ.get("CLAUDE_CONFIG_DIR") or _home(environ) / ".claude")


def _json_has(path: Path, key: str) -> bool:
    """Does the JSON object in `path` have `key`? False when unreadable or not JSON."""
    try:
        return key in json.loads(path.read_text())
    except (OSError, ValueError, TypeError):
        return False


def has_claude_login(environ: Mapping[str, str]) -> bool:
    """A credential Claude Code will use: a key or token variable, or a stored login."""
    if any(environ.get(name) for name in _CREDENTIAL_VARIABLES):
        return True
    if (_claude_dir(environ) / ".credentials.json").exists():
        return True
    account_dir = Path(environ.get("CLAUDE_CONFIG_DIR") or _home(environ))
    return _json_has(account_dir / ".claude.json", "oauthAccount")


def child_environment(
    environ: Mapping[str, str], session: Session, config: Config
) -> dict[str, str]:
    """Claude Code's environment: pointed at this session's router, with claude-* model names."""
    env = dict(environ)
    env["ANTHROPIC_BASE_URL"] = session.base_url
    env["HOTSWAP_SESSION"] = session.id
    env["HOTSWAP_HOME"] = str(config.state_dir)
    if config.source is not None:
        # `ds`, `backend` and the status line inside the session must see the same backends.
        env["HOTSWAP_CONFIG"] = str(config.source)
    _exempt_loopback_from_proxies(env)
    for name in TIER_VARIABLES:
        value = env.get(name, "")
        if value and not value.lower().startswith("claude"):
            # Claude Code must keep seeing claude-* names (auto mode needs them);
            # the router maps them per backend.
            log.info("ignoring %s=%s: hotswap maps models in the router", name, value)
            del env[name]
    if not has_claude_login(environ):
        # Claude Code will not start without a credential; the router knows this one
        # is not real and never sends it to Anthropic.
        env["ANTHROPIC_AUTH_TOKEN"] = PLACEHOLDER_TOKEN
    return env


_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def _exempt_loopback_from_proxies(env: dict[str, str]) -> None:
    """The router URL carries the session secret: it must never go through an HTTP proxy."""
    for var in ("NO_PROXY", "no_proxy"):
        present = [p.strip() for p in env.get(var, "").split(",") if p.strip()]
        env[var] = ",".join(present + [n for n in _LOOPBACK_NAMES if n not in present])


def _load_settings(value: str) -> dict[str, Any]:
    text = value
    if not value.lstrip().startswith("{"):
        try:
            text = Path(value).read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read --settings file {value}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"--settings is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError("--settings must be a JSON object")
    return data


def merge_settings(claude_args: list[str], ours: dict[str, Any]) -> list[str]:
    """One `--settings` flag: the user's (if any) on top of ours. Claude Code honours only
    the last `--settings`, so two would silently drop one."""
    rest: list[str] = []
    merged = dict(ours)
    args = iter(claude_args)
    for arg in args:
        if arg == "--":
            rest.append(arg)
            rest.extend(args)
            break
        if arg == "--settings":
            value = next(args, None)
            if value is None:
                raise ConfigError("--settings needs a value")
            merged.update(_load_settings(value))
        elif arg.startswith("--settings="):
            merged.update(_load_settings(arg.split("=", 1)[1]))
        else:
            rest.append(arg)
    return ["--settings", json.dumps(merged), *rest]


def statusline_command() -> str:
    """How Claude Code should call `hotswap statusline`: this very installation."""
    import shlex

    script = Path(sys.argv[0])
    if script.name in ("hotswap", "hotswap.exe") and script.exists():
        parts = [str(script.resolve()), "statusline"]
    else:
        parts = [sys.executable, "-m", "hotswap", "statusline"]
    if sys.platform == "win32":
        return " ".join(f'"{p}"' for p in parts)
    return " ".join(shlex.quote(p) for p in parts)


def user_has_statusline(environ: Mapping[str, str], cwd: Path) -> bool:
    """Does one of the user's settings files already define a status line? Then keep theirs."""
    settings = (
        _claude_dir(environ) / "settings.json",
        cwd / ".claude" / "settings.json",
        cwd / ".claude" / "settings.local.json",
    )
    return any(_json_has(path, "statusLine") for path in settings)


def our_settings(config: Config, environ: Mapping[str, str], cwd: Path) -> dict[str, Any]:
    settings: dict[str, Any] = {"respondToBashCommands": config.respond_to_bash_commands}
    if config.statusline and not user_has_statusline(environ, cwd):
        settings["statusLine"] = {
            "type": "command",
            "command": statusline_command(),
            "padding": 0,
            "refreshInterval": 2,
        }
    return settings


def _die_with_parent() -> None:
    """In the child: get SIGTERM if hotswap itself is killed (Linux), not left orphaned."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def run_session(
    config: Config,
    backend: str | None,
    port: int,
    claude_args: list[str],
    environ: Mapping[str, str],
) -> int:
    """Run Claude Code behind its own router; return Claude Code's exit code."""
    claude = find_claude(environ)
    name = backend or config.default_backend
    resolved = config.resolve(name)
    if resolved is None:
        raise ConfigError(config.unknown_backend(name))
    ours = our_settings(config, environ, Path.cwd())
    argv = [claude, *merge_settings(claude_args, ours)]
    tune_process()
    return asyncio.run(_session(config, resolved.name, port, argv, environ))


def _log_to_file(path: Path) -> None:
    """The router must not write on Claude Code's screen: its log goes to a file, private
    to the user like every state file (it names backends, paths and errors)."""
    path.touch(mode=0o600)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)


async def _session(
    config: Config, backend: str, port: int, argv: list[str], environ: Mapping[str, str]
) -> int:
    sessions_dir = config.sessions_dir
    session_id = new_session_id(sessions_dir)  # creates the session's folder
    try:
        return await _serve_session(config, backend, port, argv, environ, session_id)
    finally:
        remove(sessions_dir, session_id)


async def _serve_session(
    config: Config,
    backend: str,
    port: int,
    argv: list[str],
    environ: Mapping[str, str],
    session_id: str,
) -> int:
    folder = config.sessions_dir / session_id
    mode_file = folder / MODE
    write_mode(mode_file, backend)
    _log_to_file(folder / "router.log")
    state = RouterState(config, mode_file, backend, session_id=session_id)
    secret = new_secret()
    try:
        router = await start_router(state, "127.0.0.1", port, Guard(secret=secret))
    except OSError as exc:
        raise ConfigError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    session = Session(
        id=session_id,
        port=router.port,
        pid=os.getpid(),
        cwd=os.getcwd(),
        started=time.time(),
        secret=secret,
        backend=backend,
        pid_start=process_start_time(os.getpid()),
    )
    try:
        register(config.sessions_dir, session)
        return await _run_claude(argv, child_environment(environ, session, config))
    finally:
        await router.stop()


async def _run_claude(argv: list[str], env: dict[str, str]) -> int:
    extra: dict[str, Any] = {}
    if sys.platform.startswith("linux"):
        extra["preexec_fn"] = _die_with_parent
    proc = await asyncio.create_subprocess_exec(*argv, env=env, **extra)
    loop = asyncio.get_running_loop()
    # Ctrl-C reaches Claude Code from the terminal itself; forwarding it would count twice.
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, lambda: None)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, AttributeError):
            loop.add_signal_handler(sig, _forward, proc, sig)
    code = await proc.wait()
    return 128 - code if code < 0 else code


def _forward(proc: asyncio.subprocess.Process, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)

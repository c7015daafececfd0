"""`hotswap run`: a router for this session alone, then Claude Code pointed at it.

The router runs in this process; Claude Code is its child. When Claude Code exits
(normally, Ctrl-C, SIGTERM, a crash) the router stops and the session record goes.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hotswap.config.backends import PLACEHOLDER_TOKEN
from hotswap.config.loading import DEFAULT_PORT, Config
from hotswap.errors import ConfigError
from hotswap.osdeps import forwarded_signals, is_windows, process_start_time
from hotswap.router.listen import busy_port_fix, listen
from hotswap.sessions.child import Child, forward, spawn
from hotswap.sessions.modefile import write_mode
from hotswap.sessions.registry import (
    MODE,
    ROUTER_LOG,
    Session,
    list_sessions,
    new_secret,
    new_session_id,
    register,
    remove,
    serve_router,
)

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
        found = shutil.which(explicit)
        if found is None:
            raise ConfigError(f"HOTSWAP_CLAUDE_BIN={explicit} is not an executable")
        return found
    found = shutil.which("claude", path=environ.get("PATH"))
    if found is None:
        raise ConfigError(INSTALL_HINT)
    return found


def _home(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("HOME") or Path.home())


def claude_dir(environ: Mapping[str, str]) -> Path:
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
    if (claude_dir(environ) / ".credentials.json").exists():
        return True
    account_dir = Path(environ.get("CLAUDE_CONFIG_DIR") or _home(environ))
    return _json_has(account_dir / ".claude.json", "oauthAccount")


DISCOVERY = "CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY"


def child_environment(
    environ: Mapping[str, str], session: Session, config: Config
) -> dict[str, str]:
    """Claude Code's environment: pointed at this session's router, with claude-* model names."""
    env = dict(environ)
    env["ANTHROPIC_BASE_URL"] = session.base_url
    env["HOTSWAP_SESSION"] = session.id
    env["HOTSWAP_HOME"] = str(config.state_dir)
    # Claude Code's /model picker lists every backend's models from the router's
    # GET /v1/models (docs/claude-code-gateway.md); a user's own 0 keeps it off.
    if not env.get(DISCOVERY):
        env[DISCOVERY] = "1"
    if config.source is not None:
        # `ds`, `backend` and the status line inside the session must see the same backends.
        env["HOTSWAP_CONFIG"] = str(config.source)
    _exempt_loopback_from_proxies(env)
    dropped = []
    for name in TIER_VARIABLES:
        value = env.get(name, "")
        if value and not value.lower().startswith("claude"):
            # Claude Code must keep seeing claude-* names (auto mode needs them);
            # the router maps them per backend.
            dropped.append(f"{name}={value}")
            del env[name]
    if dropped:
        print(
            f"hotswap: not passing {', '.join(dropped)} to Claude Code: it keeps claude-* "
            "names and the router maps them per backend ([backends.NAME.models])",
            file=sys.stderr,
        )
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
    if is_windows():  # double quotes keep a path's backslashes (in cmd and Git Bash alike)
        return " ".join(f'"{p}"' for p in parts)
    return " ".join(shlex.quote(p) for p in parts)


def user_has_statusline(environ: Mapping[str, str], cwd: Path) -> bool:
    """Does one of the user's settings files already define a status line? Then keep theirs."""
    settings = (
        claude_dir(environ) / "settings.json",
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


ServeSession = Callable[[Config, Session, socket.socket, Child], int]


def run_session(
    config: Config,
    backend: str | None,
    port: int,
    claude_args: list[str],
    environ: Mapping[str, str],
    serve: ServeSession,
) -> int:
    """Run Claude Code behind its own router; return Claude Code's exit code.

    Claude Code starts first: the port is bound (a plain socket) and the session
    registered, then Claude Code is launched while the router loads (aiohttp takes most
    of the start-up time); the kernel queues its first connections until then. `serve`
    is session_router.serve_session, handed in by the command line (cli/run.py), which
    imports it only once Claude Code is launched."""
    claude = find_claude(environ)
    name = backend or config.default_backend
    resolved = config.resolve(name)
    if resolved is None:
        raise config.unknown_backend_error(name)
    config = with_users_base_url(config, environ)
    ours = our_settings(config, environ, Path.cwd())
    argv = [claude, *merge_settings(claude_args, ours)]
    try:
        sock = listen("127.0.0.1", port)
    except OSError as exc:
        fix = busy_port_fix(port) if exc.errno == errno.EADDRINUSE else ""
        raise ConfigError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}", fix) from None
    sessions_dir = config.sessions_dir
    session_id = new_session_id(sessions_dir)  # creates the session's folder
    started = time.time()
    try:
        session = _register(config, session_id, resolved.name, int(sock.getsockname()[1]))
        proc = _launch(argv, child_environment(environ, session, config))
        code = serve(config, session, sock, proc)
    finally:
        remove(sessions_dir, session_id)
    if not _prints(claude_args):
        _resume_hint(environ, Path.cwd(), started)
    return code


def _register(config: Config, session_id: str, backend: str, port: int) -> Session:
    write_mode(config.sessions_dir / session_id / MODE, backend)
    (config.sessions_dir / session_id / ROUTER_LOG).touch(mode=0o600)
    session = Session(
        id=session_id,
        port=port,
        pid=os.getpid(),
        cwd=os.getcwd(),
        started=time.time(),
        secret=new_secret(),
        backend=backend,
        pid_start=process_start_time(os.getpid()),
    )
    register(config.sessions_dir, session)
    return session


def _launch(argv: list[str], env: dict[str, str]) -> Child:
    child = spawn(argv, env)
    # Ctrl-C reaches Claude Code from the terminal itself; hotswap waits for it to exit.
    # SIGTERM and SIGHUP are passed on, already while the router loads (osdeps: none on
    # Windows, whose console signals reach Claude Code directly).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in forwarded_signals():
        signal.signal(getattr(signal, name), lambda signum, _frame: forward(child, signum))
    return child


def _prints(claude_args: list[str]) -> bool:
    """`claude -p`: no interactive session, so no resume hint."""
    return any(a in ("-p", "--print") for a in claude_args)


def _resume_hint(environ: Mapping[str, str], cwd: Path, since: float) -> None:
    """Claude Code ends with `claude --resume ID`, which would bypass hotswap: say how to
    resume through it. The ID is the newest transcript of this folder written since start."""
    folder = claude_dir(environ) / "projects" / _project_key(cwd)
    try:
        newest = max(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime, default=None)
        if newest is None or newest.stat().st_mtime < since:
            return
    except OSError:
        return
    print(f"Resume this session through hotswap with: hotswap run -- --resume {newest.stem}")


def _project_key(cwd: Path) -> str:
    """Claude Code's folder name for a project: its path, every other character a `-`."""
    return "".join(c if c.isascii() and c.isalnum() else "-" for c in str(cwd))


def with_users_base_url(config: Config, environ: Mapping[str, str]) -> Config:
    """A user's own ANTHROPIC_BASE_URL (a company gateway) is where the `anthropic` backend
    goes in this session, never silently replaced; one pointing at a hotswap router is
    refused (a session inside a session)."""
    url = environ.get("ANTHROPIC_BASE_URL", "").strip()
    if not url:
        return config
    shown = _origin(url)
    if _is_hotswap_router(url, config, environ):
        raise ConfigError(
            f"ANTHROPIC_BASE_URL ({shown}) points at a hotswap router already; unset it to "
            "start a new session (inside a session, switch with `ds` or `backend NAME`)"
        )
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"ANTHROPIC_BASE_URL ({shown}) must start with http:// or https://")
    anthropic = config.backends.get("anthropic")
    if anthropic is None or url.rstrip("/") == anthropic.base_url.rstrip("/"):
        return config
    print(
        f"hotswap: the anthropic backend goes to your ANTHROPIC_BASE_URL ({shown}) in this session",
        file=sys.stderr,
    )
    backends = {**config.backends, "anthropic": anthropic._replace(base_url=url.rstrip("/"))}
    return config._replace(backends=backends)


def _origin(url: str) -> str:
    """scheme://host[:port] only: a path may hold a session secret, a user part a key."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}://{host}" if rest else url[:40]


def _is_hotswap_router(url: str, config: Config, environ: Mapping[str, str]) -> bool:
    if environ.get("HOTSWAP_SESSION") or "/s/" in url:
        return True
    host = _origin(url).partition("://")[2]
    name, _, port = host.rpartition(":")
    if name.strip("[]") not in _LOOPBACK_NAMES or not port.isdigit():
        return False
    if int(port) == DEFAULT_PORT:
        return True  # `hotswap serve`'s port, whether or not it runs right now
    ports = {s.port for s, alive in list_sessions(config.sessions_dir, clean=False) if alive}
    serve = serve_router(config.state_dir)
    if serve is not None:
        ports.add(int(str(serve.get("port", 0))))
    return int(port) in ports

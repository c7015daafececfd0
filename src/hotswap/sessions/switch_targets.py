"""Which mode file a switch command reads or writes: a session's, or the global one.

A switch names its target with flags (`--session`, `--port`, `--all`, `-Session N`), else
inside a `hotswap run` session by the environment Claude Code passes on (HOTSWAP_SESSION,
ANTHROPIC_BASE_URL's port), else in a terminal of its own by what runs (one live session,
or `hotswap serve`). Stdlib only, like every switch command's module.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from hotswap.config.loading import Config
from hotswap.sessions.modefile import read_mode, split_mode
from hotswap.sessions.registry import (
    Session,
    find,
    list_sessions,
    router_status,
    serve_router,
    status_at,
)
from hotswap.sessions.spellings import session_or_port

# A switch asks the router for the keys it lacks; one still loading (just started) may
# take longer than a status line can wait.
SWITCH_STATUS_TIMEOUT_S = 1.0


class SwitchError(Exception):
    """A switch command cannot do what it was asked; printed as `Error: ...`."""


class Target(NamedTuple):
    """One mode file to read or write, and how to name it to the user."""

    label: str
    mode_file: Path
    default: str
    alive: bool = True
    session: Session | None = None  # None: the global `hotswap serve` mode file
    note: str = ""  # why this target was chosen, when the user did not name it

    def current(self, config: Config, between: str = " ") -> str:
        """The backend the mode file names, as shown (`between` it and a forced model)."""
        return self.read(config, between)[0]

    def read(self, config: Config, between: str = " ") -> tuple[str, bool]:
        """The backend the mode file names, as shown to the user (`deepseek`, `ollama x`),
        and whether it is valid."""
        try:
            name = read_mode(self.mode_file)
        except (OSError, ValueError) as exc:
            return f"? ({exc})", False
        if name is None:
            return self.default, True
        name, model = split_mode(name)
        backend = config.resolve(name)
        if backend is None:
            return f"{name} (unknown)", False
        return (f"{backend.name}{between}{model}" if model else backend.name), True

    def router(self, config: Config) -> dict[str, object] | None:
        """The status of the router that follows this mode file; None when none runs."""
        if self.session is not None:
            return router_status(self.session, SWITCH_STATUS_TIMEOUT_S) if self.alive else None
        serve = serve_router(config.state_dir)
        if serve is None or serve.get("mode_file") != str(self.mode_file):
            return None
        return status_at(int(str(serve.get("port", 0))), timeout_s=SWITCH_STATUS_TIMEOUT_S)


def session_target(config: Config, session: Session, alive: bool) -> Target:
    label = f"session {session.id} (port {session.port})"
    if not alive:
        label += " [router not running]"
    return Target(label, session.mode_file(config.sessions_dir), session.backend, alive, session)


def _global_target(config: Config) -> Target:
    return Target(
        f"global ({config.global_mode_file})", config.global_mode_file, config.default_backend
    )


_LOOPBACK_URL = ("http://127.0.0.1:", "http://localhost:", "http://[::1]:")


def _port_from_base_url(url: str) -> int | None:
    """The port of a loopback ANTHROPIC_BASE_URL (urllib.parse costs a few ms to import)."""
    for prefix in _LOOPBACK_URL:
        if url.startswith(prefix):
            digits = url[len(prefix) :].split("/", 1)[0]
            return int(digits) if digits.isdigit() else None
    return None


def resolve_targets(
    config: Config,
    environ: Mapping[str, str],
    *,
    session_id: str | None = None,
    port: int | None = None,
    all_sessions: bool = False,
    either: str | None = None,
) -> list[Target]:
    """Explicit flags first, then HOTSWAP_SESSION, then ANTHROPIC_BASE_URL's port, then global.
    `either` is `-Session N`'s N: a port or a session id (spellings.session_or_port)."""
    sessions_dir = config.sessions_dir
    if either is not None:
        session_id, port = session_or_port(sessions_dir, either)
    if all_sessions:
        live = [s for s, alive in list_sessions(sessions_dir) if alive]
        if not live:
            raise SwitchError("no live sessions (start one with `hotswap run`)")
        return [session_target(config, s, True) for s in live]
    explicit = session_id is not None or port is not None
    if not explicit:
        session_id = environ.get("HOTSWAP_SESSION") or None
        if session_id is None:
            port = _port_from_base_url(environ.get("ANTHROPIC_BASE_URL", ""))
            if port is None:
                return [_outside_any_session(config)]
    found = find(sessions_dir, session_id=session_id, port=port)
    if found is None:
        what = f"id {session_id}" if session_id is not None else f"port {port}"
        what = what if either is None else f"port or id {either}"
        if not explicit and session_id is None:
            return [_global_target(config)]  # ANTHROPIC_BASE_URL points at `hotswap serve`
        raise SwitchError(f"no session with {what}; see `sessions`")
    return [session_target(config, *found)]


def _outside_any_session(config: Config) -> Target:
    """A switch typed in a terminal of its own. With no `hotswap serve` running and exactly
    one live session, the user means that session; with several, the global mode file is
    switched as before, and a note names them and how to target one."""
    if serve_router(config.state_dir) is not None:
        return _global_target(config)
    live = [s for s, alive in list_sessions(config.sessions_dir, clean=False) if alive]
    if len(live) == 1:
        note = (
            f"note: switched the one live session, {live[0].id} (no `hotswap serve` is "
            "running); `--session ID` names one"
        )
        return session_target(config, live[0], True)._replace(note=note)
    if not live:
        return _global_target(config)
    ids = ", ".join(s.id for s in live)
    note = (
        f"note: {len(live)} live sessions ({ids}) were left as they are; switch one with "
        "`--session ID`, or every one with `--all`"
    )
    return _global_target(config)._replace(note=note)

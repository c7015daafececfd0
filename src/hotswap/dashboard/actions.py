"""What the page's buttons do, each exactly what a command does.

- switch: `hotswap use NAME --session ID` (or `--all`): switch.resolve_targets and
  switch.switch, so the mode file is written atomically by modefile.write_mode and nothing
  else changes. `--all` here takes the live sessions without cleaning the registry (the
  page shows stale ones until the user removes them).
- remove: what `sessions` does to a stale record, for one record the user chose; a live
  session is never removed.
- check: `hotswap doctor --live BACKEND` (router/probe.py: plan, then probe_all).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotswap.config.loading import Config
from hotswap.router.probe import plan, probe_all
from hotswap.sessions.registry import find, list_sessions, remove
from hotswap.sessions.switch import resolve_targets
from hotswap.sessions.switch_modes import switch
from hotswap.sessions.switch_targets import SwitchError

ALL = "*"
CHECK_TIMEOUT_S = 15.0


class ActionError(Exception):
    """An action that cannot be done; `status` is the HTTP status the page gets."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def switch_sessions(config: Config, backend: str, session: str) -> list[str]:
    """Point one session (by its exact id) or every live one (ALL) at `backend`: one line
    per session, as `hotswap use` prints them. Blocking (the switch asks routers)."""
    try:
        if session == ALL:
            live = [s for s, alive in list_sessions(config.sessions_dir, clean=False) if alive]
            if not live:
                raise ActionError("no live sessions (start one with `hotswap run`)", 404)
            targets = [t for s in live for t in resolve_targets(config, session_id=s.id)]
        else:
            targets = resolve_targets(config, session_id=session)
            if targets[0].session is None or targets[0].session.id != session:
                raise ActionError(f"no session with id {session}", 404)
        return switch(config, backend, targets)
    except SwitchError as exc:
        status = 404 if str(exc).startswith("no session") else 400
        raise ActionError(str(exc), status) from None


def remove_stale(config: Config, session: str) -> None:
    """Remove the record of a session whose process is gone."""
    found = find(config.sessions_dir, session_id=session)
    if found is None or found[0].id != session:
        raise ActionError(f"no session with id {session}", 404)
    if found[1]:
        raise ActionError(f"session {session} is live: it goes when its Claude Code exits", 409)
    remove(config.sessions_dir, session)


async def check_backend(
    config: Config, name: str, environ: Mapping[str, str], timeout_s: float = CHECK_TIMEOUT_S
) -> dict[str, Any]:
    """One `doctor --live` probe of backend `name`, as its JSON row (keys scrubbed)."""
    backend = config.resolve(name)
    if backend is None:
        raise ActionError(config.unknown_backend(name), 404)
    rows = plan(config, environ, [backend], ())
    [probe] = await probe_all(config, rows, environ, timeout_s)
    return {**probe._asdict(), "failed": probe.failed}

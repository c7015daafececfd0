"""A switch itself: check the backend, write each target's mode file, and say what the
switch will not do by itself (a router that lacks the backend's key, no router following
the mode file, a conversation past the backend's context window). Stdlib only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotswap.config.loading import Config
from hotswap.config.windows import switch_warning
from hotswap.sessions.modefile import write_mode
from hotswap.sessions.switch_targets import SwitchError, Target

if TYPE_CHECKING:
    from hotswap.config.backends import Backend


def checked_backend(config: Config, name: str, model: str | None = None) -> Backend:
    """The backend a switch to `name` (and `model`) points at: every switch checks here,
    a command or a router's POST /_proxy/mode. SwitchError names what is wrong."""
    backend = config.resolve(name)
    if backend is None:
        raise SwitchError(config.unknown_backend(name))
    if model is not None and (not model.strip() or len(model.split()) != 1 or "#" in model):
        raise SwitchError(f"invalid model name {model!r}: one word, no '#'")
    return backend


def switch(config: Config, name: str, targets: list[Target], model: str | None = None) -> list[str]:
    """Point every target at backend `name` (and `model`, for every request); one line per
    target, and the warnings it deserves (printed to stderr: `warning:` or `note:` lines).
    Blocking: it asks each target's router for its status."""
    backend = checked_backend(config, name, model)
    after = f"{backend.name} {model}" if model else backend.name
    statuses = [target.router(config) for target in targets]
    for target, status in zip(targets, statuses, strict=True):
        _check_router_knows(target, status, backend.name)
    lines = []
    for target, status in zip(targets, statuses, strict=True):
        before = target.current(config)
        write_mode(target.mode_file, backend.name, model)
        lines.append(f"{target.label}: {before} -> {after}")
        lines += [target.note] if target.note else []
        lines += _after_switch(target, status, backend.name)
        target_backend = backend.with_model(model) if model else backend
        lines += switch_warning(target_backend, status)  # a conversation past its window
    return lines


def _check_router_knows(target: Target, status: dict[str, object] | None, backend: str) -> None:
    """A router reads its config once, at start: a backend added since is unknown to it,
    and a switch to it would be reported but never happen (nothing is written)."""
    known = status.get("backends") if status else None
    if not isinstance(known, list) or backend in known:
        return
    if target.session is not None:
        raise SwitchError(
            f"session {target.session.id}'s router started before backend '{backend}' was "
            "in the config; restart that session (exit Claude Code, then `hotswap run`) to "
            "switch to it"
        )
    raise SwitchError(
        f"the `hotswap serve` router started before backend '{backend}' was in the config; "
        "restart it to switch to it"
    )


def _after_switch(target: Target, status: dict[str, object] | None, backend: str) -> list[str]:
    """What the switch will not do by itself: a router that lacks the backend's key, or no
    router following the mode file at all."""
    if status is None:
        if target.session is None:
            return [
                f"note: wrote {target.mode_file}, but no `hotswap serve` follows it: start "
                "one, or use `hotswap run` for a session of its own"
            ]
        return []
    missing = status.get("missing_keys")
    variable = missing.get(backend) if isinstance(missing, dict) else None
    if not variable:
        return []
    where = f"session {target.session.id}'s router" if target.session else "the router"
    return [
        f"warning: {variable} is not set where {where} runs, so requests to {backend} will "
        f"fail; export {variable} before starting it"
    ]

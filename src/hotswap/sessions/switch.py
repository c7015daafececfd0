"""The switch commands: `ds`, `ant`, `backend`, `sessions`, `hotswap use`.

Each only reads or writes mode files, so it works when the backend or the router is down,
and inside Claude Code as `!ds` before any model call. Stdlib only, to start in tens of
milliseconds.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from hotswap import columns
from hotswap.config.loading import Config
from hotswap.sessions import completion, gateway_client
from hotswap.sessions.local_check import local_warnings
from hotswap.sessions.spellings import session_or_port, translate
from hotswap.sessions.switch_args import (
    _add_either_flag,
    _add_model_flag,
    _add_target_flags,
    _Args,
    _parse,
    _parser,
    _print_lines,
)
from hotswap.sessions.switch_args import _run as _run
from hotswap.sessions.switch_modes import checked_backend, switch
from hotswap.sessions.switch_table import session_rows, table
from hotswap.sessions.switch_targets import SwitchError, Target
from hotswap.sessions.switch_targets import resolve_targets as resolve_with

if TYPE_CHECKING:
    import argparse

EXIT_PROBLEM = 1  # `backend`: the mode file cannot be read or names no backend


def resolve_targets(
    config: Config,
    *,
    session_id: str | None = None,
    port: int | None = None,
    all_sessions: bool = False,
    either: str | None = None,
) -> list[Target]:
    """switch_targets.resolve_targets with this process's environment (HOTSWAP_SESSION,
    ANTHROPIC_BASE_URL): what every switch command, the status line, and `hotswap
    backends` call."""
    return resolve_with(
        config, os.environ, session_id=session_id, port=port, all_sessions=all_sessions,
        either=either,
    )  # fmt: skip


def gateway_session() -> str | None:
    """The team gateway's URL inside a `hotswap run --gateway` session, else None."""
    return os.environ.get(gateway_client.GATEWAY_ENV) or None


def _targets(config: Config, args: _Args | argparse.Namespace) -> list[Target]:
    """The mode files a switch command writes. Inside a team gateway session there are none
    (the status line and `hotswap backends` read on, as outside one)."""
    named = args.session_id or args.port or args.either or args.all_sessions
    if not named and gateway_session():
        raise SwitchError(
            "inside a team gateway session there is no local mode file: switch with "
            "`ds`, `ant` or `backend NAME` (sent to the gateway); routes and --model are "
            "the gateway's own"
        )
    return resolve_targets(
        config,
        session_id=args.session_id,
        port=args.port,
        all_sessions=args.all_sessions,
        either=args.either,
    )


def cmd_use(config: Config, argv: list[str], prog: str, fixed: str | None = None) -> int:

    def build() -> argparse.ArgumentParser:
        examples = ("", "--all", "--session 3f2a") if fixed else ("deepseek", "kimi --all")
        parser = _parser(prog, "Switch the backend of a session.", *examples)
        if fixed is None:
            parser.add_argument("name", help="backend name or alias")
        _add_target_flags(parser)
        _add_model_flag(parser)
        parser.add_argument("--gateway", help="a team gateway's URL (key: HOTSWAP_GATEWAY_KEY)")
        return parser

    args = _parse(argv, fixed is None, build)
    name = fixed if fixed is not None else args.name
    assert name is not None, "a positional argument, required by the parser"
    url = _gateway(args)
    if url is not None:
        return _use_gateway(name, url, args.all_sessions)
    _switch(config, name, _targets(config, args), args.model)
    return 0


def _gateway(args: _Args | argparse.Namespace) -> str | None:
    """The team gateway a switch goes to: --gateway's, else the gateway session's
    (HOTSWAP_GATEWAY); None: a local switch. A gateway switch names a backend only."""
    url = getattr(args, "gateway", None) or os.environ.get(gateway_client.GATEWAY_ENV)
    if url and (args.model or args.session_id or args.port or args.either):
        raise SwitchError("a team gateway switch takes a backend name only (and --all)")
    return url or None


def _switch(config: Config, name: str, targets: list[Target], model: str | None) -> None:
    """Switch, print what happened, then whether a local server can serve it (after: the
    switch never waits on that check)."""
    _print_lines(switch(config, name, targets, model))
    _print_lines(local_warnings(checked_backend(config, name, model), model))


def _gateway_key() -> str:
    key = os.environ.get(gateway_client.KEY_ENV) or os.environ.get("ANTHROPIC_AUTH_TOKEN")
    if not key:
        raise SwitchError(f"set {gateway_client.KEY_ENV} to your gateway key")
    return key


def _use_gateway(name: str, url: str, all_sessions: bool) -> int:
    """A switch on a team gateway: inside a gateway session (`hotswap run --gateway`),
    that session's mode; else (or with --all) every session of the key's user."""
    print(gateway_client.switch_line(_ask_gateway(url, all_sessions, name)))
    return 0


def _show_gateway(url: str, all_sessions: bool) -> int:
    """Bare `backend` inside a gateway session: the session's mode (with --all, the user's),
    as the gateway has it."""
    print(gateway_client.mode_line(_ask_gateway(url, all_sessions, None)))
    return 0


def _ask_gateway(url: str, all_sessions: bool, name: str | None) -> dict[str, object]:
    """POST the switch to `name` (None: GET the mode), for this gateway session (with --all,
    or outside one, for the user); the gateway's refusal as a SwitchError."""
    key = _gateway_key()
    session = None if all_sessions else os.environ.get(gateway_client.SESSION_ENV) or None
    try:
        if name is None:
            return gateway_client.get_mode(url, key, session)
        return gateway_client.post_mode(url, key, name, session)
    except gateway_client.GatewaySwitchError as exc:
        raise SwitchError(str(exc)) from None


def cmd_backend(config: Config, argv: list[str], prog: str) -> int:
    """`backend` prints the current backend; `backend NAME` switches to it."""

    def build() -> argparse.ArgumentParser:
        parser = _parser(prog, "Show or switch the backend.", "", "glm", "ds --port 41231")
        parser.add_argument("name", nargs="?", help="switch to this backend")
        _add_target_flags(parser)
        _add_model_flag(parser)
        return parser

    args = _parse(argv, bool(argv), build)
    if args.model and not args.name:
        raise SwitchError("--model needs a backend name: `backend NAME --model MODEL`")
    local = not args.name and (args.session_id or args.port or args.either)  # a session named
    url = None if local else _gateway(args)
    if url is not None:
        if args.name:
            return _use_gateway(args.name, url, args.all_sessions)
        return _show_gateway(url, args.all_sessions)
    targets = _targets(config, args)
    if args.name:
        _switch(config, args.name, targets, args.model)
        return 0
    code = 0
    for target in targets:
        shown, valid = target.read(config)
        print(f"{shown}  ({target.label})")
        code = code if valid else EXIT_PROBLEM
    return code


def cmd_sessions(config: Config, argv: list[str], prog: str) -> int:
    parser = _parser(prog, "List hotswap sessions.", "", "--json")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--wide", action="store_true", help="every cell whole, however wide")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--all", "-a", action="store_true", help="every session (the default)")
    _add_either_flag(group)
    args = parser.parse_args(translate(argv))
    rows = session_rows(config)
    if args.either is not None:
        session_id, port = session_or_port(config.sessions_dir, args.either)
        rows = [r for r in rows if r["port"] == port or str(r["id"]).startswith(session_id or "-")]
        if not rows:
            raise SwitchError(f"no session with port or id {args.either}; see `sessions`")
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no sessions (start one with `hotswap run`)")
        return 0
    width = None if args.wide else columns.terminal_width(os.environ, sys.stdout.isatty())
    print(table(rows, width))
    return 0


COMMANDS: dict[str, Callable[[Config, list[str], str], int]] = {
    "use": cmd_use,
    "backend": cmd_backend,
    "sessions": cmd_sessions,
}


def dispatch(command: str, argv: list[str]) -> int:
    """`hotswap use|backend|sessions ...`"""
    return _run(COMMANDS[command], argv, f"hotswap {command}")


def script(command: Callable[[Config, list[str], str], int], prog: str) -> None:
    """A console script's body: its shell completion when the shell asks for it
    (completion.py), else the command with the script's arguments."""
    if completion.requested(prog, os.environ):
        completion.complete(prog)
    sys.exit(_run(command, sys.argv[1:], prog))


def ds_main() -> None:
    script(lambda c, a, p: cmd_use(c, a, p, fixed="deepseek"), "ds")


def ant_main() -> None:
    script(lambda c, a, p: cmd_use(c, a, p, fixed="anthropic"), "ant")


def backend_main() -> None:
    script(cmd_backend, "backend")


def sessions_main() -> None:
    script(cmd_sessions, "sessions")

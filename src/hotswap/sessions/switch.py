"""The switch commands: `ds`, `ant`, `backend`, `sessions`, `hotswap use`.

Each only reads or writes mode files, so it works when the backend or the router is down,
and inside Claude Code as `!ds` before any model call. Stdlib only, to start in tens of
milliseconds.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from hotswap import columns
from hotswap.config.loading import Config, load_config
from hotswap.config.windows import switch_warning
from hotswap.errors import HotswapError
from hotswap.figures import age, usd_sum
from hotswap.sessions import gateway_client
from hotswap.sessions.modefile import read_mode, split_mode, write_mode
from hotswap.sessions.registry import (
    Session,
    find,
    list_sessions,
    router_status,
    serve_router,
    status_at,
)
from hotswap.sessions.spellings import EITHER_FLAG, session_or_port, translate

EXIT_USAGE = 2
EXIT_PROBLEM = 1  # `backend`: the mode file cannot be read or names no backend
# A switch asks the router for the keys it lacks; one still loading (just started) may
# take longer than a status line can wait.
SWITCH_STATUS_TIMEOUT_S = 1.0


class SwitchError(Exception):
    """A switch command cannot do what it was asked; printed as `Error: ...`."""


if TYPE_CHECKING:
    import argparse

    from hotswap.config.backends import Backend


class Target(NamedTuple):
    """One mode file to read or write, and how to name it to the user."""

    label: str
    mode_file: Path
    default: str
    alive: bool = True
    session: Session | None = None  # None: the global `hotswap serve` mode file
    note: str = ""  # why this target was chosen, when the user did not name it

    def current(self, config: Config) -> str:
        return self.read(config)[0]

    def read(self, config: Config) -> tuple[str, bool]:
        """The backend the mode file names, as shown to the user, and whether it is valid."""
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
        return (f"{backend.name} {model}" if model else backend.name), True

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
        session_id = os.environ.get("HOTSWAP_SESSION") or None
        if session_id is None:
            port = _port_from_base_url(os.environ.get("ANTHROPIC_BASE_URL", ""))
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


def _print_lines(lines: list[str]) -> None:
    for line in lines:
        warning = line.startswith(("warning:", "note:"))
        print(line, file=sys.stderr if warning else sys.stdout)


class _Args:
    """What the flag-less forms (`ds`, `backend`, `backend NAME`) parse to, without argparse:
    importing it (and the `re` it pulls in) would be ~8 ms of a ~50 ms command."""

    session_id: str | None = None
    port: int | None = None
    all_sessions = False
    either: str | None = None
    model: str | None = None
    gateway: str | None = None

    def __init__(self, name: str | None) -> None:
        self.name = name


def _parse(
    argv: list[str], positional: bool, build: Callable[[], argparse.ArgumentParser]
) -> _Args | argparse.Namespace:
    """The arguments; argparse only for flags, help, or a usage error."""
    if not any(a.startswith("-") for a in argv) and len(argv) == int(positional):
        return _Args(argv[0] if argv else None)
    return build().parse_args(translate(argv))


def _parser(prog: str, description: str, *examples: str) -> argparse.ArgumentParser:
    import argparse

    epilog = "examples:\n" + "\n".join(f"  {prog} {e}".rstrip() for e in examples)
    return argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=epilog if examples else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _add_target_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--session", "-s", dest="session_id", help="session id (or a prefix)")
    group.add_argument("--port", "-p", type=int, help="the session's router port")
    group.add_argument(
        "--all", "-a", dest="all_sessions", action="store_true", help="every live session"
    )
    _add_either_flag(group)


def _add_either_flag(group: argparse._MutuallyExclusiveGroup) -> None:
    """`-Session N` (spellings.py): N a port or a session id. Hidden from --help, which
    shows hotswap's flags; the README's "Coming from deepclaude" names it."""
    import argparse

    group.add_argument(EITHER_FLAG, dest="either", help=argparse.SUPPRESS)


def _add_model_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", "-m", help="send every request to this model (instead of the model map)"
    )


def _targets(config: Config, args: _Args | argparse.Namespace) -> list[Target]:
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
    if args.gateway or os.environ.get(gateway_client.GATEWAY_ENV):
        return _use_gateway(name, args.gateway, args.all_sessions)
    _print_lines(switch(config, name, _targets(config, args), args.model))
    return 0


def _use_gateway(name: str, url: str | None, all_sessions: bool) -> int:
    """A switch on a team gateway: inside a gateway session (`hotswap run --gateway`),
    that session's mode; else (or with --all) every session of the key's user."""
    env = os.environ
    url = url or env[gateway_client.GATEWAY_ENV]
    key = env.get(gateway_client.KEY_ENV) or env.get("ANTHROPIC_AUTH_TOKEN")
    if not key:
        raise SwitchError(f"set {gateway_client.KEY_ENV} to your gateway key")
    session = None if all_sessions else env.get(gateway_client.SESSION_ENV) or None
    try:
        answer = gateway_client.post_mode(url, key, name, session)
    except gateway_client.GatewaySwitchError as exc:
        raise SwitchError(str(exc)) from None
    print(gateway_client.switch_line(answer))
    return 0


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
    targets = _targets(config, args)
    if args.name:
        _print_lines(switch(config, args.name, targets, args.model))
        return 0
    code = 0
    for target in targets:
        shown, valid = target.read(config)
        print(f"{shown}  ({target.label})")
        code = code if valid else EXIT_PROBLEM
    return code


def session_rows(config: Config) -> list[dict[str, object]]:
    rows = []
    for session, alive in list_sessions(config.sessions_dir):
        status = router_status(session) if alive else {}
        requests, failed = request_counts(status)
        cost, unknown = spend_cost(status)
        rows.append(
            {
                "id": session.id,
                "port": session.port,
                "backend": session_target(config, session, alive).current(config),
                "cwd": session.cwd,
                "age_s": round(time.time() - session.started),
                "requests": requests,
                "failed": failed,
                "cost_usd": cost,
                "cost": "-" if cost is None else usd_sum(cost, unknown),
                "alive": alive,
                "note": router_note(status),
            }
        )
    return rows


def request_counts(status: dict[str, object]) -> tuple[int, int]:
    """A router's requests and how many failed: its spend's counts (every exchange, one that
    failed too, as `hotswap cost` counts them), else the answers it relayed."""
    spend = status.get("spend")
    if isinstance(spend, dict) and isinstance(spend.get("requests"), int):
        failed = spend.get("failed")
        return spend["requests"], failed if isinstance(failed, int) else 0
    requests = status.get("requests")
    return (sum(requests.values()) if isinstance(requests, dict) else 0), 0


def spend_cost(status: dict[str, object]) -> tuple[float | None, int]:
    """What a router's session cost so far (its spend), and whether some of it had no
    price; (None, 0) without a router to ask."""
    spend = status.get("spend")
    cost = spend.get("cost_usd") if isinstance(spend, dict) else None
    if not isinstance(spend, dict) or not isinstance(cost, int | float):
        return None, 0
    return float(cost), int(bool(spend.get("unknown_price")))


def router_note(status: dict[str, object]) -> str:
    """What a session's row says about it: a sticky fallback, requests another backend
    answered (transient fallback), a mode file problem, a ledger that cannot be written."""
    notes = []
    if status.get("fallback"):
        notes.append(str(status["fallback"]))
    if status.get("transient_note"):
        notes.append(f"↷ {status['transient_note']}")
    if status.get("mode_problem"):
        notes.append(str(status["mode_problem"]))
    ledger = status.get("ledger")
    if isinstance(ledger, dict) and ledger.get("problem"):
        notes.append(f"ledger: {ledger['problem']}")
    return "; ".join(notes)


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
    print(_table(rows, width))
    return 0


def _table(rows: list[dict[str, object]], width: int | None) -> str:
    """The sessions, fitted to `width`: the folder, backend and note give."""
    home = str(Path.home())
    header = ["ID", "PORT", "BACKEND", "CWD", "AGE", "REQUESTS", "COST", "ALIVE", "NOTE"]
    cells = []
    for r in rows:
        cwd = str(r["cwd"])
        cwd = "~" + cwd[len(home) :] if cwd.startswith(home) else cwd
        cells.append(
            [
                str(r["id"]),
                str(r["port"]),
                str(r["backend"]),
                cwd,
                age(float(str(r["age_s"]))),
                f"{r['requests']} ({r['failed']} failed)" if r["failed"] else str(r["requests"]),
                str(r["cost"]),
                "yes" if r["alive"] else "no (cleaned)",
                str(r["note"]),
            ]
        )
    return columns.table(header, cells, width, give=(2, 3, 8))


def _run(command: Callable[[Config, list[str], str], int], argv: list[str], prog: str) -> int:
    try:
        return command(load_config(), argv, prog)
    except (SwitchError, HotswapError, OSError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_USAGE


COMMANDS: dict[str, Callable[[Config, list[str], str], int]] = {
    "use": cmd_use,
    "backend": cmd_backend,
    "sessions": cmd_sessions,
}


def dispatch(command: str, argv: list[str]) -> int:
    """`hotswap use|backend|sessions ...`"""
    return _run(COMMANDS[command], argv, f"hotswap {command}")


def _fixed(name: str, prog: str) -> None:
    sys.exit(_run(lambda c, a, p: cmd_use(c, a, p, fixed=name), sys.argv[1:], prog))


def ds_main() -> None:
    _fixed("deepseek", "ds")


def ant_main() -> None:
    _fixed("anthropic", "ant")


def backend_main() -> None:
    sys.exit(_run(cmd_backend, sys.argv[1:], "backend"))


def sessions_main() -> None:
    sys.exit(_run(cmd_sessions, sys.argv[1:], "sessions"))

"""`routes on` / `routes off` / `routes`: turn a session's routes off and on, from the shell
or inside Claude Code as `!routes off`. Off is a file beside the session's mode file
(modefile.routes_off_path) that its router stats per request, so the change holds from
the next request, whether or not the router is running. Stdlib only, like `ds`.
"""

from __future__ import annotations

from hotswap.config.loading import Config
from hotswap.sessions.modefile import routes_off, set_routes
from hotswap.sessions.switch import _targets, script
from hotswap.sessions.switch_args import _add_target_flags, _Args, _parse, _parser
from hotswap.sessions.switch_targets import SwitchError, Target

STATES = ("on", "off")


def state_line(config: Config, target: Target) -> str:
    """`routes on (3 configured)  (session 3f2a (port 41231))`"""
    state = "off" if routes_off(target.mode_file) else "on"
    count = len(config.routes)
    return f"routes {state} ({count} configured)  ({target.label})"


def set_state(config: Config, on: bool, targets: list[Target]) -> list[str]:
    """Write the state for every target; one line each, saying what requests do now."""
    lines = []
    for target in targets:
        set_routes(target.mode_file, on)
        if not config.routes:
            after = "no [[routes]] in the config: every request goes to the mode anyway"
        elif on:
            after = "requests go by the routes, then the mode"
        else:
            after = f"every request goes to the mode ({target.current(config)})"
        lines.append(f"routes {'on' if on else 'off'} for {target.label}: {after}")
    return lines


def cmd_routes(config: Config, argv: list[str], prog: str) -> int:
    """`routes` prints the state; `routes on|off` sets it."""

    def build():  # type: ignore[no-untyped-def]
        parser = _parser(prog, "Turn a session's routes on or off.", "", "off", "on --all")
        parser.add_argument("state", nargs="?", choices=STATES, help="on or off")
        _add_target_flags(parser)
        return parser

    args = _parse(argv, bool(argv), build)
    state = args.name if isinstance(args, _Args) else args.state
    if state is not None and state not in STATES:
        raise SwitchError(f"expected `on` or `off`, got {state!r}")
    targets = _targets(config, args)
    lines = (
        [state_line(config, t) for t in targets]
        if state is None
        else set_state(config, state == "on", targets)
    )
    print("\n".join(lines))
    return 0


def routes_main() -> None:
    script(cmd_routes, "routes")

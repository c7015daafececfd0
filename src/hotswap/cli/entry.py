"""The `hotswap` console script: switch subcommands take the stdlib fast path.

`hotswap use`, `sessions`, `backend` and `statusline` must start in tens of
milliseconds, so they never import click or aiohttp; nor does `hotswap run` before it
has started Claude Code.
"""

from __future__ import annotations

import sys

_FAST = {"use", "sessions", "backend"}


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "statusline":
        from hotswap.sessions.statusline import main as statusline

        sys.exit(statusline(args[1:]))
    if args and args[0] in _FAST:
        import hotswap.sessions.switch as switch

        sys.exit(switch.dispatch(args[0], args[1:]))
    if args and args[0] == "run":
        from hotswap.cli.run import run_main

        code = run_main(args[1:])  # Claude Code's start waits for this: no click
        if code is not None:
            sys.exit(code)
    from hotswap.cli.main import cli

    cli()

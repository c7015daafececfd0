"""What the switch commands share: their argument parsing (argparse only for flags, help
or a usage error), their flags, how they print, and how an error ends them. Stdlib only.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from hotswap.config.loading import Config, load_config
from hotswap.errors import HotswapError
from hotswap.sessions.spellings import EITHER_FLAG, translate
from hotswap.sessions.switch_targets import SwitchError

if TYPE_CHECKING:
    import argparse

EXIT_USAGE = 2


def _print_lines(lines: list[str]) -> None:
    for line in lines:
        warning = line.startswith(("warning:", "note:", "! "))
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


def _run(command: Callable[[Config, list[str], str], int], argv: list[str], prog: str) -> int:
    try:
        return command(load_config(), argv, prog)
    except (SwitchError, HotswapError, OSError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_USAGE

"""What the commands print: tables, JSON, masked secrets, check marks, and errors.

Errors are `Error: <what went wrong>` and, on the next line, how to fix it; never a
traceback, always a non-zero exit.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from hotswap import columns

EXIT_FAILED = 1  # the command ran and found a problem (doctor, config validate)
EXIT_ERROR = 2  # the command could not do what it was asked (the switch commands' code too)

CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: $HOTSWAP_CONFIG, else $HOTSWAP_HOME/config.toml).",
)
CONFIG_FIX = "correct the config file named above (hotswap config validate)"
WIDE_OPTION = click.option(
    "--wide", is_flag=True, help="Every cell whole, however wide the terminal."
)


def fail(message: str, fix: str, code: int = EXIT_ERROR) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    click.echo(f"  fix: {fix}", err=True)
    sys.exit(code)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def width(wide: bool = False) -> int | None:
    """The width a table must fit: None with --wide, or when stdout is not a terminal and
    COLUMNS is not set (a pipe gets every cell whole)."""
    if wide:
        return None
    return columns.terminal_width(os.environ, sys.stdout.isatty())


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    wide: bool = False,
    give: Sequence[int] = (),
    right: Sequence[int] = (),
    drop: Sequence[int] = (),
) -> str:
    """Left-aligned columns two spaces apart, trailing blanks trimmed, fitted to the
    terminal by cutting the cells of the `give` columns with `…` (hotswap/columns.py)."""
    return columns.table(header, rows, width(wide), give, right, drop)


def marks() -> dict[str, str]:
    """✓ / ✗ / ! where the terminal can print them, else ok / FAIL / warn."""
    fancy = {"ok": "✓", "fail": "✗", "warn": "!"}
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "".join(fancy.values()).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return {"ok": "ok", "fail": "FAIL", "warn": "warn"}
    return fancy


class GuardedGroup(click.Group):
    """A click group whose commands never end in a traceback: an exception nobody expected
    is printed as `Error: ...` (HOTSWAP_DEBUG=1 shows the traceback instead)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except OSError as exc:
            if exc.errno == errno.EPIPE or os.environ.get("HOTSWAP_DEBUG"):
                raise  # click's main handles a closed pipe (`hotswap backends | head`)
            fail(str(exc), "check the path and its permissions", EXIT_FAILED)
        except Exception as exc:
            if os.environ.get("HOTSWAP_DEBUG"):
                raise
            fail(
                f"unexpected {type(exc).__name__}: {exc}",
                "run it again with HOTSWAP_DEBUG=1 to see where, and report it",
                EXIT_FAILED,
            )

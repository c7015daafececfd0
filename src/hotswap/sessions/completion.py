"""Shell completion for the switch commands' own scripts: `ds`, `ant`, `backend`, `sessions`,
`routes`, by the same mechanism as `hotswap`'s (click's), so one line per script sets it up:

    eval "$(_BACKEND_COMPLETE=bash_source backend)"

The shell's completion function runs the script again with `_BACKEND_COMPLETE=bash_complete`
and the words typed; the script sees the variable before doing anything else (one lookup)
and hands over to click, imported only then: a switch itself never pays for click. Each
script's options mirror its argparse parser (switch.py, routes_switch.py); `backend <TAB>`
offers the config's backend names and aliases, `--session <TAB>` the live sessions' ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hotswap.config.loading import load_config
from hotswap.sessions.registry import list_sessions

if TYPE_CHECKING:
    import click


def complete_var(prog: str) -> str:
    """click's variable for a script: `backend` -> `_BACKEND_COMPLETE`."""
    return f"_{prog.replace('-', '_').upper()}_COMPLETE"


def requested(prog: str, environ: Mapping[str, str]) -> bool:
    """Whether the shell is asking `prog` for its completion (or its completion script)."""
    return bool(environ.get(complete_var(prog)))


def backend_names(incomplete: str) -> list[str]:
    """Every backend name and alias of the config (nothing when it cannot be loaded)."""
    try:
        names = load_config().names()
    except Exception:  # noqa: BLE001 -- completion must never print a traceback into the shell
        return []
    return sorted(n for n in names if n.startswith(incomplete.lower()))


def session_ids(incomplete: str) -> list[str]:
    """The ids of the live sessions."""
    try:
        found = list_sessions(load_config().sessions_dir, clean=False)
    except Exception:  # noqa: BLE001 -- as above
        return []
    return sorted(s.id for s, alive in found if alive and s.id.startswith(incomplete))


def complete(prog: str) -> None:
    """Answer the shell (click prints the script or the completions, then exits)."""
    command(prog).main(args=[], prog_name=prog, complete_var=complete_var(prog))


def command(prog: str) -> click.Command:
    """A click command with `prog`'s arguments and options, for completion only."""
    import click

    def backends(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
        return backend_names(incomplete)

    def sessions(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
        return session_ids(incomplete)

    params: list[Any] = []
    if prog == "backend":
        params.append(click.Argument(["name"], required=False, shell_complete=backends))
    elif prog == "routes":
        params.append(click.Argument(["state"], required=False, type=click.Choice(["on", "off"])))
    if prog != "sessions":
        params += [
            click.Option(["--session", "-s"], shell_complete=sessions),
            click.Option(["--port", "-p"], type=int),
        ]
    params.append(click.Option(["--all", "-a"], is_flag=True))
    if prog in ("ds", "ant", "backend"):
        params.append(click.Option(["--model", "-m"]))
    if prog in ("ds", "ant"):
        params.append(click.Option(["--gateway"]))
    if prog == "sessions":
        params += [click.Option(["--json"], is_flag=True), click.Option(["--wide"], is_flag=True)]
    return click.Command(prog, params=params)

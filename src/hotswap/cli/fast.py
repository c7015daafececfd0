"""The fast-path commands (`use`, `backend`, `sessions`, `statusline`) as click sees them.

entry.main runs them without importing click (they must start in tens of milliseconds),
so these definitions serve `hotswap --help` and shell completion, which always reach
click (a completion request has no arguments). Invoked through click anyway (e.g.
`python -c 'from hotswap.cli.main import cli; cli()'`), they hand over to the same code.
"""

from __future__ import annotations

import sys

import click


def complete_backend(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Every backend name and alias of the config (nothing when it cannot be loaded)."""
    from hotswap.sessions.completion import backend_names

    return backend_names(incomplete)


def complete_session(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    from hotswap.sessions.completion import session_ids

    return session_ids(incomplete)


def _handover(command: str, argv: list[str]) -> None:
    from hotswap.sessions.switch import dispatch

    sys.exit(dispatch(command, argv))


def _target_argv(session: str | None, port: int | None, all_sessions: bool) -> list[str]:
    argv = ["--session", session] if session else []
    argv += ["--port", str(port)] if port is not None else []
    return argv + (["--all"] if all_sessions else [])


def _target_options(f: click.decorators.FC) -> click.decorators.FC:
    f = click.option("--all", "-a", "all_sessions", is_flag=True, help="Every live session.")(f)
    f = click.option("--port", "-p", type=int, help="The session's router port.")(f)
    return click.option(
        "--session", "-s", help="Session id (or a prefix).", shell_complete=complete_session
    )(f)


@click.command("use", epilog="\b\nExamples:\n  hotswap use deepseek\n  hotswap use kimi --all")
@click.argument("name", shell_complete=complete_backend)
@_target_options
def use_command(name: str, session: str | None, port: int | None, all_sessions: bool) -> None:
    """Switch a session (or `hotswap serve`) to backend NAME."""
    _handover("use", [name, *_target_argv(session, port, all_sessions)])


@click.command("backend", epilog="\b\nExamples:\n  hotswap backend\n  hotswap backend glm")
@click.argument("name", required=False, shell_complete=complete_backend)
@_target_options
def backend_command(
    name: str | None, session: str | None, port: int | None, all_sessions: bool
) -> None:
    """Print the current backend; with NAME, switch to it."""
    _handover("backend", [*([name] if name else []), *_target_argv(session, port, all_sessions)])


@click.command("sessions", epilog="\b\nExamples:\n  hotswap sessions\n  hotswap sessions --json")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def sessions_command(as_json: bool) -> None:
    """List hotswap sessions (stale records are cleaned)."""
    _handover("sessions", ["--json"] if as_json else [])


STATUSLINE_EXAMPLE = """\b
Example, in your own Claude Code settings.json:
  "statusLine": {"type": "command", "command": "hotswap statusline"}
"""


@click.command("statusline", epilog=STATUSLINE_EXAMPLE)
def statusline_command() -> None:
    """The status line Claude Code shows under its prompt (`hotswap run` sets it up)."""
    from hotswap.sessions.statusline import main

    sys.exit(main([]))


COMMANDS = (use_command, backend_command, sessions_command, statusline_command)

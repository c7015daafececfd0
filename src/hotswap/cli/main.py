"""click commands: each parses its arguments, calls one function, reports."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hotswap import __version__
from hotswap.cli.output import GuardedGroup
from hotswap.cli.run import error_text, with_model
from hotswap.config.loading import DEFAULT_PORT, load_config
from hotswap.errors import HotswapError


def _fail(exc: HotswapError | OSError) -> None:
    click.echo(error_text(exc), err=True)
    sys.exit(2)


_MODEL_HELP = "Send every request of this backend to MODEL (instead of its model map)."


CLI_EXAMPLES = """\b
Examples (the first ten minutes):
  hotswap doctor               is everything in place? (each problem with its fix)
  hotswap run                  Claude Code behind its own router; then `!ds` / `!ant` in it
  hotswap backends             every backend, its key (masked), model map and price
  hotswap cost                 what each backend cost, and what switching saved

\b
Shell completion (bash, zsh, fish):
  eval "$(_HOTSWAP_COMPLETE=bash_source hotswap)"    # in ~/.bashrc
  eval "$(_HOTSWAP_COMPLETE=zsh_source hotswap)"     # in ~/.zshrc
  _HOTSWAP_COMPLETE=fish_source hotswap | source     # in ~/.config/fish/config.fish
"""


@click.group(
    cls=GuardedGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=CLI_EXAMPLES
)
@click.version_option(__version__, prog_name="hotswap")
def cli() -> None:
    """Swap the model behind a running Claude Code session.

    \b
    Switch commands (fast, stdlib only):
      hotswap use NAME [--session ID | --port P | --all]
      hotswap backend          print the current backend
      hotswap sessions [--json]
    and the short forms: ds, ant, backend, sessions.
    """


SERVE_EXAMPLES = """\b
Examples:
  hotswap serve                         127.0.0.1:3199, following $HOTSWAP_HOME/mode
  hotswap serve --port 0 -b deepseek    a free port, starting on DeepSeek
  ANTHROPIC_BASE_URL=http://127.0.0.1:3199 claude    (in another terminal)
"""


@cli.command(epilog=SERVE_EXAMPLES)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--mode-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Mode file to follow (default: the state directory's `mode`).",
)
@click.option("-b", "--backend", help="Backend to start with (written into the mode file).")
@click.option("-m", "--model", help=_MODEL_HELP)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: $HOTSWAP_HOME/config.toml if it exists).",
)
@click.option("--allow-remote", is_flag=True, help="Allow binding a non-loopback address.")
@click.option("--log-level", default="INFO", show_default=True)
def serve(
    port: int,
    host: str,
    mode_file: Path | None,
    backend: str | None,
    model: str | None,
    config_path: Path | None,
    allow_remote: bool,
    log_level: str,
) -> None:
    """Run a router in the foreground, following one mode file."""
    from hotswap.router.server import configure_logging
    from hotswap.router.server import serve as run_server

    configure_logging(log_level)
    try:
        config = with_model(load_config(config_path), backend, model)
        run_server(config, host, port, mode_file or config.global_mode_file, backend, allow_remote)
    except (HotswapError, OSError) as exc:
        _fail(exc)


RUN_EXAMPLES = """\b
Examples:
  hotswap run                           Claude Code on the default backend
  hotswap run -b deepseek -- --model opus    args after -- go to claude
  (then, inside Claude Code: !ds, !ant, !backend kimi)
"""


@cli.command(
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
    epilog=RUN_EXAMPLES,
)
@click.option("-b", "--backend", help="Backend to start with (default: config's default_backend).")
@click.option("-m", "--model", help=_MODEL_HELP)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="Router port (default: a free one)."
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: $HOTSWAP_HOME/config.toml if it exists).",
)
@click.argument("claude_args", nargs=-1, type=click.UNPROCESSED)
def run(
    backend: str | None,
    model: str | None,
    port: int,
    config_path: Path | None,
    claude_args: tuple[str, ...],
) -> None:
    """Launch Claude Code behind its own router: `hotswap run -b deepseek -- [claude args]`."""
    import os

    from hotswap.cli.run import serve_session  # the same loader as the fast path
    from hotswap.sessions.launcher import run_session

    try:
        config = with_model(load_config(config_path), backend, model)
        code = run_session(
            config, backend, port, list(claude_args), os.environ, serve=serve_session
        )
    except (HotswapError, OSError) as exc:
        _fail(exc)
    sys.exit(code)


def _register() -> None:
    """The commands of issue 14, each in its own module under hotswap/cli/."""
    from hotswap.cli.backends import backends_command
    from hotswap.cli.budgets import budgets_command
    from hotswap.cli.config_cmd import config_group
    from hotswap.cli.cost import cost_command, logs_command  # issue 13: the ledger
    from hotswap.cli.dashboard import dashboard_command  # issue 16
    from hotswap.cli.doctor import doctor_command
    from hotswap.cli.fast import COMMANDS
    from hotswap.cli.gateway import gateway_group  # issue 24: the team gateway
    from hotswap.cli.models import models
    from hotswap.cli.routes import routes_command
    from hotswap.cli.version import version_command

    for command in (backends_command, doctor_command, config_group, version_command, *COMMANDS):
        cli.add_command(command)
    cli.add_command(models)  # issue 15
    cli.add_command(cost_command)
    cli.add_command(logs_command)
    cli.add_command(dashboard_command)
    cli.add_command(routes_command)  # issue 22: routes
    cli.add_command(budgets_command)  # issue 22: budgets
    cli.add_command(gateway_group)


_register()

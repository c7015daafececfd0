"""click commands: each parses its arguments, calls one function, reports."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hotswap import __version__
from hotswap.config import DEFAULT_PORT, load_config
from hotswap.errors import HotswapError


def _fail(exc: HotswapError | OSError) -> None:
    click.echo(f"Error: {exc}", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


@cli.command()
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
    config_path: Path | None,
    allow_remote: bool,
    log_level: str,
) -> None:
    """Run a router in the foreground, following one mode file."""
    from hotswap.server import configure_logging
    from hotswap.server import serve as run_server

    configure_logging(log_level)
    try:
        config = load_config(config_path)
        run_server(config, host, port, mode_file or config.global_mode_file, backend, allow_remote)
    except (HotswapError, OSError) as exc:
        _fail(exc)


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("-b", "--backend", help="Backend to start with (default: config's default_backend).")
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
    backend: str | None, port: int, config_path: Path | None, claude_args: tuple[str, ...]
) -> None:
    """Launch Claude Code behind its own router: `hotswap run -b deepseek -- [claude args]`."""
    import os

    from hotswap.launcher import run_session

    try:
        config = load_config(config_path)
        code = run_session(config, backend, port, list(claude_args), os.environ)
    except (HotswapError, OSError) as exc:
        _fail(exc)
    sys.exit(code)

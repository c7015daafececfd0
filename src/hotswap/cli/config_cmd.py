"""`hotswap config init|path|show|validate`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from hotswap.cli.output import CONFIG_OPTION, EXIT_FAILED, echo_json, fail

EXAMPLES = """\b
Examples:
  hotswap config init          write a commented starter config (every preset listed)
  hotswap config path          where the config is read from
  hotswap config show --json   the effective config, keys masked, with each value's source
  hotswap config validate      exit status 1 and the router's message if it is invalid
"""


def _examples(*lines: str) -> str:
    """A click epilog block, kept as written (\\b stops click from rewrapping it)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


@click.group("config", epilog=EXAMPLES)
def config_group() -> None:
    """Write, locate, show and check the config file (keys stay in the environment)."""


@config_group.command(
    "path",
    epilog=_examples(
        "hotswap config path", '$EDITOR "$(hotswap config path --json | jq -r .path)"'
    ),
)
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def path_command(config_path: Path | None, as_json: bool) -> None:
    """Print where the config is read from, and whether it exists."""
    from hotswap.cli.config_show import config_location

    loc = config_location(config_path, os.environ)
    if as_json:
        echo_json({"path": str(loc.path), "source": loc.why, "exists": loc.exists})
        return
    state = (
        "exists" if loc.exists else "does not exist: built-in presets only; `hotswap config init`"
    )
    click.echo(f"{loc.path}  ({state}; {loc.why})")


@config_group.command(
    "init",
    epilog=_examples("hotswap config init", "hotswap config init --force --config ./hotswap.toml"),
)
@CONFIG_OPTION
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
def init_command(config_path: Path | None, force: bool) -> None:
    """Write a commented starter config at the config path."""
    from hotswap.cli.config_show import config_location
    from hotswap.cli.config_starter import starter_config

    loc = config_location(config_path, os.environ)
    data = starter_config().encode()
    try:
        _write(loc.path, data, force)
    except FileExistsError:
        fail(
            f"{loc.path} already exists; not overwritten",
            "edit it, or `hotswap config init --force` to replace it (the old one is not kept)",
        )
    except OSError as exc:
        fail(f"cannot write {loc.path}: {exc.strerror}", "check the folder's permissions")
    click.echo(f"wrote {loc.path}")
    click.echo("next: edit it, then `hotswap config validate` and `hotswap backends`")


def _write(path: Path, data: bytes, force: bool) -> None:
    from hotswap.sessions.modefile import make_private_dir, write_private

    if force:
        write_private(path, data)
        return
    make_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


@config_group.command(
    "show",
    epilog=_examples(
        "hotswap config show", "hotswap config show --json | jq .backends.deepseek.models"
    ),
)
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show_command(config_path: Path | None, as_json: bool) -> None:
    """Print the effective config: each value with its source (default, preset, file,
    environment); keys masked."""
    from hotswap.cli.config_show import config_location, effective_config, render
    from hotswap.config.loading import load_config
    from hotswap.errors import HotswapError

    loc = config_location(config_path, os.environ)
    try:
        config = load_config(config_path)
        data = effective_config(config, loc, os.environ)
    except HotswapError as exc:
        fix = exc.fix or f"fix {loc.path} (`hotswap config validate` checks it)"
        fail(str(exc), fix, EXIT_FAILED)
    if as_json:
        echo_json(data)
    else:
        click.echo(render(data))


@config_group.command("validate", epilog=_examples("hotswap config validate && hotswap run"))
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def validate_command(config_path: Path | None, as_json: bool) -> None:
    """Check the config as a router does at start; exit status 1 if it is invalid."""
    from hotswap.cli.config_show import config_location
    from hotswap.config.loading import load_config
    from hotswap.errors import HotswapError

    loc = config_location(config_path, os.environ)
    try:
        config = load_config(config_path)
    except HotswapError as exc:
        if as_json:
            echo_json({"ok": False, "path": str(loc.path), "error": str(exc)})
            raise SystemExit(EXIT_FAILED) from None
        fail(str(exc), exc.fix or f"edit {loc.path}", EXIT_FAILED)
    added = sorted(set(config.backends) - _presets())
    if as_json:
        echo_json({"ok": True, "path": str(loc.path), "exists": loc.exists, "added": added})
        return
    if config.source is None:
        click.echo(f"ok: no config at {loc.path} (built-in presets only)")
        return
    extra = f"; added: {', '.join(added)}" if added else ""
    click.echo(f"ok: {loc.path} is valid (default backend: {config.default_backend}{extra})")


def _presets() -> set[str]:
    from hotswap.config.backends import PRESETS

    return set(PRESETS)

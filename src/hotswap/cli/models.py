"""`hotswap models [BACKEND] [--json]`: the models a backend offers
(models.list_models_with_source)."""

from __future__ import annotations

import json
import sys

import click

from hotswap.config.backends import Backend
from hotswap.config.loading import Config, load_config
from hotswap.errors import HotswapError
from hotswap.figures import count
from hotswap.sessions.modefile import read_mode, split_mode


def current_backend(config: Config) -> Backend:
    """The backend the current session (or the global mode file) names, with its model."""
    from hotswap.sessions.switch import resolve_targets
    from hotswap.sessions.switch_targets import SwitchError

    try:
        target = resolve_targets(config)[0]
        mode = read_mode(target.mode_file) or target.default
    except (SwitchError, OSError, ValueError):
        mode = config.default_backend
    name, model = split_mode(mode)
    backend = config.resolve(name) or config.backends[config.default_backend]
    return backend.with_model(model) if model else backend


@click.command()
@click.argument("backend", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def models(backend: str | None, as_json: bool) -> None:
    """List a backend's models (default: the current session's backend)."""
    from hotswap.router.models import list_models_with_source

    try:
        config = load_config()
        chosen = config.resolve(backend) if backend else current_backend(config)
        if chosen is None:
            known = ", ".join(sorted(config.names()))
            raise HotswapError(f"unknown backend {backend!r}; known: {known}")
    except HotswapError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    found, source = list_models_with_source(chosen, config.keys)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    click.echo(f"{chosen.name}: {count(len(found), 'model')} (from {source})")
    for model in found:
        name = model["display_name"]
        click.echo(f"  {model['id']}" + (f"  ({name})" if name != model["id"] else ""))

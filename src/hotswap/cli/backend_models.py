"""`hotswap backends NAME --models`: the models a backend offers, asked of the backend itself
(models.py), one per line. A backend that is down, refuses its key or has none is an
`Error:` with its fix; one without a model list answers its model map, said on stderr."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

import click

from hotswap.cli.output import EXIT_FAILED, echo_json, fail
from hotswap.config.backends import Backend
from hotswap.config.loading import Config
from hotswap.errors import MissingKeyError


def _credential_fix(backend: Backend) -> str:
    if backend.is_passthrough:
        return "export ANTHROPIC_API_KEY=... (or ANTHROPIC_AUTH_TOKEN; a Claude login is not used)"
    return f"export {backend.api_key_env}=... (keys are read only from the environment)"


def _missing_credential(backend: Backend, config: Config, environ: Mapping[str, str]) -> str | None:
    from hotswap.router.probe import client_headers

    if backend.is_passthrough and client_headers(backend, environ) is None:
        return "no ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN is set"
    if backend.needs_key and not config.keys.get(backend.api_key_env or ""):
        return f"{backend.api_key_env} is not set"
    return None


def _failed(backend: Backend, exc: Exception) -> NoReturn:
    from hotswap.router.models import ModelListError

    name = backend.name
    status = exc.http_status if isinstance(exc, ModelListError) else None
    if isinstance(exc, MissingKeyError):
        why = f"{name}: {str(exc).removeprefix('hotswap: ')}"
        fail(why, _credential_fix(backend), EXIT_FAILED)
    if status in (401, 403):
        fail(f"{name} refused the key: {exc}", f"check it: {_credential_fix(backend)}", EXIT_FAILED)
    if status is not None:
        fail(
            f"{name} failed: {exc}",
            "try again in a moment (it is the backend's error)",
            EXIT_FAILED,
        )
    fix = f"is it running, and is its base_url ({backend.base_url}) right? see `hotswap backends`"
    fail(f"{name} is down: {exc}", fix, EXIT_FAILED)


def show_models(config: Config, name: str, environ: Mapping[str, str], as_json: bool) -> None:
    """Print `name`'s models, one per line (--json: a list of model entries)."""
    from hotswap.errors import HotswapError
    from hotswap.router.models import list_models_with_source
    from hotswap.router.probe import client_headers

    backend = config.resolve(name)
    if backend is None:
        fail(f"unknown backend {name!r}", f"use one of: {', '.join(sorted(config.names()))}")
    missing = _missing_credential(backend, config, environ)
    if missing:
        why = f"{backend.name}: listing its models needs its key: {missing}"
        fail(why, _credential_fix(backend), EXIT_FAILED)
    headers = client_headers(backend, environ)
    try:
        models, source = list_models_with_source(
            backend, config.keys, strict=True, client_headers=headers
        )
    except (HotswapError, OSError) as exc:
        _failed(backend, exc)
    if source != "the backend":
        click.echo(
            f"note: {backend.name} lists no models here: these are the ones its model map names",
            err=True,
        )
    if as_json:
        echo_json(models)
        return
    for model in models:
        click.echo(model["id"])

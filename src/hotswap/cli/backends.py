"""`hotswap backends`: every backend, its key (masked), model map and fallback chain."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from hotswap.backend_rows import backend_rows
from hotswap.cli.fast import complete_backend
from hotswap.cli.output import CONFIG_OPTION, WIDE_OPTION, echo_json, fail, table, width
from hotswap.config.loading import Config, load_config
from hotswap.config.prices import PRICES_CHECKED, Price
from hotswap.errors import HotswapError
from hotswap.figures import UNKNOWN, usd_rate
from hotswap.rules.tiers import TIER_MODELS


def active_backend(config: Config) -> tuple[str | None, str]:
    """(backend name, which mode file) of the current session, found as the switch commands
    find it; (None, why) when it cannot be told (then nothing is marked)."""
    from hotswap.sessions.switch import resolve_targets
    from hotswap.sessions.switch_targets import SwitchError

    try:
        target = resolve_targets(config)[0]
    except (SwitchError, HotswapError, OSError) as exc:
        return None, str(exc)
    current = target.current(config)
    backend = config.resolve(current)
    if backend is None:
        return None, f"{target.label} names {current}"
    return backend.name, target.label


_LONG_MODEL = 24
PRICE_NOTE = (
    f"PRICE: USD per million tokens, input/output, of the model SONNET is sent as (built-in "
    f'prices checked {PRICES_CHECKED}; yours: [backends.NAME.prices."glob"] in config.toml)'
)


def _model_cell(tier: str, target: str) -> str:
    """`unchanged`, or the model; a long `accounts/x/models/name` shortened to `…/name`
    (--json has it whole)."""
    if target == TIER_MODELS[tier]:
        return "unchanged"
    if len(target) > _LONG_MODEL and "/" in target:
        return "…/" + target.rsplit("/", 1)[1]
    return target


def _models_text(row: dict[str, Any]) -> list[str]:
    return [_model_cell(tier, row["models"][tier]) for tier in TIER_MODELS]


# Columns that can give (cut with …) in a narrow terminal, then those left out, in order.
_GIVE = (1, 3, 4, 5, 6, 8, 9)
_DROP = (9, 1, 6, 4)


def render(rows: list[dict[str, Any]], active: str | None, where: str, wide: bool = False) -> str:
    body = []
    for r in rows:
        marker = "*" if r["active"] else " "
        name = r["name"] + (" (default)" if r["default"] else "")
        key = r["key"] if r["auth"] in ("passthrough", "none") else f"{r['key_env']} {r['key']}"
        body.append(
            [
                f"{marker} {name}",
                ", ".join(r["aliases"]) or "-",
                r["auth"],
                key,
                *_models_text(r),
                price_cell(r["auth"], r["prices"]["sonnet"]),
                ", ".join(r["fallback"]) or "-",
                r["base_url"],
            ]
        )
    header = ["  NAME", "ALIASES", "AUTH", "KEY", "OPUS", "SONNET", "HAIKU", "PRICE"]
    header += ["FALLBACK", "BASE URL"]
    last = f"* = active: {active} ({where})" if active else f"no backend marked: {where}"
    room = width(wide)
    notes = [PRICE_NOTE, last]
    if room is not None:
        notes = [textwrap.fill(n, room, break_on_hyphens=False) for n in notes]
    return "\n".join([table(header, body, wide, _GIVE, drop=_DROP), "", *notes])


EXAMPLES = """\b
Examples:
  hotswap backends
  hotswap backends deepseek                  one backend's row
  hotswap backends deepseek --models         the models it offers, asked of it, one per line
  hotswap backends --json | jq '.backends[] | select(.key_set == false) | .name'
"""


@click.command("backends", epilog=EXAMPLES)
@click.argument("name", required=False, shell_complete=complete_backend)
@click.option("--models", "list_models", is_flag=True, help="List NAME's models (asks it).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@WIDE_OPTION
@CONFIG_OPTION
def backends_command(
    name: str | None, list_models: bool, as_json: bool, wide: bool, config_path: Path | None
) -> None:
    """List every backend (or NAME): aliases, auth, key (masked), model map, price, fallback.

    The backend of the current session (found as `ds` finds it) is marked with `*`.
    With --models, list the models NAME offers instead (from its own model list, else
    its model map).
    """
    if list_models and name is None:
        fail("--models lists one backend's models: name it", "hotswap backends deepseek --models")
    try:
        config = load_config(config_path)
    except HotswapError as exc:
        fail(str(exc), "fix the config file (`hotswap config validate` shows the same error)")
    if list_models:
        from hotswap.cli.backend_models import show_models

        assert name is not None
        show_models(config, name, os.environ, as_json)
        return
    active, where = active_backend(config)
    rows = backend_rows(config, os.environ, active)
    if name is not None:
        chosen = config.resolve(name)
        if chosen is None:
            fail(f"unknown backend {name!r}", f"use one of: {', '.join(sorted(config.names()))}")
        rows = [r for r in rows if r["name"] == chosen.name]
    if as_json:
        data = {"active": active, "active_where": where, "prices_checked": PRICES_CHECKED}
        echo_json({**data, "backends": rows})
    else:
        click.echo(render(rows, active, where, wide))


def price_cell(auth: str, price: Mapping[str, Any] | None) -> str:
    """`$2/$10` (input/output per Mtok), `$0 (local)` for a server on this machine that
    costs nothing, `unknown` without a price."""
    if price is None:
        return UNKNOWN
    p = Price(price["input"], price["output"], price["cache_read"], price["cache_write"])
    if not any(p) and auth == "none":
        return "$0 (local)"
    return f"{usd_rate(p.input)}/{usd_rate(p.output)}"

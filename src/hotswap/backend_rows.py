"""Every backend as plain values: what `hotswap backends` prints and the dashboard shows
(name, aliases, wire, its key by the name of its variable and masked, model map, prices,
fallback chain). No value of a key is ever in a row: `key` is masked (redact.mask)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotswap.config.backends import PRESETS, Backend
from hotswap.config.credentials import credential
from hotswap.config.loading import Config
from hotswap.config.prices import PriceTable, lookup, price_table
from hotswap.redact import mask
from hotswap.rules.tiers import model_map


def key_text(backend: Backend, environ: Mapping[str, str]) -> str:
    if backend.auth == "none":
        return "none needed"
    name, value = credential(backend, environ)
    if backend.is_passthrough:
        return f"{name} {mask(value)}" if name else "Claude Code's own"
    return mask(value)


def backend_rows(
    config: Config, environ: Mapping[str, str], active: str | None
) -> list[dict[str, Any]]:
    """One plain dict per backend, presets first (in their order), then the added ones."""
    order = [n for n in PRESETS if n in config.backends]
    order += [n for n in config.backends if n not in PRESETS]
    rows = []
    for name in order:
        b = config.backends[name]
        key_env, value = credential(b, environ)
        models = model_map(b)
        rows.append(
            {
                "name": b.name,
                "aliases": list(b.aliases),
                "base_url": b.base_url,
                "auth": b.auth,
                "wire": b.wire,
                "default_model": b.default_model,
                "key_env": key_env,
                "key_set": bool(value),
                "key": key_text(b, environ),
                "models": models,
                "prices": tier_prices(config, b, models),
                "fallback": list(b.fallback),
                "default": b.name == config.default_backend,
                "active": b.name == active,
                "added": b.name not in PRESETS,
            }
        )
    return rows


def tier_prices(
    config: Config, backend: Backend, models: Mapping[str, str], table: PriceTable | None = None
) -> dict[str, dict[str, Any] | None]:
    """tier -> {input, output, cache_read, cache_write (USD per Mtok), source} of the model
    that tier is sent as; None where no price is known."""
    table = table if table is not None else price_table(config.prices)
    own = dict(config.prices)  # only the config's: where a price came from
    out: dict[str, dict[str, Any] | None] = {}
    for tier, model in models.items():
        price = lookup(table, backend.name, model)
        if price is None:
            out[tier] = None
            continue
        source = "config" if lookup(own, backend.name, model) == price else "built-in"
        out[tier] = {**price._asdict(), "source": source}
    return out

"""What each backend's models cost, as `hotswap backends` shows it: the price of the model
each Claude tier is sent as (prices.py's table, the config's prices tried first)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotswap.config.backends import Backend
from hotswap.config.loading import Config
from hotswap.config.prices import Price, PriceTable, lookup, price_table
from hotswap.figures import UNKNOWN, usd_rate


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


def price_cell(auth: str, price: Mapping[str, Any] | None) -> str:
    """`$2/$10` (input/output per Mtok), `$0 (local)` for a server on this machine that
    costs nothing, `unknown` without a price."""
    if price is None:
        return UNKNOWN
    p = Price(price["input"], price["output"], price["cache_read"], price["cache_write"])
    if not any(p) and auth == "none":
        return "$0 (local)"
    return f"{usd_rate(p.input)}/{usd_rate(p.output)}"

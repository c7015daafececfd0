"""The dashboard's spend plots and tables: cost per local day and backend from the ledger,
savings against Claude's prices, cache hit rate, and each backend's colour (stable across
page loads)."""

from __future__ import annotations

import sqlite3
import zlib
from datetime import date, timedelta
from typing import Any

from hotswap.config.budgets import midnight
from hotswap.config.prices import PriceTable
from hotswap.figures import tokens, usd_sum
from hotswap.ledger import queries

SPEND_DAYS = 30
# A backend's colour on the page (Tableau 10): its name's CRC-32 picks one, so a backend
# keeps its colour across page loads, days, and other backends coming and going. The
# CRC's starting value is the first that gives the first ten presets ten colours.
PALETTE = (
    *("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f"),
    *("#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"),
)
_COLOR_SEED = 1822


def day_start(day: date) -> float:
    """Local midnight at the start of `day`, in Unix seconds (days are local, as in
    `hotswap cost --by day`)."""
    return midnight(day)


def backend_color(name: str) -> str:
    """The colour `name` is drawn in, the same on every page load."""
    return PALETTE[zlib.crc32(name.encode(), _COLOR_SEED) % len(PALETTE)]


Grid = list[tuple[str, str, queries.CostLine]]  # (local day, backend, its cost line)


def day_grid(conn: sqlite3.Connection, table: PriceTable, since: date, until: date | None) -> Grid:
    """Cost lines per (local day, backend) from `since` up to `until` (excluded) or now."""
    end = None if until is None else day_start(until)
    where = queries.Filter(since=day_start(since), until=end)
    return queries.cost_by_day(conn, table, "backend", where)


def spend(
    conn: sqlite3.Connection, table: PriceTable, today: date, days: int = SPEND_DAYS
) -> dict[str, Any]:
    """Cost per local day and backend for the last `days` days, savings against Claude's
    prices and cache hit rate per day: the plots and their tables."""
    first = today - timedelta(days=days - 1)
    return spend_of(day_grid(conn, table, first, None), today, days)


def spend_of(grid: Grid, today: date, days: int = SPEND_DAYS) -> dict[str, Any]:
    """spend() of a grid read already (the earlier days' part may be kept between reads)."""
    first = today - timedelta(days=days - 1)
    labels = [(first + timedelta(days=i)).isoformat() for i in range(days)]
    index = {d: i for i, d in enumerate(labels)}
    totals = [queries.CostLine(d) for d in labels]
    by_backend: dict[str, list[queries.CostLine]] = {}
    for day, backend, line in grid:
        i = index.get(day)
        if i is None:
            continue
        totals[i].merge(line)
        if line.requests and backend != "(no answer)":
            by_backend.setdefault(backend, [queries.CostLine(d) for d in labels])[i].merge(line)
    return _spend_json(labels, totals, by_backend)


def _backend_spend(name: str, days: list[queries.CostLine]) -> dict[str, Any]:
    """One backend's cost per day, as numbers (the plot) and as the table shows them."""
    return {
        "name": name,
        "color": backend_color(name),
        "cost": [round(d.cost_usd, 6) for d in days],
        "cost_text": [usd_sum(d.cost_usd, d.unpriced) for d in days],
        "unpriced": sum(d.unpriced for d in days),
    }


def _spend_json(
    labels: list[str], totals: list[queries.CostLine], by_backend: dict[str, list[queries.CostLine]]
) -> dict[str, Any]:
    whole = queries.total_of(totals)
    order = sorted(by_backend, key=lambda b: (-sum(d.cost_usd for d in by_backend[b]), b))
    rate = whole.cache_hit_rate
    return {
        "days": labels,
        "backends": [_backend_spend(b, by_backend[b]) for b in order],
        "total": [round(t.cost_usd, 6) for t in totals],
        "savings": [round(t.savings_usd, 6) for t in totals],
        "total_text": [usd_sum(t.cost_usd, t.unpriced) for t in totals],
        "savings_text": [usd_sum(t.savings_usd, t.unsaved) for t in totals],
        "prompt_text": [tokens(_prompt(t)) for t in totals],
        "cache_read_text": [tokens(t.usage.cache_read_tokens) for t in totals],
        "unpriced": [t.unpriced for t in totals],
        "requests": [t.requests for t in totals],
        "cache_read": [t.usage.cache_read_tokens for t in totals],
        "prompt": [_prompt(t) for t in totals],
        "hit_rate": [_round(t.cache_hit_rate) for t in totals],
        "summary": {
            "requests": whole.requests,
            "cost": usd_sum(whole.cost_usd, whole.unpriced),
            "savings": usd_sum(whole.savings_usd, whole.unsaved),
            "hit_rate": _round(rate),
        },
    }


def _prompt(line: queries.CostLine) -> int:
    u = line.usage
    return u.input_tokens + u.cache_read_tokens + u.cache_write_tokens


def _round(rate: float | None) -> float | None:
    return None if rate is None else round(rate, 4)


def empty_spend(today: date, days: int = SPEND_DAYS) -> dict[str, Any]:
    return spend_of([], today, days)

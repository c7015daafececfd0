"""`hotswap budgets`: each `[budgets.NAME]` of the config with its spend this period, read
from the ledger (no session needs to run), the share of the limit, and what happens at
the limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from hotswap.cli.output import CONFIG_FIX, CONFIG_OPTION, echo_json, fail, table
from hotswap.errors import HotswapError

BUDGETS_EXAMPLES = """\b
Examples:
  hotswap budgets            each budget, spent this period, and what happens at its limit
  hotswap budgets --json
"""
STATES = {"ok": "ok", "warn": "warning", "reached": "spent"}


@click.command("budgets", epilog=BUDGETS_EXAMPLES)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--wide", is_flag=True, help="Every cell whole, however wide the terminal.")
@CONFIG_OPTION
def budgets_command(as_json: bool, wide: bool, config_path: Path | None) -> None:
    """Each backend's budget (`[budgets.NAME]`): spent this day, week or month by every
    session on this machine (from the ledger), and what happens at the limit."""
    from hotswap.config.loading import load_config
    from hotswap.config.prices import price_table
    from hotswap.ledger.budgets import ledger_budgets
    from hotswap.ledger.store import ledger_path

    try:
        config = load_config(config_path)
    except HotswapError as exc:
        fail(str(exc), CONFIG_FIX)
    path = ledger_path(config.state_dir)
    rows = ledger_budgets(config.budgets, price_table(config.prices), path)
    if as_json:
        echo_json({"budgets": rows})
    else:
        click.echo(budgets_table(rows, wide))


def budgets_table(rows: list[dict[str, Any]], wide: bool = False) -> str:
    from hotswap.config.budgets import reset_words
    from hotswap.figures import percent, usd, usd_sum

    if not rows:
        return "no budgets: no backend has a spending limit (see docs/budgets.md)"
    header = ["BACKEND", "PERIOD", "LIMIT", "SPENT", "%", "STATE", "AT THE LIMIT", "RESETS"]
    cells = []
    for row in rows:
        then = "block (429)" if row["then"] == "block" else f"switch to {row['then']}"
        resets = reset_words(row["period"], row["resets_at"])
        cells.append(
            [
                row["backend"],
                row["period"],
                usd(row["limit_usd"]),
                usd_sum(row["spent_usd"], row["unpriced"]),
                percent(row["spent_usd"] / row["limit_usd"]),
                STATES[row["state"]],
                then,
                resets,
            ]
        )
    note = "spent: by every session on this machine (the ledger); ≥: some had no price"
    return table(header, cells, give=(6,), right=(2, 3, 4), wide=wide) + "\n" + note

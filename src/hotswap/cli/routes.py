"""`hotswap routes`: the config's route rules, each with how many requests it routed today
(from the ledger); `hotswap routes on|off [--session ID | --port P | --all]` turns a
session's routes on or off (the same code as the `routes` console script)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from hotswap.cli.fast import _target_argv, _target_options
from hotswap.cli.output import CONFIG_FIX, CONFIG_OPTION, echo_json, fail
from hotswap.errors import HotswapError

ROUTES_EXAMPLES = """\b
Examples:
  hotswap routes                      the rules, first match wins, with today's counts
  hotswap routes off --session 3f2a   that session's requests all go to its mode
  hotswap routes on --all             every live session routes again
  routes off                          (inside Claude Code: !routes off)
"""


@click.command("routes", epilog=ROUTES_EXAMPLES)
@click.argument("state", required=False, type=click.Choice(("on", "off")))
@_target_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@CONFIG_OPTION
def routes_command(
    state: str | None,
    session: str | None,
    port: int | None,
    all_sessions: bool,
    as_json: bool,
    config_path: Path | None,
) -> None:
    """The route rules (first match wins; no match: the session's mode), or turn a
    session's routes on or off."""
    if state is not None:
        from hotswap.sessions.routes_switch import cmd_routes
        from hotswap.sessions.switch import _run

        argv = [state, *_target_argv(session, port, all_sessions)]
        sys.exit(_run(cmd_routes, argv, "hotswap routes"))
    from hotswap.config.loading import load_config

    try:
        config = load_config(config_path)
    except HotswapError as exc:
        fail(str(exc), CONFIG_FIX)
    rows = route_rows(config, _today_counts(config))
    if as_json:
        echo_json({"routes": rows})
    else:
        click.echo(routes_table(rows))


def route_rows(config: Any, counts: dict[str, int]) -> list[dict[str, Any]]:
    out = []
    for r in config.routes:
        to = r.backend.name + (f":{r.backend.default_model}" if not r.backend.models else "")
        row: dict[str, Any] = {"name": r.name, "when": r.when, "to": to, "on": sorted(r.on)}
        if r.when == "long_context":
            row["above_tokens"] = r.above_tokens
        row["today"] = counts.get(r.name, 0)
        out.append(row)
    return out


def routes_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no routes: every request goes to its session's mode (see docs/routes.md)"
    cells = [["#", "NAME", "WHEN", "TO", "ON", "TODAY"]]
    for i, row in enumerate(rows, 1):
        when = row["when"] + (f" > {row['above_tokens']}" if "above_tokens" in row else "")
        on = ",".join(row["on"]) or "any mode"
        cells.append([str(i), row["name"], when, row["to"], on, str(row["today"])])
    widths = [max(len(c[i]) for c in cells) for i in range(len(cells[0]))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join([*lines, "first match wins; no match: the session's mode"])


def _today_counts(config: Any) -> dict[str, int]:
    """Requests each route sent since local midnight; {} without a ledger."""
    import sqlite3
    import time

    from hotswap.config.budgets import period_start
    from hotswap.ledger import queries, usage

    try:
        conn = usage.open_existing(config)
    except (OSError, sqlite3.Error):
        return {}
    if conn is None:
        return {}
    try:
        return queries.routed_since(conn, period_start("daily", time.time()))
    finally:
        conn.close()

"""`hotswap cost --database URL` and `hotswap logs --database URL`: the team gateway's
ledger in PostgreSQL (gateway/report.py queries it), written by the same formatter as this
machine's SQLite ledger (ledger/report.py), so both read alike. `hotswap gateway cost` is
the same report (by user by default)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from hotswap.cli.gateway_db import gateway_settings, with_db
from hotswap.cli.output import echo_json


def print_cost(
    database: str | None, config_path: Path | None, by: str, since: float | None,
    session: str | None, as_json: bool, width: int | None,
) -> None:  # fmt: skip
    """The cost report from the gateway's ledger (ValueError: a `by` it cannot group)."""
    from hotswap.gateway.report import cost_lines
    from hotswap.ledger import report

    async def work(db: Any) -> Any:
        return await cost_lines(db, by, since, session)

    lines, total = with_db(gateway_settings(config_path, database=database), work)
    if as_json:
        echo_json(report.cost_json(lines, total, by, session, since))
    else:
        click.echo(report.cost_table(lines, total, by, width))


def print_logs(
    database: str | None, config_path: Path | None, count: int, session: str | None,
    as_json: bool, width: int | None,
) -> None:  # fmt: skip
    """The last `count` exchanges of the whole team, a line each; the second column is
    the user (their session is in the JSON)."""
    from hotswap.gateway.report import recent_entries
    from hotswap.ledger import report

    async def work(db: Any) -> list[dict[str, Any]]:
        return await recent_entries(db, count, session)

    entries = with_db(gateway_settings(config_path, database=database), work)
    if as_json:
        for entry in entries:
            click.echo(json.dumps(entry))
        return
    shown = [{**e, "session": e["user"]} for e in entries]
    shape = report.log_layout(shown, width)
    for entry in shown:
        click.echo(report.log_line(entry, shape))
    if not entries:
        click.echo("no exchanges recorded yet")

"""`hotswap cost` and `hotswap logs`: the usage ledger, read (hotswap/ledger/usage.py does the
work; sqlite3 is imported only when one of them runs)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from hotswap.cli.output import CONFIG_FIX, CONFIG_OPTION, WIDE_OPTION, echo_json, fail, width
from hotswap.errors import HotswapError

BY = ("backend", "model", "day", "session", "route", "conversation", "agent", "user")
BY_USER_FIX = "give --database URL: users exist on a team gateway's ledger (docs/gateway.md)"
DATABASE_HELP = "The team gateway's ledger (PostgreSQL URL) instead of this machine's."
COST_FIX = "see `hotswap cost --help` (--since 7d, 12h, 30m or a date such as 2026-12-01)"
LEDGER_FIX = "check $HOTSWAP_HOME/ledger.db and its folder (hotswap doctor)"
NEWER_FIX = "upgrade hotswap: a newer one wrote this ledger"

COST_EXAMPLES = """\b
Examples:
  hotswap cost                          per backend, all time
  hotswap cost --by day --since 7d
  hotswap cost --session 3f2a --by model
  hotswap cost --by conversation        per Claude Code conversation
  hotswap cost --by agent               the main agent and each subagent
  hotswap cost --json | jq .total.savings_usd
  hotswap cost --prune-before 90d       delete older exchanges
  hotswap cost --database postgresql:///hotswap --by user   the team gateway's
"""
LOGS_EXAMPLES = """\b
Examples:
  hotswap logs -n 50
  hotswap logs -f --session 3f2a
  hotswap logs --json | jq 'select(.fell_back_from)'
  hotswap logs --database postgresql:///hotswap   the team gateway's
"""


@click.command("cost", epilog=COST_EXAMPLES)
@click.option("--session", help="Only this session's exchanges (its id).")
@click.option(
    "--by", type=click.Choice(BY), default="backend", show_default=True, help="Group rows by."
)
@click.option("--since", help="Only exchanges since: 7d, 12h, 30m, or a date (2026-12-01).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--prune-before",
    metavar="DATE",
    help="Delete exchanges older than DATE (or 90d, ...) from the ledger, then exit.",
)
@click.option("--database", metavar="URL", help=DATABASE_HELP)
@WIDE_OPTION
@CONFIG_OPTION
def cost_command(
    session: str | None,
    by: str,
    since: str | None,
    as_json: bool,
    prune_before: str | None,
    database: str | None,
    wide: bool,
    config_path: Path | None,
) -> None:
    """What each backend cost, and what switching saved against Claude's prices."""
    import sqlite3

    from hotswap.config.loading import load_config
    from hotswap.figures import count
    from hotswap.ledger import usage
    from hotswap.ledger.queries import parse_since
    from hotswap.ledger.schema import SchemaError

    if database is not None:
        _team_cost(database, config_path, by, since, session, as_json, wide, prune_before)
        return
    if by == "user":
        fail("--by user is a team gateway's grouping", BY_USER_FIX)
    try:
        config = load_config(config_path)
        if prune_before is not None:
            removed = usage.prune_before(config, parse_since(prune_before))
            pruned = f"pruned {count(removed, 'exchange')}"
            click.echo(json.dumps({"pruned": removed}) if as_json else pruned)
            return
        query = usage.CostQuery.parse(by, since, session)
        if as_json:
            echo_json(usage.cost_report(config, query))
        else:
            click.echo(usage.cost_text(config, query, width(wide)))
    except SchemaError as exc:
        fail(str(exc), NEWER_FIX)
    except ValueError as exc:
        fail(str(exc), COST_FIX)
    except HotswapError as exc:
        fail(str(exc), CONFIG_FIX)
    except (OSError, sqlite3.Error) as exc:
        fail(str(exc), LEDGER_FIX)


def _team_cost(
    database: str, config_path: Path | None, by: str, since: str | None, session: str | None,
    as_json: bool, wide: bool, prune_before: str | None,
) -> None:  # fmt: skip
    from hotswap.cli.team_ledger import print_cost
    from hotswap.ledger.queries import parse_since

    if prune_before is not None:
        fail("--prune-before works on this machine's ledger", "leave out --database")
    try:
        start = parse_since(since) if since else None
        print_cost(database, config_path, by, start, session, as_json, width(wide))
    except ValueError as exc:
        fail(str(exc), COST_FIX)
    except HotswapError as exc:
        fail(str(exc), CONFIG_FIX)


@click.command("logs", epilog=LOGS_EXAMPLES)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new exchanges (Ctrl-C stops).")
@click.option("--session", help="Only this session's exchanges (its id).")
@click.option("-n", "count", type=click.IntRange(min=0), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--database", metavar="URL", help=DATABASE_HELP)
@WIDE_OPTION
@CONFIG_OPTION
def logs_command(
    follow: bool,
    session: str | None,
    count: int,
    as_json: bool,
    database: str | None,
    wide: bool,
    config_path: Path | None,
) -> None:
    """Recent exchanges, one line each: time, session, backend, model, status, tokens,
    cost, time to first byte, and why another backend answered."""
    if database is not None:
        _team_logs(database, config_path, follow, count, session, as_json, wide)
        return
    import sqlite3

    from hotswap.config.loading import load_config
    from hotswap.ledger import report, usage
    from hotswap.ledger.schema import SchemaError

    def show(entry: dict[str, Any]) -> None:
        click.echo(json.dumps(entry) if as_json else report.log_line(entry, shape))

    try:
        config = load_config(config_path)
        entries = usage.recent_entries(config, count, session)
        shape = report.log_layout(entries, width(wide))  # kept for the lines -f adds
        for entry in entries:
            show(entry)
        if not follow:
            if not entries and not as_json:
                click.echo("no exchanges recorded yet")
            return
        start = int(str(entries[-1]["id"])) if entries else (0 if count else None)
        for entry in usage.follow(config, session, start):
            show(entry)
            sys.stdout.flush()
    except KeyboardInterrupt:
        return
    except SchemaError as exc:
        fail(str(exc), NEWER_FIX)
    except HotswapError as exc:
        fail(str(exc), CONFIG_FIX)
    except (OSError, ValueError, sqlite3.Error) as exc:
        fail(str(exc), LEDGER_FIX)


def _team_logs(
    database: str, config_path: Path | None, follow: bool, count: int, session: str | None,
    as_json: bool, wide: bool,
) -> None:  # fmt: skip
    from hotswap.cli.team_ledger import print_logs

    if follow:
        fail("--follow reads this machine's ledger", "leave out --database, or repeat the command")
    try:
        print_logs(database, config_path, count, session, as_json, width(wide))
    except HotswapError as exc:
        fail(str(exc), CONFIG_FIX)

"""`hotswap gateway ...`: the team gateway and its keys (docs/gateway.md).

Every command takes --database (else $HOTSWAP_GATEWAY_DATABASE, else [gateway] database);
the gateway itself --listen and --redis likewise. psycopg and redis (the `gateway` extra)
are imported only once one of these commands runs.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from hotswap.cli.gateway_db import EXTRA_HINT, database_url, gateway_settings, with_db
from hotswap.cli.run import ERROR_FIX
from hotswap.config.loading import Config
from hotswap.errors import ConfigError, HotswapError

# `--by` on the gateway's ledger (gateway/report.BY's keys, spelled here so the command line
# does not import psycopg; tests/unit/test_team_by.py ties the two)
TEAM_BY = ("user", "backend", "model", "session", "route", "conversation", "agent")

_config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: $HOTSWAP_HOME/config.toml if it exists).",
)  # fmt: skip
_database_option = click.option(
    "--database", help="PostgreSQL URL (else $HOTSWAP_GATEWAY_DATABASE, [gateway] database)."
)


def _fail(exc: Exception) -> None:
    click.echo(f"Error: {exc}", err=True)
    click.echo(ERROR_FIX, err=True)
    sys.exit(2)


GATEWAY_EXAMPLES = """\b
Examples:
  hotswap gateway --listen 127.0.0.1:4000 --database postgresql:///hotswap --redis redis://localhost
  hotswap gateway --workers 4 --listen 0.0.0.0:4000   (Linux)
  hotswap gateway keys create alice --daily-usd 20
  hotswap gateway cost
"""


@click.group("gateway", invoke_without_command=True, epilog=GATEWAY_EXAMPLES)
@click.option("--listen", help="HOST:PORT (default 127.0.0.1:4000; else [gateway] listen).")
@_database_option
@click.option("--redis", "redis_url", help="Redis URL (else $HOTSWAP_GATEWAY_REDIS, [gateway]).")
@_config_option
@click.option("--log-level", default="INFO", show_default=True)
@click.option(
    "--workers", type=click.IntRange(1, 256), default=1, show_default=True,
    help="Processes sharing the port (Linux: SO_REUSEPORT), each a full gateway.",
)  # fmt: skip
@click.pass_context
def gateway_group(
    ctx: click.Context,
    listen: str | None,
    database: str | None,
    redis_url: str | None,
    config_path: Path | None,
    log_level: str,
    workers: int,
) -> None:
    """A team gateway: one shared router, users' keys, one ledger (PostgreSQL + Redis)."""
    if ctx.invoked_subcommand is not None:
        return
    from hotswap.config.gateway import parse_listen
    from hotswap.router.server import configure_logging

    configure_logging(log_level)
    try:
        config = gateway_settings(config_path, listen=listen, database=database, redis=redis_url)
        host, port = parse_listen(config.gateway.listen)
        redis = config.gateway.redis
        if not redis:
            raise ConfigError("no Redis: give --redis redis://..., or [gateway] redis")
        try:
            from hotswap.gateway.server import gateway_config, serve_gateway
        except ImportError:
            raise ConfigError(EXTRA_HINT) from None
        config = gateway_config(config, os.environ)
        if workers > 1:
            from hotswap.gateway.workers import serve_workers

            serve_workers(config, database_url(config), redis, host, port, workers)
        else:
            serve_gateway(config, database_url(config), redis, host, port)
    except (HotswapError, OSError, ValueError) as exc:
        _fail(exc)


@gateway_group.group("keys")
def keys_group() -> None:
    """Users' keys: create (printed once), list, revoke."""


@keys_group.command("create")
@click.argument("name")
@click.option("--daily-usd", type=click.FloatRange(0), help="Refuse (429) past this spend a day.")
@click.option("--backends", help="Comma-separated backends this user may use (default: all).")
@click.option("--then", "then", help="Past --daily-usd, send to this backend instead of a 429.")
@_database_option
@_config_option
def keys_create(
    name: str,
    daily_usd: float | None,
    backends: str | None,
    then: str | None,
    database: str | None,
    config_path: Path | None,
) -> None:
    """Create user NAME and print their key (shown this once only)."""
    try:
        config = gateway_settings(config_path, database=database)
        listed = _backends(config, backends)
        then_name = _then(config, then, daily_usd, listed)

        async def create(db: Any) -> str:
            from hotswap.gateway.keys import KeyStore

            return await KeyStore(db).create(name, daily_usd, listed, then_name)

        key = with_db(config, create)
    except (HotswapError, OSError) as exc:
        _fail(exc)
    click.echo(key)
    click.echo(f"(the key of '{name}': shown once; they set ANTHROPIC_AUTH_TOKEN to it)", err=True)


def _backends(config: Config, backends: str | None) -> tuple[str, ...]:
    listed = tuple(b.strip() for b in (backends or "").split(",") if b.strip())
    for b in listed:
        if config.resolve(b) is None:
            raise ConfigError(config.unknown_backend(b))
    return tuple(config.by_name[b.lower()] for b in listed)


def _then(
    config: Config, then: str | None, daily_usd: float | None, listed: tuple[str, ...]
) -> str | None:
    """--then's backend, by its name: only with a budget, and one the user may use."""
    if then is None:
        return None
    backend = config.resolve(then)
    if backend is None:
        raise ConfigError(config.unknown_backend(then) + " (--then)")
    if daily_usd is None:
        raise ConfigError("--then needs --daily-usd: it is where requests go past the budget")
    if listed and backend.name not in listed:
        raise ConfigError(f"--then {backend.name}: not one of --backends {','.join(listed)}")
    return backend.name


@keys_group.command("list")
@_database_option
@_config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def keys_list(database: str | None, config_path: Path | None, as_json: bool) -> None:
    """Every user: key's last 4 characters, created, revoked, budget (never a key)."""
    try:
        config = gateway_settings(config_path, database=database)

        async def listing(db: Any) -> list[dict[str, Any]]:
            from hotswap.gateway.keys import KeyStore

            return await KeyStore(db).list()

        rows = with_db(config, listing)
    except (HotswapError, OSError) as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        state = "revoked" if r["revoked"] is not None else "live"
        budget = f"${r['daily_usd']:.2f}/day" if r["daily_usd"] is not None else "no budget"
        if r["then"]:
            budget += f", then {r['then']}"
        allowed = r["backends"] or "all backends"
        click.echo(f"{r['name']}  hsk_…{r['key_hint']}  {state}  {budget}  {allowed}")


@keys_group.command("revoke")
@click.argument("name")
@_database_option
@_config_option
def keys_revoke(name: str, database: str | None, config_path: Path | None) -> None:
    """Revoke NAME's key: refused by every gateway instance within a second."""
    try:
        config = gateway_settings(config_path, database=database)

        async def revoke(db: Any) -> None:
            from hotswap.gateway.keys import KeyStore

            await KeyStore(db).revoke(name)

        with_db(config, revoke)
    except (HotswapError, OSError) as exc:
        _fail(exc)
    click.echo(f"revoked {name}'s key")


@gateway_group.command("cost")
@click.option("--by", type=click.Choice(TEAM_BY),
              default="user", show_default=True)  # fmt: skip
@click.option("--days", type=click.FloatRange(0), help="Only the last N days.")
@_database_option
@_config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def gateway_cost(
    by: str, days: float | None, database: str | None, config_path: Path | None, as_json: bool
) -> None:
    """What the team spent and saved, by user: `hotswap cost --database URL --by user`."""
    import time

    from hotswap.cli.output import width
    from hotswap.cli.team_ledger import print_cost

    since = time.time() - days * 86400 if days is not None else None
    try:
        print_cost(database, config_path, by, since, None, as_json, width())
    except (HotswapError, OSError) as exc:
        _fail(exc)

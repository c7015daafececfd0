"""The gateway's database, as every command that reads it opens it: --database, else
$HOTSWAP_GATEWAY_DATABASE, else [gateway] database; the schema brought up to date first.
psycopg is imported only once a command runs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from hotswap.config.loading import Config, load_config
from hotswap.errors import ConfigError

T = TypeVar("T")
EXTRA_HINT = "the gateway needs its extra: pip install 'hotswap[gateway]'"


def gateway_settings(config_path: Path | None, **flags: str | None) -> Config:
    config = load_config(config_path)
    return config._replace(gateway=config.gateway.overridden(**flags))


def database_url(config: Config) -> str:
    if not config.gateway.database:
        raise ConfigError(
            "no database: give --database postgresql://..., or set HOTSWAP_GATEWAY_DATABASE "
            "or [gateway] database in the config"
        )
    return config.gateway.database


def with_db(config: Config, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(db)` against the gateway's database (schema brought up to date first)."""
    try:
        from hotswap.gateway.database import Database
    except ImportError:
        raise ConfigError(EXTRA_HINT) from None

    async def main() -> T:
        db = Database(database_url(config))
        try:
            await db.migrate()
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(main())

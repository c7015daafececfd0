"""The `[gateway]` table and its environment variables: where a team gateway listens and
the two services it keeps its state in. Precedence: flags > environment > file.

    [gateway]
    listen = "127.0.0.1:4000"
    database = "postgresql://hotswap@db/hotswap"
    redis = "redis://cache:6379/0"
    default_backend = "deepseek"     # optional: else the config's default_backend
    budgets_when_redis_down = "open" # or "closed": users with a budget get a 503
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from hotswap.config.tables import check_type, fail, unknown_key

ENV = {
    "listen": "HOTSWAP_GATEWAY_LISTEN",
    "database": "HOTSWAP_GATEWAY_DATABASE",
    "redis": "HOTSWAP_GATEWAY_REDIS",
}
DEFAULT_LISTEN = "127.0.0.1:4000"
FAIL_MODES = ("open", "closed")


class GatewaySettings(NamedTuple):
    listen: str = DEFAULT_LISTEN
    database: str | None = None
    redis: str | None = None
    default_backend: str | None = None
    budgets_when_redis_down: str = "open"

    def overridden(self, **flags: str | None) -> GatewaySettings:
        """These settings with the command line's flags (those given) on top."""
        return self._replace(**{k: v for k, v in flags.items() if v})


def parse_gateway(path: Path, data: Any, environ: Mapping[str, str]) -> GatewaySettings:
    """The file's `[gateway]` table, then the environment's variables on top."""
    check_type(path, "gateway", data, dict)
    known = (*ENV, "default_backend", "budgets_when_redis_down")
    values: dict[str, str] = {}
    for key, value in data.items():
        if key not in known:
            raise unknown_key(path, "gateway", key, value, known)
        check_type(path, f"gateway.{key}", value, str)
        if key == "budgets_when_redis_down" and value not in FAIL_MODES:
            raise fail(path, f"gateway.{key}", value, 'expected "open" or "closed"')
        values[key] = value
    for key, var in ENV.items():
        if environ.get(var):
            values[key] = environ[var]
    return GatewaySettings(**values)


def parse_listen(value: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:4000` for IPv6) -> (host, port); ValueError naming the problem."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535 or not host:
        raise ValueError(f"--listen {value!r}: expected HOST:PORT, e.g. 127.0.0.1:4000")
    return host.strip("[]"), int(port)

"""Load hotswap's configuration: built-in presets, overridden by a TOML file, read once at start.

The only module that reads the process environment. Stdlib only (tomllib): the switch
commands load the config to know which backend names are valid. Each table of the file is
checked and typed in config_tables.py.

Precedence: command-line flag > environment > config file > built-in default.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from hotswap.config.backends import PRESETS, Backend
from hotswap.config.budgets import Budget, parse_budgets
from hotswap.config.gateway import GatewaySettings, parse_gateway
from hotswap.config.routes import Route, parse_routes
from hotswap.config.tables import MB as MB
from hotswap.config.tables import RouterSettings as RouterSettings
from hotswap.config.tables import (
    check_type,
    fail,
    nearest,
    parse_backend,
    parse_ledger,
    parse_prices,
    parse_router,
    unknown_key,
)
from hotswap.errors import ConfigError

if TYPE_CHECKING:
    from hotswap.config.prices import Price

DEFAULT_PORT = 3199
DEFAULT_BACKEND = "anthropic"


def proxy_env(environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The proxy variables, like urllib.request.getproxies_environment(): `<scheme>_proxy` and
    `no_proxy`, either case, the lower-case spelling winning."""
    found: dict[str, str] = {}
    for lower_only in (False, True):
        for name, value in environ.items():
            if lower_only and name != name.lower():
                continue
            key = name.lower()
            if key.endswith("_proxy") and value:
                found[key[: -len("_proxy")]] = value.strip()
    return tuple(sorted(found.items()))


def default_state_dir(environ: Mapping[str, str]) -> Path:
    """Where hotswap keeps its state: `HOTSWAP_HOME`, else the platform's user state dir.

    Mirrors platformdirs.user_state_dir("hotswap", appauthor=False) without importing it.
    """
    if environ.get("HOTSWAP_HOME"):
        return Path(environ["HOTSWAP_HOME"]).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        base = environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(base) / "hotswap"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "hotswap"
    xdg = environ.get("XDG_STATE_HOME", "")
    # Like platformdirs: a relative XDG_STATE_HOME is invalid per the XDG spec and ignored.
    return Path(xdg if os.path.isabs(xdg) else home / ".local" / "state") / "hotswap"


class KeyRing:
    """API keys read from the environment. Its repr names variables, never values."""

    def __init__(self, environ: Mapping[str, str], names: set[str]) -> None:
        self._keys = {n: environ[n] for n in names if environ.get(n)}

    def get(self, env_var: str) -> str | None:
        return self._keys.get(env_var)

    def secrets(self) -> tuple[str, ...]:
        """Every key's value: what a Redactor masks (redact.py)."""
        return tuple(self._keys.values())

    def __repr__(self) -> str:
        return f"KeyRing(set={sorted(self._keys)})"


class Config(NamedTuple):
    """Everything the router and the commands need, resolved once. (NamedTuples, not
    dataclasses, here and in backends.py: the switch commands start faster without.)"""

    state_dir: Path
    backends: dict[str, Backend]
    default_backend: str = DEFAULT_BACKEND
    router: RouterSettings = RouterSettings()
    respond_to_bash_commands: bool = False
    statusline: bool = True
    source: Path | None = None
    keys: KeyRing = KeyRing({}, set())
    by_name: Mapping[str, str] = {}  # names(), built once by load_config
    # [backends.NAME.prices."glob"]: per backend, (glob, price) pairs tried before the built-in
    prices: Mapping[str, tuple[tuple[str, Price], ...]] = {}
    ledger_retention_days: float | None = None  # [ledger] retention_days
    routes: tuple[Route, ...] = ()  # [[routes]], in order: first match wins (config/routes.py)
    gateway: GatewaySettings = GatewaySettings()  # [gateway] (config/gateway.py)
    configured: frozenset[str] = frozenset()  # the backends the config file names
    budgets: tuple[Budget, ...] = ()  # [budgets.NAME] (config/budgets.py)

    @property
    def global_mode_file(self) -> Path:
        return self.state_dir / "mode"

    @property
    def sessions_dir(self) -> Path:
        return self.state_dir / "sessions"

    def names(self) -> Mapping[str, str]:
        """Every accepted name and alias, lower-cased, mapped to its backend's name (built
        here only for a Config made by hand, as tests do)."""
        return self.by_name or _name_table(Path("<config>"), self.backends)

    def missing_keys(self) -> dict[str, str]:
        """Each backend whose key variable is unset where this runs: the variable's name
        (a router's status has it; a switch command warns with it)."""
        return {
            b.name: b.api_key_env
            for b in self.backends.values()
            if b.api_key_env and b.needs_key and self.keys.get(b.api_key_env) is None
        }

    def unknown_backend(self, name: str) -> str:
        """The one message for a backend name that is not known, listing the valid ones."""
        guess = nearest(name, self.names())
        hint = f" (did you mean '{guess}'?)" if guess else ""
        return f"unknown backend {name!r}{hint}; valid names: {', '.join(sorted(self.names()))}"

    def unknown_backend_error(self, name: str) -> ConfigError:
        fix = "`hotswap backends` lists each backend with its key and models; a backend of "
        fix += f"your own is a [backends.NAME] table in {self.source or 'config.toml'}"
        return ConfigError(self.unknown_backend(name), fix)

    def resolve(self, name: str) -> Backend | None:
        canonical = self.names().get(name.strip().lower())
        return self.backends.get(canonical) if canonical else None


MAX_CONFIG_BYTES = 1024 * 1024  # a config is a few KB; past this it is not one


def read_config_file(path: Path) -> dict[str, Any]:
    """The TOML file at `path`: a regular file (a FIFO or /dev/zero linked in its place
    would hang or fill memory), at most MAX_CONFIG_BYTES, UTF-8. Errors are one line."""
    import tomllib  # only when a config file exists: the switch commands start faster without

    try:
        text = _read_text(path)
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = str(exc).rpartition("(at ")[2].rstrip(")") if "(at " in str(exc) else "here"
        fix = f"fix the TOML syntax {'at ' + where if where != 'here' else ''} in {path}"
        raise ConfigError(f"{path}: not valid TOML: {exc}", " ".join(fix.split())) from None
    except UnicodeDecodeError as exc:
        fix = f"save {path} as UTF-8"
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})", fix) from None
    except FileNotFoundError:
        fix = f"`hotswap config init --config {path}` writes a starter config there, or name "
        fix += "another file (--config, HOTSWAP_CONFIG)"
        raise ConfigError(f"{path}: no such config file", fix) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from None


def _read_text(path: Path) -> str:
    """Opened without blocking (a FIFO with no writer), then checked to be a regular file."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError(f"{path}: not a regular file")
        data = os.read(fd, MAX_CONFIG_BYTES + 1)
        while len(data) <= MAX_CONFIG_BYTES and (more := os.read(fd, MAX_CONFIG_BYTES)):
            data += more
    finally:
        os.close(fd)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB; not a config")
    return data.decode("utf-8")


def _name_table(path: Path, backends: dict[str, Backend]) -> dict[str, str]:
    """Every name and alias, lower-cased, to its backend's name. A name or alias means one
    backend: a clash would silently route to the other one."""
    owners: dict[str, str] = {}
    for b in backends.values():
        for i, name in enumerate((b.name, *b.aliases)):
            owner = owners.setdefault(name.lower(), b.name)
            if owner != b.name:
                key = f"backends.{b.name}" + (".aliases" if i else "")
                raise fail(path, key, name, f"already names backend '{owner}'")
    return owners


def _check_references(path: Path, cfg: Config) -> None:
    names = cfg.names()
    if cfg.default_backend.lower() not in names:
        guess = nearest(cfg.default_backend, names)
        hint = f"; did you mean '{guess}'?" if guess else ""
        why = f"no backend of that name{hint} (`hotswap backends` lists them)"
        raise fail(path, "default_backend", cfg.default_backend, why)
    for b in cfg.backends.values():
        for target in b.fallback:
            if target.lower() not in names:
                raise fail(path, f"backends.{b.name}.fallback", target, "no such backend")
            if names[target.lower()] == b.name:
                why = "a backend cannot fall back to itself"
                raise fail(path, f"backends.{b.name}.fallback", target, why)


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Presets, then `path` (or $HOTSWAP_HOME/config.toml if it exists) on top."""
    env = os.environ if environ is None else environ
    state_dir = default_state_dir(env)
    explicit = path is not None or bool(env.get("HOTSWAP_CONFIG"))
    cfg_path = Path(path or env.get("HOTSWAP_CONFIG") or state_dir / "config.toml")
    data = read_config_file(cfg_path) if explicit or cfg_path.exists() else {}
    backends = dict(PRESETS)
    raw_backends = data.get("backends", {})
    check_type(cfg_path, "backends", raw_backends, dict)
    for name, raw in raw_backends.items():
        backends[name] = parse_backend(cfg_path, name, raw, backends.get(name))
    known = {"default_backend", "backends", "router", "respond_to_bash_commands", "statusline"}
    known.update(("ledger", "routes", "gateway", "budgets"))
    for key in data:
        if key not in known:
            raise unknown_key(cfg_path, "", key, data[key], known)
    default = data.get("default_backend", DEFAULT_BACKEND)
    check_type(cfg_path, "default_backend", default, str)
    respond = data.get("respond_to_bash_commands", False)
    check_type(cfg_path, "respond_to_bash_commands", respond, bool)
    statusline = data.get("statusline", True)
    check_type(cfg_path, "statusline", statusline, bool)
    key_names = {b.api_key_env for b in backends.values() if b.api_key_env}
    cfg = Config(
        state_dir=state_dir,
        backends=backends,
        default_backend=default,
        router=parse_router(cfg_path, data.get("router", {}))._replace(proxies=proxy_env(env)),
        respond_to_bash_commands=respond,
        statusline=statusline,
        source=cfg_path if data else None,
        keys=KeyRing(env, key_names),
        by_name=_name_table(cfg_path, backends),
        prices={
            name: parse_prices(cfg_path, name, raw["prices"])
            for name, raw in raw_backends.items()
            if "prices" in raw
        },
        ledger_retention_days=parse_ledger(cfg_path, data.get("ledger", {})),
        gateway=parse_gateway(cfg_path, data.get("gateway", {}), env),
        configured=frozenset(raw_backends),
    )
    _check_references(cfg_path, cfg)
    if "routes" in data:
        routes = parse_routes(cfg_path, data["routes"], cfg.backends, cfg.names())
        cfg = cfg._replace(routes=routes)
    if "budgets" in data:
        cfg = cfg._replace(budgets=parse_budgets(cfg_path, data["budgets"], cfg.names()))
    canonical = cfg.names()[default.lower()]
    return cfg._replace(default_backend=canonical)

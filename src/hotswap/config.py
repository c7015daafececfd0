"""Load hotswap's configuration: built-in presets, overridden by a TOML file, read once at start.

The only module that reads the process environment. Stdlib only (tomllib): the switch
commands load the config to know which backend names are valid.

Precedence: command-line flag > environment > config file > built-in default.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from hotswap.backends import AUTH_KINDS, PRESETS, QUIRK_TYPES, WIRES, Backend, Quirks
from hotswap.errors import ConfigError

if TYPE_CHECKING:
    from hotswap.prices import Price

DEFAULT_PORT = 3199
DEFAULT_BACKEND = "anthropic"
MB = 1024 * 1024


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

    def __repr__(self) -> str:
        return f"KeyRing(set={sorted(self._keys)})"


class RouterSettings(NamedTuple):
    """Limits and timeouts of the router."""

    max_body_bytes: int = 32 * MB
    cache_bytes: int = 32 * MB  # the body caches' budget (body/caches.py)
    connect_timeout_s: float = 10.0
    first_byte_timeout_s: float = 120.0
    idle_timeout_s: float = 300.0
    fallback: bool = True
    transient_fallback: bool = False  # a transient fault may go to another backend
    breaker_failures: int = 5
    breaker_cooldown_s: float = 30.0
    # Inbound: what a client connection may take (inbound.py) and how a router stops.
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0  # plus 1 s per MB of body
    keepalive_timeout_s: float = 60.0
    max_connections: int = 128
    shutdown_grace_s: float = 3.0
    # From HTTP(S)_PROXY / ALL_PROXY / NO_PROXY (not the config file): (scheme, value) pairs,
    # "no" for NO_PROXY. The upstream client resolves them once per backend.
    proxies: tuple[tuple[str, str], ...] = ()


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

    def unknown_backend(self, name: str) -> str:
        """The one message for a backend name that is not known, listing the valid ones."""
        return f"unknown backend {name!r}; valid names: {', '.join(sorted(self.names()))}"

    def resolve(self, name: str) -> Backend | None:
        canonical = self.names().get(name.strip().lower())
        return self.backends.get(canonical) if canonical else None


_BACKEND_KEYS = {
    "base_url",
    "auth",
    "api_key_env",
    "aliases",
    "models",
    "fallback",
    "transient_fallback",
    "wire",
    "kind",  # the former name of `wire`
    "quirks",
    "default_model",
    "deployment",
    "api_version",
    "prices",  # read by _parse_prices: it is the ledger's, not the Backend's
}
_STRING_KEYS = (
    "base_url",
    "auth",
    "api_key_env",
    "wire",
    "default_model",
    "deployment",
    "api_version",
)
_ROUTER_KEYS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "max_body_mb": ("max_body_bytes", lambda v: int(float(v) * MB)),
    "cache_mb": ("cache_bytes", lambda v: int(float(v) * MB)),
    "connect_timeout_s": ("connect_timeout_s", float),
    "first_byte_timeout_s": ("first_byte_timeout_s", float),
    "idle_timeout_s": ("idle_timeout_s", float),
    "fallback": ("fallback", bool),
    "transient_fallback": ("transient_fallback", bool),
    "breaker_failures": ("breaker_failures", int),
    "breaker_cooldown_s": ("breaker_cooldown_s", float),
    "header_timeout_s": ("header_timeout_s", float),
    "body_timeout_s": ("body_timeout_s", float),
    "keepalive_timeout_s": ("keepalive_timeout_s", float),
    "max_connections": ("max_connections", int),
    "shutdown_grace_s": ("shutdown_grace_s", float),
}


def _fail(path: Path, key: str, value: Any, why: str) -> ConfigError:
    return ConfigError(f"{path}: invalid value for '{key}': {value!r} ({why})")


def _check_type(path: Path, key: str, value: Any, kind: type | tuple[type, ...]) -> None:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in kinds):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise _fail(path, key, value, f"expected {names}")


def _parse_backend(path: Path, name: str, data: Any, base: Backend | None) -> Backend:
    where = f"backends.{name}"
    _check_type(path, where, data, dict)
    unknown = set(data) - _BACKEND_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise _fail(
            path, f"{where}.{key}", data[key], f"unknown key; known: {sorted(_BACKEND_KEYS)}"
        )
    values: dict[str, Any] = {}
    if "kind" in data and "wire" not in data:
        data = {**data, "wire": data["kind"]}
    if "api_key_env" in data:
        values["api_key_env"] = _parse_key_env(path, where, data["api_key_env"])
    for key in _STRING_KEYS:
        if key == "api_key_env":
            continue
        if key in data:
            _check_type(path, f"{where}.{key}", data[key], str)
            values[key] = data[key]
    for key in ("aliases", "fallback"):
        if key in data:
            _check_list_of_str(path, f"{where}.{key}", data[key])
            values[key] = tuple(data[key])
    if "transient_fallback" in data:
        _check_type(path, f"{where}.transient_fallback", data["transient_fallback"], bool)
        values["transient_fallback"] = data["transient_fallback"]
    if "models" in data:
        _check_type(path, f"{where}.models", data["models"], dict)
        for pattern, target in data["models"].items():
            _check_type(path, f"{where}.models.{pattern}", target, str)
        values["models"] = tuple(data["models"].items())
    if "quirks" in data:
        values["quirks"] = _parse_quirks(
            path, f"{where}.quirks", data["quirks"], base.quirks if base else None
        )
    backend = base._replace(**values) if base else _new_backend(path, name, values)
    _validate_backend(path, backend)
    return backend


def _parse_key_env(path: Path, where: str, value: Any) -> str:
    """An environment variable's name. Never echoed: what is written here instead of a
    name is often the key itself, pasted into the wrong place."""
    if isinstance(value, str) and _is_variable_name(value):
        return value
    raise ConfigError(
        f"{path}: {where}.api_key_env must be an environment variable name such as "
        "MOONSHOT_API_KEY (letters, digits and underscores; the value given is not shown: "
        "it may be a key)"
    )


def _is_variable_name(name: str) -> bool:
    """[A-Za-z_][A-Za-z0-9_]* (no `re`: the switch commands load the config)."""
    return (
        name.isascii()
        and (name[:1].isalpha() or name[:1] == "_")
        and name.replace("_", "a").isalnum()
    )


def _check_list_of_str(path: Path, key: str, value: Any) -> None:
    _check_type(path, key, value, list)
    for item in value:
        _check_type(path, key, item, str)


def _parse_quirks(path: Path, where: str, data: Any, base: Quirks | None) -> Quirks:
    """Each quirk checked against its TOML type: a string where a list belongs would
    otherwise become a tuple of characters, a string cap would fail only at request time.
    Keys not named keep the preset's value: overriding one quirk must not reset the rest."""
    _check_type(path, where, data, dict)
    for key, value in data.items():
        if key not in QUIRK_TYPES:
            known = sorted(QUIRK_TYPES)
            raise _fail(path, f"{where}.{key}", value, f"unknown key; known: {known}")
        if QUIRK_TYPES[key] is list:
            _check_list_of_str(path, f"{where}.{key}", value)
        else:
            _check_type(path, f"{where}.{key}", value, QUIRK_TYPES[key])
    try:
        return Quirks.from_mapping(data, base)
    except TypeError as exc:  # a string quirk outside its vocabulary
        raise _fail(path, where, data, str(exc)) from None


def _new_backend(path: Path, name: str, values: dict[str, Any]) -> Backend:
    if "base_url" not in values:
        raise _fail(path, f"backends.{name}.base_url", None, "required for a new backend")
    return Backend(name=name, **values)


def _validate_backend(path: Path, b: Backend) -> None:
    where = f"backends.{b.name}"
    if not b.base_url.startswith(("http://", "https://")):
        raise _fail(path, f"{where}.base_url", b.base_url, "must start with http:// or https://")
    if b.auth not in AUTH_KINDS:
        raise _fail(path, f"{where}.auth", b.auth, f"one of {', '.join(AUTH_KINDS)}")
    if b.wire not in WIRES:
        raise _fail(path, f"{where}.wire", b.wire, f"one of {', '.join(WIRES)}")
    if b.default_model is not None and not b.default_model.strip():
        raise _fail(path, f"{where}.default_model", b.default_model, "must not be empty")
    if b.needs_key and not b.api_key_env:
        raise _fail(path, f"{where}.api_key_env", None, f"required with auth = '{b.auth}'")


def _parse_prices(path: Path, name: str, data: Any) -> tuple[tuple[str, Price], ...]:
    from hotswap.prices import parse_price  # lazy: only a config with prices needs it

    _check_type(path, f"backends.{name}.prices", data, dict)
    rows = []
    for pattern, table in data.items():
        where = f"backends.{name}.prices.{pattern}"
        _check_type(path, where, table, dict)
        try:
            rows.append((pattern, parse_price(table)))
        except ValueError as exc:
            raise _fail(path, where, table, str(exc)) from None
    return tuple(rows)


def _parse_ledger(path: Path, data: Any) -> float | None:
    _check_type(path, "ledger", data, dict)
    for key, value in data.items():
        if key != "retention_days":
            raise _fail(path, f"ledger.{key}", value, "unknown key; known: ['retention_days']")
        _check_type(path, "ledger.retention_days", value, (int, float))
        if value <= 0:
            raise _fail(path, "ledger.retention_days", value, "must be positive")
        return float(value)
    return None


def _parse_router(path: Path, data: Any) -> RouterSettings:
    _check_type(path, "router", data, dict)
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _ROUTER_KEYS:
            raise _fail(path, f"router.{key}", value, f"unknown key; known: {sorted(_ROUTER_KEYS)}")
        attr, convert = _ROUTER_KEYS[key]
        _check_type(path, f"router.{key}", value, bool if convert is bool else (int, float))
        if convert is not bool and value <= 0:
            raise _fail(path, f"router.{key}", value, "must be positive")
        values[attr] = convert(value)
    return RouterSettings(**values)


def read_config_file(path: Path) -> dict[str, Any]:
    import tomllib  # only when a config file exists: the switch commands start faster without

    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from None


def _name_table(path: Path, backends: dict[str, Backend]) -> dict[str, str]:
    """Every name and alias, lower-cased, to its backend's name. A name or alias means one
    backend: a clash would silently route to the other one."""
    owners: dict[str, str] = {}
    for b in backends.values():
        for i, name in enumerate((b.name, *b.aliases)):
            owner = owners.setdefault(name.lower(), b.name)
            if owner != b.name:
                key = f"backends.{b.name}" + (".aliases" if i else "")
                raise _fail(path, key, name, f"already names backend '{owner}'")
    return owners


def _check_references(path: Path, cfg: Config) -> None:
    names = cfg.names()
    if cfg.default_backend.lower() not in names:
        raise _fail(path, "default_backend", cfg.default_backend, f"known: {sorted(names)}")
    for b in cfg.backends.values():
        for target in b.fallback:
            if target.lower() not in names:
                raise _fail(path, f"backends.{b.name}.fallback", target, "no such backend")
            if names[target.lower()] == b.name:
                why = "a backend cannot fall back to itself"
                raise _fail(path, f"backends.{b.name}.fallback", target, why)


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Presets, then `path` (or $HOTSWAP_HOME/config.toml if it exists) on top."""
    env = os.environ if environ is None else environ
    state_dir = default_state_dir(env)
    explicit = path is not None or bool(env.get("HOTSWAP_CONFIG"))
    cfg_path = Path(path or env.get("HOTSWAP_CONFIG") or state_dir / "config.toml")
    data = read_config_file(cfg_path) if explicit or cfg_path.exists() else {}
    backends = dict(PRESETS)
    raw_backends = data.get("backends", {})
    _check_type(cfg_path, "backends", raw_backends, dict)
    for name, raw in raw_backends.items():
        backends[name] = _parse_backend(cfg_path, name, raw, backends.get(name))
    known = {"default_backend", "backends", "router", "respond_to_bash_commands", "statusline"}
    known.add("ledger")
    for key in data:
        if key not in known:
            raise _fail(cfg_path, key, data[key], f"unknown key; known: {sorted(known)}")
    default = data.get("default_backend", DEFAULT_BACKEND)
    _check_type(cfg_path, "default_backend", default, str)
    respond = data.get("respond_to_bash_commands", False)
    _check_type(cfg_path, "respond_to_bash_commands", respond, bool)
    statusline = data.get("statusline", True)
    _check_type(cfg_path, "statusline", statusline, bool)
    key_names = {b.api_key_env for b in backends.values() if b.api_key_env}
    cfg = Config(
        state_dir=state_dir,
        backends=backends,
        default_backend=default,
        router=_parse_router(cfg_path, data.get("router", {}))._replace(proxies=proxy_env(env)),
        respond_to_bash_commands=respond,
        statusline=statusline,
        source=cfg_path if data else None,
        keys=KeyRing(env, key_names),
        by_name=_name_table(cfg_path, backends),
        prices={
            name: _parse_prices(cfg_path, name, raw["prices"])
            for name, raw in raw_backends.items()
            if "prices" in raw
        },
        ledger_retention_days=_parse_ledger(cfg_path, data.get("ledger", {})),
    )
    _check_references(cfg_path, cfg)
    canonical = cfg.names()[default.lower()]
    return cfg._replace(default_backend=canonical)

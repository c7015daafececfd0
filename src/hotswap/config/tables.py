"""The config file's tables, one at a time: checked against their keys and TOML types, and
turned into frozen data (Backend, Quirks, RouterSettings, prices). Every error names the
file, the key and the value -- never a key's value where a variable name belongs.

Stdlib only, like config.py, which assembles these into a Config.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from hotswap.config.backends import AUTH_KINDS, QUIRK_TYPES, WIRES, Backend, Quirks
from hotswap.config.prices import Price, parse_price
from hotswap.errors import ConfigError

MB = 1024 * 1024


class RouterSettings(NamedTuple):
    """Limits and timeouts of the router."""

    max_body_bytes: int = 32 * MB
    cache_bytes: int = 32 * MB  # the body caches' budget (body/caches.py)
    body_budget_bytes: int = 256 * MB  # request bodies in flight, decoded (router/intake.py)
    body_wait_s: float = 20.0  # how long a request waits for that budget before a 529
    connect_timeout_s: float = 10.0
    first_byte_timeout_s: float = 120.0
    idle_timeout_s: float = 300.0
    # A committed stream silent this long (up to twice this) gets an Anthropic `ping`
    # event, so that Claude Code's own stream idle timer (300 s) never fires on a slow
    # thinker (router/relay.py).
    ping_interval_s: float = 15.0
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
    # How often a router re-reads the shared ledger for other sessions' spend on the
    # backends with a budget (config/budgets.py, ledger/budgets.py).
    budget_refresh_s: float = 5.0
    # From HTTP(S)_PROXY / ALL_PROXY / NO_PROXY (not the config file): (scheme, value) pairs,
    # "no" for NO_PROXY. The upstream client resolves them once per backend.
    proxies: tuple[tuple[str, str], ...] = ()


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
    "context_tokens",
    "context_tokens_by_model",
}
MAX_CONTEXT_TOKENS = 100_000_000
_STRING_KEYS = (
    "base_url",
    "auth",
    "api_key_env",
    "wire",
    "default_model",
    "deployment",
    "api_version",
)
DAY_S = 86400.0
# key -> (RouterSettings field, conversion, the largest value accepted). Numbers are checked
# before they are converted: TOML reads 1e400 as inf, which int() cannot take.
ROUTER_KEYS: dict[str, tuple[str, Callable[[Any], Any], float]] = {
    "max_body_mb": ("max_body_bytes", lambda v: int(float(v) * MB), 4096),
    "cache_mb": ("cache_bytes", lambda v: int(float(v) * MB), 65536),
    "body_budget_mb": ("body_budget_bytes", lambda v: int(float(v) * MB), 1_048_576),
    "body_wait_s": ("body_wait_s", float, 3600),
    "connect_timeout_s": ("connect_timeout_s", float, DAY_S),
    "first_byte_timeout_s": ("first_byte_timeout_s", float, DAY_S),
    "idle_timeout_s": ("idle_timeout_s", float, DAY_S),
    "ping_interval_s": ("ping_interval_s", float, DAY_S),
    "fallback": ("fallback", bool, 1),
    "transient_fallback": ("transient_fallback", bool, 1),
    "breaker_failures": ("breaker_failures", int, 1_000_000),
    "breaker_cooldown_s": ("breaker_cooldown_s", float, DAY_S),
    "header_timeout_s": ("header_timeout_s", float, DAY_S),
    "body_timeout_s": ("body_timeout_s", float, DAY_S),
    "keepalive_timeout_s": ("keepalive_timeout_s", float, DAY_S),
    "max_connections": ("max_connections", int, 1_000_000),
    "shutdown_grace_s": ("shutdown_grace_s", float, 3600),
    "budget_refresh_s": ("budget_refresh_s", float, 3600),
}
MAX_RETENTION_DAYS = 36500


def fail(path: Path, key: str, value: Any, why: str) -> ConfigError:
    """One line, whatever the key holds (a quoted TOML key may hold a newline)."""
    shown = _shown(key)
    text = repr(value)
    if len(text) > 200:
        text = text[:200] + "..."
    return ConfigError(f"{path}: invalid value for '{shown}': {text} ({why})", _edit_fix(path))


def _shown(key: str) -> str:
    return key if key.isprintable() else repr(key)[1:-1]


def _edit_fix(path: Path) -> str:
    return f"edit {path} (the key and value are named above); `hotswap config validate` rechecks"


def nearest(word: str, choices: Any) -> str | None:
    """The valid spelling closest to `word`, if one is close (a typo, a missing `_s`)."""
    import difflib  # only on an error: the switch commands load the config

    found = difflib.get_close_matches(word.lower(), sorted(choices), n=1, cutoff=0.7)
    return found[0] if found else None


def unknown_key(path: Path, where: str, key: str, value: Any, known: Any) -> ConfigError:
    """`unknown key 'router.first_byte_timeout' (did you mean 'first_byte_timeout_s'?)`,
    the valid keys listed as words, never as a Python list."""
    full = f"{where}.{key}" if where else key
    guess = nearest(key, known)
    hint = f"; did you mean '{guess}'?" if guess else ""
    text = f"{path}: unknown key '{_shown(full)}' = {repr(value)[:80]}{hint}"
    where_word = f"in [{where}]" if where else "at the top level"
    text += f" (the keys {where_word}: {', '.join(sorted(known))})"
    fix = f"rename it to '{guess}' in {path}" if guess else _edit_fix(path)
    return ConfigError(text, fix)


def check_number(path: Path, key: str, value: Any, most: float) -> None:
    """A TOML int or float, more than 0 and at most `most` (never inf or nan)."""
    check_type(path, key, value, (int, float))
    if not 0 < value <= most:  # false for nan too
        raise fail(path, key, value, f"must be more than 0 and at most {most:g}")


def check_name(path: Path, key: str, name: Any) -> None:
    """A backend name or alias: letters, digits, '-', '_' and '.' (a mode file holds
    `NAME [MODEL]`, a command line takes it as one word)."""
    check_type(path, key, name, str)
    if not (name and len(name) <= 64 and name.isascii() and _plain(name).isalnum()):
        raise fail(path, key, name, "a backend name is letters, digits, '-', '_' and '.'")


def _plain(name: str) -> str:
    return name.replace("-", "a").replace("_", "a").replace(".", "a")


def check_type(path: Path, key: str, value: Any, kind: type | tuple[type, ...]) -> None:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in kinds):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise fail(path, key, value, f"expected {names}")


def parse_backend(path: Path, name: str, data: Any, base: Backend | None) -> Backend:
    where = f"backends.{name}"
    check_type(path, where, data, dict)
    unknown = set(data) - _BACKEND_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise unknown_key(path, where, key, data[key], _BACKEND_KEYS)
    values: dict[str, Any] = {}
    check_name(path, where, name)
    if "kind" in data and "wire" not in data:
        data = {**data, "wire": data["kind"]}
    if "api_key_env" in data:
        values["api_key_env"] = _parse_key_env(path, where, data["api_key_env"])
    for key in _STRING_KEYS:
        if key == "api_key_env":
            continue
        if key in data:
            check_type(path, f"{where}.{key}", data[key], str)
            values[key] = data[key]
    for key in ("aliases", "fallback"):
        if key in data:
            values[key] = _names(path, f"{where}.{key}", data[key], key == "aliases")
    if "transient_fallback" in data:
        check_type(path, f"{where}.transient_fallback", data["transient_fallback"], bool)
        values["transient_fallback"] = data["transient_fallback"]
    if "models" in data:
        check_type(path, f"{where}.models", data["models"], dict)
        for pattern, target in data["models"].items():
            check_type(path, f"{where}.models.{pattern}", target, str)
        values["models"] = tuple(data["models"].items())
    values.update(_parse_windows(path, where, data))
    if "quirks" in data:
        values["quirks"] = _parse_quirks(
            path, f"{where}.quirks", data["quirks"], base.quirks if base else None
        )
    backend = base._replace(**values) if base else _new_backend(path, name, values)
    _validate_backend(path, backend)
    return backend


def _parse_windows(path: Path, where: str, data: dict[str, Any]) -> dict[str, Any]:
    """`context_tokens = 128000` and `[backends.NAME.context_tokens_by_model]` with
    `"glob" = tokens`: whole numbers of tokens (config/windows.py)."""
    values: dict[str, Any] = {}
    if "context_tokens" in data:
        values["context_tokens"] = _tokens(path, f"{where}.context_tokens", data["context_tokens"])
    if "context_tokens_by_model" in data:
        key = f"{where}.context_tokens_by_model"
        check_type(path, key, data["context_tokens_by_model"], dict)
        values["context_tokens_by_model"] = tuple(
            (glob, _tokens(path, f"{key}.{glob}", tokens))
            for glob, tokens in data["context_tokens_by_model"].items()
        )
    return values


def _tokens(path: Path, key: str, value: Any) -> int:
    check_type(path, key, value, int)
    check_number(path, key, value, MAX_CONTEXT_TOKENS)
    return int(value)


def _parse_key_env(path: Path, where: str, value: Any) -> str:
    """An environment variable's name. Never echoed: what is written here instead of a
    name is often the key itself, pasted into the wrong place -- and a key made only of
    letters, digits and `_` (Groq's `gsk_...`) is a valid name, so it is looked at too."""
    if isinstance(value, str) and looks_like_key(value):
        raise ConfigError(
            f"{path}: {where}.api_key_env looks like a key, not a variable name; put the key "
            "in the environment and name the variable here (such as MOONSHOT_API_KEY; the "
            "value given is not shown)"
        )
    if isinstance(value, str) and _is_variable_name(value):
        return value
    raise ConfigError(
        f"{path}: {where}.api_key_env must be an environment variable name such as "
        "MOONSHOT_API_KEY (letters, digits and underscores; the value given is not shown: "
        "it may be a key)"
    )


# How providers' keys begin (`sk-ant-`, `sk-or-`... start with `sk-`).
KEY_PREFIXES = ("sk-", "sk_", "gsk_", "xai-", "AIza", "fw_", "csk-", "nvapi-", "pplx-", "hf_")
KEY_PREFIXED_MIN_LEN = 20  # a prefixed name shorter than this is still taken as a name
MAX_NAME_LEN = 40  # longer than any variable name people write
MIN_RANDOM_PART_LEN = 16  # a run of letters and digits this long is a key's random part
MIN_MIXED_PART_LEN = 10  # ... or this long, mixing lower case, upper case and 2+ digits


def looks_like_key(value: str) -> bool:
    """True for what is a key rather than a variable's name: a provider's key prefix,
    more than MAX_NAME_LEN characters, or a part (between `_` and `-`) of letters and
    digits that mixes lower case, upper case and digits (`Q7rT9vX2`) or is long.
    `DEEPSEEK_API_KEY`, `MY_KEY_2`, `openai_key`, `MyApiKey2` are names."""
    if len(value) > MAX_NAME_LEN:
        return True
    if value.startswith(KEY_PREFIXES) and len(value) >= KEY_PREFIXED_MIN_LEN:
        return True
    return any(_random_part(part) for part in value.replace("-", "_").split("_"))


def _random_part(part: str) -> bool:
    digits = sum(c.isdigit() for c in part)
    if not digits or not any(c.isalpha() for c in part):
        return False
    if len(part) >= MIN_RANDOM_PART_LEN:
        return True
    mixed_case = any(c.islower() for c in part) and any(c.isupper() for c in part)
    return mixed_case and digits >= 2 and len(part) >= MIN_MIXED_PART_LEN


def _is_variable_name(name: str) -> bool:
    """[A-Za-z_][A-Za-z0-9_]* (no `re`: the switch commands load the config)."""
    return (
        name.isascii()
        and (name[:1].isalpha() or name[:1] == "_")
        and name.replace("_", "a").isalnum()
    )


def _names(path: Path, key: str, value: Any, new: bool) -> tuple[str, ...]:
    """A list of backend names; `new` (aliases): each one follows the name rule too."""
    _check_list_of_str(path, key, value)
    for name in value if new else ():
        check_name(path, key, name)
    return tuple(value)


def _check_list_of_str(path: Path, key: str, value: Any) -> None:
    check_type(path, key, value, list)
    for item in value:
        check_type(path, key, item, str)


def _parse_quirks(path: Path, where: str, data: Any, base: Quirks | None) -> Quirks:
    """Each quirk checked against its TOML type: a string where a list belongs would
    otherwise become a tuple of characters, a string cap would fail only at request time.
    Keys not named keep the preset's value: overriding one quirk must not reset the rest."""
    check_type(path, where, data, dict)
    for key, value in data.items():
        if key not in QUIRK_TYPES:
            raise unknown_key(path, where, key, value, QUIRK_TYPES)
        if QUIRK_TYPES[key] is list:
            _check_list_of_str(path, f"{where}.{key}", value)
        else:
            check_type(path, f"{where}.{key}", value, QUIRK_TYPES[key])
    try:
        return Quirks.from_mapping(data, base)
    except TypeError as exc:  # a string quirk outside its vocabulary
        raise fail(path, where, data, str(exc)) from None


def _new_backend(path: Path, name: str, values: dict[str, Any]) -> Backend:
    if "base_url" not in values:
        raise fail(path, f"backends.{name}.base_url", None, "required for a new backend")
    return Backend(name=name, **values)


def _validate_backend(path: Path, b: Backend) -> None:
    where = f"backends.{b.name}"
    if not b.base_url.startswith(("http://", "https://")):
        raise fail(path, f"{where}.base_url", b.base_url, "must start with http:// or https://")
    if b.auth not in AUTH_KINDS:
        raise fail(path, f"{where}.auth", b.auth, f"one of {', '.join(AUTH_KINDS)}")
    if b.wire not in WIRES:
        raise fail(path, f"{where}.wire", b.wire, f"one of {', '.join(WIRES)}")
    if b.default_model is not None and not b.default_model.strip():
        raise fail(path, f"{where}.default_model", b.default_model, "must not be empty")
    if b.needs_key and not b.api_key_env:
        raise fail(path, f"{where}.api_key_env", None, f"required with auth = '{b.auth}'")


def parse_prices(path: Path, name: str, data: Any) -> tuple[tuple[str, Price], ...]:

    check_type(path, f"backends.{name}.prices", data, dict)
    rows = []
    for pattern, table in data.items():
        where = f"backends.{name}.prices.{pattern}"
        check_type(path, where, table, dict)
        try:
            rows.append((pattern, parse_price(table)))
        except ValueError as exc:
            raise fail(path, where, table, str(exc)) from None
    return tuple(rows)


def parse_ledger(path: Path, data: Any) -> float | None:
    check_type(path, "ledger", data, dict)
    for key, value in data.items():
        if key != "retention_days":
            raise unknown_key(path, "ledger", key, value, ("retention_days",))
        check_number(path, "ledger.retention_days", value, MAX_RETENTION_DAYS)
        return float(value)
    return None


def parse_router(path: Path, data: Any) -> RouterSettings:
    check_type(path, "router", data, dict)
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in ROUTER_KEYS:
            raise unknown_key(path, "router", key, value, ROUTER_KEYS)
        attr, convert, most = ROUTER_KEYS[key]
        if convert is bool:
            check_type(path, f"router.{key}", value, bool)
        else:
            check_number(path, f"router.{key}", value, most)
        values[attr] = convert(value)
    return RouterSettings(**values)

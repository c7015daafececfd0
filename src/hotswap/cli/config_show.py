"""The effective config with where each value came from: `default` (built in), `preset`
(a built-in backend), `file` (the config file), `environment` (keys, proxies).

Computed by comparing the presets with the raw TOML; config.py's loader is not touched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from hotswap.config.backends import PRESETS, Backend
from hotswap.config.budgets import Budget
from hotswap.config.credentials import credential
from hotswap.config.gateway import ENV as GATEWAY_ENV
from hotswap.config.gateway import GatewaySettings
from hotswap.config.loading import MB, Config, default_state_dir, read_config_file
from hotswap.config.routes import Route
from hotswap.config.tables import ROUTER_KEYS
from hotswap.redact import mask

_BACKEND_FIELDS = (
    "base_url",
    "auth",
    "api_key_env",
    "aliases",
    "models",
    "fallback",
    "wire",
    "default_model",
)
_TOP = ("default_backend", "respond_to_bash_commands", "statusline")


class Location(NamedTuple):
    path: Path
    why: str  # how that path was chosen
    exists: bool


def config_location(path: Path | None, environ: Mapping[str, str]) -> Location:
    """Where load_config reads the config from, and why (same precedence)."""
    if path is not None:
        return Location(path, "--config", path.exists())
    if environ.get("HOTSWAP_CONFIG"):
        chosen = Path(environ["HOTSWAP_CONFIG"])
        return Location(chosen, "HOTSWAP_CONFIG", chosen.exists())
    chosen = default_state_dir(environ) / "config.toml"
    return Location(chosen, "default, in the state directory", chosen.exists())


def _entry(value: Any, source: str) -> dict[str, Any]:
    return {"value": value, "source": source}


def _entries(values: Mapping[str, Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Each value with its source: `file` where the file's table sets it, else `default`."""
    return {k: _entry(v, "file" if k in raw else "default") for k, v in values.items()}


def _router(config: Config, raw: Mapping[str, Any]) -> dict[str, Any]:
    r = config.router
    values: dict[str, Any] = {}
    for key, (attr, _, _) in ROUTER_KEYS.items():  # every key the file may set
        value = getattr(r, attr)
        values[key] = value / MB if key.endswith("_mb") else value
    out = _entries(values, raw)
    proxies = {scheme: _mask_url(value) for scheme, value in r.proxies}
    out["proxies"] = _entry(proxies, "environment")
    return out


# A password given as a parameter: libpq's key=value DSN (`password=...`, quoted or not)
# and a URL's query (`?password=...`, as psycopg and redis-py accept it).
_DSN_PASSWORD = re.compile(r"(\b(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.I)
_QUERY_PASSWORD = re.compile(r"([?&](?:ssl)?password=)[^&#]*", re.I)


def _mask_url(value: str) -> str:
    """A proxy's or a service's URL (or libpq DSN) without its password, wherever in it."""
    if "://" not in value and "=" in value:
        return _DSN_PASSWORD.sub(r"\1***", value)
    value = _QUERY_PASSWORD.sub(r"\1***", value)
    parts = urlsplit(value if "://" in value else "http://" + value)
    if parts.password is None:
        return value
    netloc = f"{parts.username}:***@{parts.netloc.rpartition('@')[2]}"
    return parts._replace(netloc=netloc).geturl()


def _backend(b: Backend, raw: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    base = "preset" if b.name in PRESETS else "default"
    out: dict[str, Any] = {}
    for field in _BACKEND_FIELDS:
        value = getattr(b, field)
        value = (
            dict(value)
            if field == "models"
            else list(value)
            if field in ("aliases", "fallback")
            else value
        )
        out[field] = _entry(value, "file" if field in raw else base)
    raw_quirks = raw.get("quirks", {})
    out["quirks"] = {
        name: _entry(list(v) if isinstance(v, tuple) else v, "file" if name in raw_quirks else base)
        for name, v in b.quirks._asdict().items()
    }
    var, value = credential(b, environ)
    out["key"] = {"variable": var, "value": mask(value), "source": "environment"}
    return out


def effective_config(
    config: Config, location: Location, environ: Mapping[str, str]
) -> dict[str, Any]:
    """The whole effective config; every leaf is {"value", "source"}. No key values."""
    raw = read_config_file(location.path) if config.source is not None else {}
    raw_backends = raw.get("backends", {})
    result: dict[str, Any] = {
        "path": str(location.path),
        "path_source": location.why,
        "exists": location.exists,
        "state_dir": _entry(str(config.state_dir), _state_source(environ)),
    }
    result |= _entries({k: getattr(config, k) for k in _TOP}, raw)
    result["router"] = _router(config, raw.get("router", {}))
    result["backends"] = {
        name: _backend(b, raw_backends.get(name, {}), environ)
        for name, b in config.backends.items()
    }
    days = config.ledger_retention_days
    result["ledger"] = {"retention_days": _entry(days, "file" if days is not None else "default")}
    names = config.names()
    raw_budgets = {names.get(k.lower(), k): v for k, v in raw.get("budgets", {}).items()}
    result["budgets"] = {
        b.backend: _budget(b, raw_budgets.get(b.backend, {})) for b in config.budgets
    }
    raw_routes = raw.get("routes", [])
    result["routes"] = [_route(r, raw_routes[i] if i < len(raw_routes) else {})
                        for i, r in enumerate(config.routes)]  # fmt: skip
    result["gateway"] = _gateway(config.gateway, raw.get("gateway", {}), environ)
    return result


def _budget(b: Budget, raw: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {f"{period}_usd": usd for period, usd in b.limits}
    values |= {"warn_at": b.warn_at, "then": b.then}
    return _entries(values, raw)


def _route(r: Route, raw: Mapping[str, Any]) -> dict[str, Any]:
    model = r.backend.default_model if not r.backend.models else None
    values: dict[str, Any] = {"name": r.name, "when": r.when,
                              "to": r.backend.name + (f":{model}" if model else "")}  # fmt: skip
    if r.on:
        values["on"] = sorted(r.on)
    if r.when == "long_context":
        values["above_tokens"] = r.above_tokens
    return _entries(values, raw)


def _gateway(
    g: GatewaySettings, raw: Mapping[str, Any], environ: Mapping[str, str]
) -> dict[str, Any]:
    """`hotswap gateway`'s settings (flags aside); URLs without their passwords."""
    out = {}
    for key, value in g._asdict().items():
        source = ("environment" if environ.get(GATEWAY_ENV.get(key, "")) else
                  "file" if key in raw else "default")  # fmt: skip
        out[key] = _entry(_mask_url(value) if key in ("database", "redis") and value else value,
                          source)  # fmt: skip
    return out


def _state_source(environ: Mapping[str, str]) -> str:
    return "environment" if environ.get("HOTSWAP_HOME") else "default"


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items())
        return "{" + inner + "}"
    return json.dumps(value, ensure_ascii=False)


def _line(key: str, entry: dict[str, Any], note: str = "") -> tuple[str, str]:
    return f"{key} = {_toml(entry['value'])}", entry["source"] + note


def render(data: dict[str, Any]) -> str:
    state = "exists" if data["exists"] else "absent: built-in presets only"
    lines: list[tuple[str, str]] = [(f"# config: {data['path']} ({state})", data["path_source"])]
    lines.append((f"# state directory: {data['state_dir']['value']}", data["state_dir"]["source"]))
    lines += [_line(k, data[k]) for k in _TOP]
    lines.append(("", ""))
    lines.append(("[router]", ""))
    router = dict(data["router"])
    proxies = router.pop("proxies")
    lines += [_line(k, v) for k, v in router.items()]
    if proxies["value"]:
        shown = ", ".join(f"{k}={v}" for k, v in proxies["value"].items())
        lines.append((f"# proxies: {shown}", "environment"))
    for name, b in data["backends"].items():
        lines += [("", ""), (f"[backends.{name}]", "preset" if name in PRESETS else "file")]
        for field in _BACKEND_FIELDS:
            note = ""
            if field == "api_key_env" and b["key"]["variable"]:
                note = f"; key: {b['key']['value']} (environment)"
            if field == "api_key_env" and b[field]["value"] is None:
                continue
            lines.append(_line(field, b[field], note))
        if b["auth"]["value"] == "passthrough":
            var = b["key"]["variable"]
            shown = f"{var} {b['key']['value']}" if var else "none in the environment"
            lines.append((f"# key: the client's own credential ({shown})", "environment"))
        lines += [_line(f"quirks.{q}", e) for q, e in b["quirks"].items() if e["source"] == "file"]
    lines += _tables(data)
    width = min(max(len(text) for text, _ in lines), 72)
    return "\n".join(
        (f"{text.ljust(width)}  # {source}" if source else text).rstrip() for text, source in lines
    )


def _tables(data: dict[str, Any]) -> list[tuple[str, str]]:
    """[ledger], [budgets.NAME], [[routes]] and [gateway], as the file spells them."""
    lines: list[tuple[str, str]] = [("", ""), ("[ledger]", "")]
    lines += [_line(k, e) for k, e in data["ledger"].items() if e["value"] is not None]
    for name, budget in data["budgets"].items():
        lines += [("", ""), (f"[budgets.{name}]", "file")]
        lines += [_line(k, e) for k, e in budget.items()]
    for route in data["routes"]:
        lines += [("", ""), ("[[routes]]", "file")]
        lines += [_line(k, e) for k, e in route.items()]
    lines += [("", ""), ("[gateway]", "")]
    lines += [_line(k, e) for k, e in data["gateway"].items() if e["value"] is not None]
    return lines

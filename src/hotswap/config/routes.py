"""`[[routes]]` in the config: which requests go to another backend than the mode's.

    [[routes]]
    when = "background"        # a request class (CLASSES)
    to = "deepseek"            # a backend name or alias; "deepseek:deepseek-v4-flash"
                               # also picks the model
    on = ["anthropic"]         # optional: only while the session's mode is one of these
    above_tokens = 120000      # long_context only: the threshold (LONG_CONTEXT_TOKENS)
    name = "side"              # optional: how logs, `cost --by route` and the status name it

First match wins; a request no route matches goes to the session's mode. Each route is
checked here once, at load: a bad `when`, an unknown backend, a key that does not belong,
a route that can never match (after an unconditional route of the same class).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from hotswap.config.backends import Backend
from hotswap.config.tables import check_number, check_type, fail, nearest, unknown_key

CLASSES = (
    "background",
    "subagent",
    "haiku",
    "sonnet",
    "opus",
    "long_context",
    "image",
    "web_search",
    "thinking",
)
# long_context without `above_tokens`. The hook for per-model context windows: a window
# known for the mode's model would replace this default (not built here).
LONG_CONTEXT_TOKENS = 60_000
MAX_ROUTES = 64
_KEYS = frozenset({"when", "to", "on", "above_tokens", "name"})


class Route(NamedTuple):
    """One checked `[[routes]]` entry; `backend` carries the model when `to` named one."""

    name: str  # what the ledger, `logs`, `cost --by route` and the status line call it
    when: str  # one of CLASSES
    backend: Backend
    on: frozenset[str] = frozenset()  # canonical backend names; empty: any mode
    above_tokens: int = LONG_CONTEXT_TOKENS  # long_context only


def parse_routes(
    path: Path, data: Any, backends: Mapping[str, Backend], names: Mapping[str, str]
) -> tuple[Route, ...]:
    """The `[[routes]]` array, checked; `names` maps every name and alias to its backend."""
    check_type(path, "routes", data, list)
    if len(data) > MAX_ROUTES:
        raise fail(path, "routes", f"{len(data)} routes", f"at most {MAX_ROUTES}")
    routes: list[Route] = []
    for i, entry in enumerate(data):
        route = _parse_route(path, f"routes[{i}]", entry, backends, names)
        _check_reachable(path, f"routes[{i}]", route, routes)
        routes.append(_unique_name(route, routes))
    return tuple(routes)


def _parse_route(
    path: Path, where: str, data: Any, backends: Mapping[str, Backend], names: Mapping[str, str]
) -> Route:
    check_type(path, where, data, dict)
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise unknown_key(path, where, unknown[0], data[unknown[0]], _KEYS)
    when = data.get("when")
    if when not in CLASSES:
        raise fail(path, f"{where}.when", when, f"one of {', '.join(CLASSES)}")
    if "to" not in data:
        raise fail(path, f"{where}.to", None, "a route needs a backend to go to")
    backend = _target(path, f"{where}.to", data["to"], backends, names)
    on = frozenset(_on(path, f"{where}.on", data.get("on", []), names))
    above = data.get("above_tokens", LONG_CONTEXT_TOKENS)
    if "above_tokens" in data:
        if when != "long_context":
            raise fail(path, f"{where}.above_tokens", above, "only for when = 'long_context'")
        check_type(path, f"{where}.above_tokens", above, int)
        check_number(path, f"{where}.above_tokens", above, 100_000_000)
    name = data.get("name", when)
    check_type(path, f"{where}.name", name, str)
    if not (name and len(name) <= 40 and name.isprintable()):
        raise fail(path, f"{where}.name", name, "1 to 40 printable characters")
    return Route(name, when, backend, on, above)


def _target(
    path: Path, key: str, value: Any, backends: Mapping[str, Backend], names: Mapping[str, str]
) -> Backend:
    """`NAME` or `NAME:MODEL`: the backend (an alias works), with the model when given."""
    check_type(path, key, value, str)
    name, _, model = value.partition(":")
    canonical = names.get(name.strip().lower())
    if canonical is None:
        guess = nearest(name, names)
        hint = f"; did you mean '{guess}'?" if guess else ""
        raise fail(path, key, value, f"no such backend{hint} (`hotswap backends` lists them)")
    backend = backends[canonical]
    if model.strip():
        return backend.with_model(model.strip())
    if ":" in value:
        raise fail(path, key, value, "a model name after ':'")
    return backend


def _on(path: Path, key: str, value: Any, names: Mapping[str, str]) -> list[str]:
    check_type(path, key, value, list)
    out = []
    for item in value:
        check_type(path, key, item, str)
        canonical = names.get(item.strip().lower())
        if canonical is None:
            raise fail(path, key, item, "no such backend")
        out.append(canonical)
    return out


def _check_reachable(path: Path, where: str, route: Route, before: list[Route]) -> None:
    """A route after one of the same class that holds in every mode, or in every mode this
    one names, can never match (long_context: when the earlier threshold is not higher)."""
    for earlier in before:
        if earlier.when != route.when or earlier.above_tokens > route.above_tokens:
            continue
        if not earlier.on or (route.on and route.on <= earlier.on):
            why = f"never matches: '{earlier.name}' before it takes every such request"
            raise fail(path, f"{where}.when", route.when, why)


def _unique_name(route: Route, before: list[Route]) -> Route:
    """Two routes of one class without names of their own: the later is `when-2`..."""
    taken = {r.name for r in before}
    if route.name not in taken:
        return route
    n = 2
    while f"{route.name}-{n}" in taken:
        n += 1
    return route._replace(name=f"{route.name}-{n}")

"""Routes: which backend each request goes to. `choose` is called once per request by the
orchestrator (proxy.receive), between reading the session's mode and planning the
backends. With no route configured, or routes turned off for the session (`routes off`),
it answers the mode at once; otherwise the first route whose class the request is of
(classes.py), and whose `on` holds the mode, sends it to its backend. That backend then
stands where the mode would: the exchange's `active` backend, with its auth, model map,
quirks, thinking rules, fallback chain and breaker. Before any route, a request whose
model is a gateway id (config/model_ids.py: picked in Claude Code's /model from the router's
`GET /v1/models`) goes to the backend that id names.

May import: hotswap.config, hotswap.body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from hotswap.body import RequestBody
from hotswap.config.backends import Backend
from hotswap.config.model_ids import named_backend
from hotswap.config.routes import Route
from hotswap.routes.classes import Facts

MODEL_ROUTE = "model"  # the route of a request whose model id named its backend


class Choice(NamedTuple):
    """Where a request goes, and which route (None: the session's mode) sent it there."""

    backend: Backend
    route: str | None = None


def choose(
    body: RequestBody,
    headers: Mapping[str, str],
    mode: Backend,
    routes: tuple[Route, ...] = (),
    backends: Mapping[str, Backend] | None = None,
) -> Choice:
    """The backend for this request: the one its model id names, else the first matching
    route's, else the mode's."""
    named = named_backend(body.model, backends or {})
    if named is not None:
        return Choice(named, MODEL_ROUTE)
    if not routes:
        return Choice(mode)
    facts = Facts(body, headers)
    for route in routes:
        if route.on and mode.name not in route.on:
            continue
        if facts.is_(route.when, route.above_tokens):
            return Choice(route.backend, route.name)
    return Choice(mode)

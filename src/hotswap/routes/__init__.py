"""Routes: which backend each request goes to. Request classes (side requests, subagents,
long contexts, images...) and the route rules chosen from them will live here; they read
only what the body layer has already split (cheap), and the orchestrator calls `choose`
once per request, between reading the session's mode and planning the backends.

Until routes exist, `choose` answers the session's mode: no request changes backend.
May import: hotswap.config, hotswap.body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from hotswap.body import RequestBody
from hotswap.config.backends import Backend


class Choice(NamedTuple):
    """Where a request goes, and which route (None: the session's mode) sent it there."""

    backend: Backend
    route: str | None = None


def choose(body: RequestBody, headers: Mapping[str, str], mode: Backend) -> Choice:
    """The backend for this request: today, always the mode's."""
    return Choice(mode)

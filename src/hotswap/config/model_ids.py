"""Gateway model ids: a backend's model named so that Claude Code's /model picker keeps it.

    gateway_id("deepseek", "deepseek-v4-pro") == "claude-hotswap-deepseek--deepseek-v4-pro"
    parse_gateway_id("claude-hotswap-deepseek--deepseek-v4-pro") == ("deepseek", "deepseek-v4-pro")

Claude Code 2.1.332 keeps only the ids of a gateway's `GET /v1/models` that contain "claude"
or "anthropic", so a DeepSeek or Ollama model listed under its own name would never reach
the picker. Under this id it does, and the id says both where the request goes (routes/)
and what model that backend is asked for (rules/rewrite.py): reversible, with no table to
keep. The backend name ends at the first `--` (backend names never hold one; model names
may hold anything else: `:`, `/`, `.`, even `--`). Stdlib only, pure.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hotswap.config.backends import Backend

PREFIX = "claude-hotswap-"
SEPARATOR = "--"


def gateway_id(backend: str, model: str) -> str:
    """The id under which `backend`'s `model` is listed to Claude Code."""
    return f"{PREFIX}{backend}{SEPARATOR}{model}"


def parse_gateway_id(model_id: str) -> tuple[str, str] | None:
    """(backend, model) that a gateway id names; None for any other model id."""
    if not model_id.startswith(PREFIX):
        return None
    backend, sep, model = model_id[len(PREFIX) :].partition(SEPARATOR)
    return (backend, model) if sep and backend and model else None


def mapped_model(model: str, backend: Backend) -> str:
    """The model name `backend` is sent for `model`, the one rule the rewrite
    (rules/rewrite.py) and the context-window check (config/windows.py) share: the model a
    gateway id names for this very backend, else the first matching glob of its model map,
    else its default_model, else the name itself (a `[1m]`-style suffix cut first where the
    backend strips it)."""
    name = _without_suffix(model) if backend.quirks.strip_model_suffix else model
    named = parse_gateway_id(name)
    if named is not None and named[0] == backend.name:
        return named[1]
    for pattern, target in backend.models:
        if fnmatchcase(name, pattern):
            return target
    return backend.default_model or name


def _without_suffix(name: str) -> str:
    """`name` without a trailing `[...]` (no `]` inside it)."""
    start = name.rfind("[")
    if name.endswith("]") and start >= 0 and "]" not in name[start + 1 : -1]:
        return name[:start]
    return name


def named_backend(model: str | None, backends: Mapping[str, Backend]) -> Backend | None:
    """The configured backend a gateway model id names, by its canonical name as the ids
    are made (None: not one, or no such backend: such a request follows the routes and the
    mode, whose model map then applies). The router's rule (routes.choose), and the status
    line's."""
    named = parse_gateway_id(model) if model else None
    return backends.get(named[0]) if named is not None else None

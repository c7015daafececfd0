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

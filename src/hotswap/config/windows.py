"""Context windows: how many input tokens each backend's models hold, and the cheap estimate
of how many a request is.

The table below is the presets'; `context_tokens` (every model of a backend) and
`[backends.NAME.context_tokens_by_model]` (per model glob) in the config come first. A model
none of them names has an *unknown* window: nothing is refused for it (the backend decides).
Sources and dates: docs/context-windows.md.

Stdlib only (fnmatch): the switch commands read it to warn about a conversation too large
for the backend they switch to.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from hotswap.config.backends import Backend
from hotswap.config.model_ids import mapped_model

WINDOWS_CHECKED = "2026-12-07"  # when the table below was last checked
# The request's JSON bytes per token, for the screen every request passes: English and
# code run about 4 characters a token, and JSON's own syntax adds bytes, not tokens, so a
# body's bytes / 4 rarely undercounts text. It overcounts base64 images; a request the
# screen calls too long is counted with more care before it is refused (router/window.py).
BYTES_PER_TOKEN = 4
M = 1_000_000

# backend -> (model glob, tokens), first match wins; the model is the one sent upstream.
PRESET_WINDOWS: dict[str, tuple[tuple[str, int], ...]] = {
    "anthropic": (  # current Opus / Sonnet / Fable: 1M natively; older and Haiku: 200k
        ("claude-opus-5*", M),
        ("claude-sonnet-5*", M),
        ("claude-fable-*", M),
        ("claude-*", 200_000),
    ),
    "deepseek": (("deepseek-v4-*", M), ("deepseek-*", 128_000)),
    "fireworks": (("*/kimi-k2p5", 262_144), ("*/kimi-k2*", 262_144)),
    "openai": (("gpt-5*", 400_000),),
    "azure-openai": (("gpt-5*", 400_000),),
    "gemini": (("gemini-2.5-*", 1_048_576),),
    "groq": (("openai/gpt-oss-*", 131_072),),
    "cerebras": (("gpt-oss-*", 131_072),),
    "mistral": (("devstral-*", 131_072), ("mistral-small-*", 131_072)),
    "together": (("Qwen/Qwen3-Coder-480B-*", 262_144),),
}


def wire_model(client_model: str | None, backend: Backend) -> str | None:
    """The model a request for `client_model` is sent to on `backend` (the rewrite's own
    rule: config/model_ids.mapped_model)."""
    if client_model is None:
        return backend.default_model
    return mapped_model(client_model, backend)


def context_window(backend: Backend, model: str | None) -> int | None:
    """The input tokens `backend` holds for `model` (the wire model): the config's
    per-model globs, its `context_tokens`, then the preset table; None: unknown."""
    for pattern, tokens in backend.context_tokens_by_model:
        if model is not None and fnmatchcase(model, pattern):
            return tokens
    if backend.context_tokens is not None:
        return backend.context_tokens
    for pattern, tokens in PRESET_WINDOWS.get(backend.name, ()):
        if model is not None and fnmatchcase(model, pattern):
            return tokens
    return None


def screen_tokens(body_bytes: int) -> int:
    """The cheap, high estimate of a request's input tokens from its size alone."""
    return -(-body_bytes // BYTES_PER_TOKEN)


def too_long_message(tokens: int, window: int, backend: str) -> str:
    """Anthropic's own wording first (`prompt is too long: N tokens > M maximum`): Claude
    Code recognises it and compacts the conversation by itself, then sends it again (seen
    with Claude Code 2.1.332; any other wording it only retries, then shows)."""
    return (
        f"prompt is too long: {tokens} tokens > {window} maximum (hotswap: an estimate, "
        f"against the context window of backend '{backend}'; run /compact, or switch to a "
        "backend with a larger window, such as !ant)"
    )


def switch_warning(backend: Backend, status: dict[str, Any] | None) -> list[str]:
    """`ds` / `backend NAME` on a conversation larger than the target's window: a warning
    line from the router's status (its last request's input tokens); the switch happens."""
    if not status:
        return []
    tokens, model = status.get("last_input_tokens"), status.get("last_client_model")
    if not isinstance(tokens, int) or not tokens:
        return []
    client_model = model if isinstance(model, str) else None
    window = context_window(backend, wire_model(client_model, backend))
    if window is None or tokens <= window:
        return []
    return [
        f"warning: this conversation is about {tokens} tokens, more than {backend.name}'s "
        f"context window of {window}; run /compact before the next request there"
    ]

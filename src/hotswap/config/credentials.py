"""Which variable holds a backend's key, and its value: what `backends`, `doctor`, `config
show` and the dashboard say of it (masked, redact.mask), and never more."""

from __future__ import annotations

from collections.abc import Mapping

from hotswap.config.backends import Backend

# Anthropic's own credentials, in the order Claude Code prefers them.
ANTHROPIC_CREDENTIALS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN")


def credential(backend: Backend, environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(variable, value) of the key this backend is sent with; a passthrough backend's is
    the client's own, so the first Anthropic credential variable that is set."""
    if backend.is_passthrough:
        for name in ANTHROPIC_CREDENTIALS:
            if environ.get(name):
                return name, environ[name]
        return None, None
    return backend.api_key_env, environ.get(backend.api_key_env or "") or None

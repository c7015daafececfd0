"""What the backend commands (`backends`, `doctor`, `doctor --live`, `config show`) say of
a backend's key and model map: which variable holds its key, and what Claude Code's three
model tiers become. Shared by them, so that no command imports another."""

from __future__ import annotations

from collections.abc import Mapping

from hotswap.config.backends import Backend

# What Claude Code sends for --model opus|sonnet|haiku (claude-code.md): the model map is
# shown as what each of these becomes.
TIER_MODELS = {
    "opus": "claude-opus-5-5",
    "sonnet": "claude-sonnet-5-5",
    "haiku": "claude-haiku-5-5",
}
# Anthropic's own credentials, in the order Claude Code prefers them.
ANTHROPIC_CREDENTIALS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN")


def model_map(backend: Backend) -> dict[str, str]:
    """opus / sonnet / haiku -> the model `backend` is sent (rewrite.map_model's answer)."""
    from hotswap.rules.rewrite import map_model  # msgspec and the rewrite rules: only here

    return {tier: map_model(name, backend) for tier, name in TIER_MODELS.items()}


def credential(backend: Backend, environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(variable, value) of the key this backend is sent with; a passthrough backend's is
    the client's own, so the first Anthropic credential variable that is set."""
    if backend.is_passthrough:
        for name in ANTHROPIC_CREDENTIALS:
            if environ.get(name):
                return name, environ[name]
        return None, None
    return backend.api_key_env, environ.get(backend.api_key_env or "") or None

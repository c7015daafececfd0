"""Backend presets, as a table: what each backend is called, where it lives, how it authenticates.

Stdlib only: the switch commands read the names and aliases from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

AUTH_KINDS = ("passthrough", "x-api-key", "bearer")
WIRE_KINDS = ("anthropic",)


@dataclass(frozen=True)
class Quirks:
    """What a backend's Anthropic-compatible endpoint rejects, declared as data.

    The request rewriter reads these; nothing in the hot path asks for a backend by name.
    """

    drop_fields: tuple[str, ...] = ()  # top-level body keys the backend rejects
    drop_betas: bool = False  # do not forward the anthropic-beta header
    strip_model_suffix: bool = True  # "claude-sonnet-4-5[1m]" -> "claude-sonnet-4-5" before mapping
    max_tokens_cap: int | None = None  # clamp max_tokens to this

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> Quirks:
        values = dict(data)
        if "drop_fields" in values:
            values["drop_fields"] = tuple(values["drop_fields"])
        return cls(**values)


@dataclass(frozen=True)
class Backend:
    """One place hotswap can send a request to."""

    name: str
    base_url: str
    auth: str = "x-api-key"
    api_key_env: str | None = None
    aliases: tuple[str, ...] = ()
    models: tuple[tuple[str, str], ...] = ()  # (glob, target); first match wins
    fallback: tuple[str, ...] = ()
    kind: str = "anthropic"
    quirks: Quirks = field(default_factory=Quirks)

    @property
    def is_passthrough(self) -> bool:
        return self.auth == "passthrough"


def _preset(**kwargs: Any) -> Backend:
    kwargs["aliases"] = tuple(kwargs.get("aliases", ()))
    kwargs["models"] = tuple(kwargs.get("models", {}).items())
    kwargs["fallback"] = tuple(kwargs.get("fallback", ()))
    return Backend(**kwargs)


PRESETS: dict[str, Backend] = {
    b.name: b
    for b in (
        _preset(
            name="anthropic",
            base_url="https://api.anthropic.com",
            auth="passthrough",
            aliases=("ant", "claude"),
            fallback=("deepseek",),
            quirks=Quirks(strip_model_suffix=False),
        ),
        _preset(
            name="deepseek",
            base_url="https://api.deepseek.com/anthropic",
            auth="x-api-key",
            api_key_env="DEEPSEEK_API_KEY",
            aliases=("ds",),
            models={"claude-opus-*": "deepseek-v4-pro", "*": "deepseek-v4-flash"},
            quirks=Quirks(drop_fields=("context_management",)),
        ),
        _preset(
            name="openrouter",
            base_url="https://openrouter.ai/api",
            auth="bearer",
            api_key_env="OPENROUTER_API_KEY",
            aliases=("or",),
            quirks=Quirks(drop_fields=("context_management",)),
        ),
        _preset(
            name="fireworks",
            base_url="https://api.fireworks.ai/inference",
            auth="bearer",
            api_key_env="FIREWORKS_API_KEY",
            aliases=("fw",),
            quirks=Quirks(drop_fields=("context_management",)),
        ),
    )
}

# Set by `hotswap run` when the user has no Anthropic credential at all (Claude Code will
# not start without one). The router never forwards it: in Anthropic mode it is treated as
# a refused credential, so the request falls back.
PLACEHOLDER_TOKEN = "hotswap-no-anthropic-credential"

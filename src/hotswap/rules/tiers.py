"""What Claude Code's three model tiers become on a backend (the model map as `hotswap
backends`, `doctor` and the dashboard show it)."""

from __future__ import annotations

from hotswap.config.backends import Backend
from hotswap.config.model_ids import mapped_model

# What Claude Code sends for --model opus|sonnet|haiku (claude-code.md): the model map is
# shown as what each of these becomes.
TIER_MODELS = {
    "opus": "claude-opus-5-5",
    "sonnet": "claude-sonnet-5-5",
    "haiku": "claude-haiku-5-5",
}


def model_map(backend: Backend) -> dict[str, str]:
    """opus / sonnet / haiku -> the model `backend` is sent (the rewrite's one mapping rule,
    imported from config/ so `hotswap backends` does not load the rewrite's)."""
    return {tier: mapped_model(name, backend) for tier, name in TIER_MODELS.items()}

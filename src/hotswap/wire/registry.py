"""Which adapter speaks each wire (backends.Backend.wire; config key `wire`)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from hotswap.wire import WireAdapter
from hotswap.wire.anthropic import AnthropicWire
from hotswap.wire.openai import OpenAIAdapter

if TYPE_CHECKING:
    from hotswap.config.backends import Backend

ADAPTERS: Mapping[str, WireAdapter] = MappingProxyType(
    {"anthropic": AnthropicWire(), "openai": OpenAIAdapter()}
)


def adapter_for(backend: Backend) -> WireAdapter:
    """The adapter of the backend's wire (config validation admits only these)."""
    return ADAPTERS[backend.wire]

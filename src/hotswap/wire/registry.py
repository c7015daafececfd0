"""Which adapter speaks each wire (backends.Backend.wire; config key `wire`)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from hotswap.wire import WireAdapter, WireCache
from hotswap.wire.anthropic import AnthropicWire
from hotswap.wire.openai import OpenAIAdapter

if TYPE_CHECKING:
    from hotswap.config.backends import Backend

ADAPTERS: Mapping[str, WireAdapter] = MappingProxyType(
    {"anthropic": AnthropicWire(), "openai": OpenAIAdapter()}
)


class WireCaches:
    """Each wire adapter's cache for one router (RouterState owns it), all within one
    budget: body/caches.WIRE_SHARE_PERCENT of `[router] cache_mb`. An adapter's cache is
    made when its wire is first used, so a router that never translates keeps nothing."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._caches: dict[str, WireCache | None] = {}

    def of(self, wire: str) -> Any:
        """The cache of `wire`'s adapter (made on first use; None: it keeps nothing)."""
        try:
            return self._caches[wire]
        except KeyError:
            cache = self._caches[wire] = ADAPTERS[wire].new_cache(self.budget_bytes)
            return cache

    @property
    def size(self) -> int:
        return sum(c.size for c in self._caches.values() if c is not None)

    def snapshot(self) -> dict[str, int]:
        """Every adapter's part of the status's `body_caches` (zeros before first use)."""
        shown: dict[str, int] = {"translated_messages": 0}
        for cache in self._caches.values():
            if cache is not None:
                shown.update(cache.snapshot())
        return shown


def adapter_for(backend: Backend) -> WireAdapter:
    """The adapter of the backend's wire (config validation admits only these)."""
    return ADAPTERS[backend.wire]

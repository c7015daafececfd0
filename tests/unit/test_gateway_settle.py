"""A sticky fallback's save on the gateway (gateway/modes.CallerModes): the request that
fell back waits for its own save before answering; another request never waits for it."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("redis", reason="the gateway extra: pip install '.[gateway]'")

from hotswap.gateway.caller import Caller, CallerSlot, User
from hotswap.gateway.modes import CallerModes


class SlowModes:
    """fall_back held until `saved` is set (a Redis that answers slowly)."""

    def __init__(self) -> None:
        self.saved = asyncio.Event()

    async def fall_back(self, uid: int, session: str | None, mode: str, note: str) -> None:
        await self.saved.wait()


async def test_only_the_request_that_fell_back_waits_for_its_save() -> None:
    slot, store = CallerSlot(), SlowModes()
    modes = CallerModes(slot, store)  # type: ignore[arg-type]
    fell_back = asyncio.Event()

    async def falling_back() -> None:
        slot.set(Caller(User(1, "ana"), "s-1", "anthropic"))
        modes.write("deepseek", "fell back from anthropic to deepseek: 402")
        fell_back.set()
        await modes.settle()

    async def another() -> None:
        slot.set(Caller(User(2, "bo"), "s-2", None))
        await fell_back.wait()
        await modes.settle()

    first = asyncio.ensure_future(falling_back())
    await asyncio.wait_for(another(), timeout=1)  # not held by the other's save
    assert not first.done()
    store.saved.set()
    await asyncio.wait_for(first, timeout=1)

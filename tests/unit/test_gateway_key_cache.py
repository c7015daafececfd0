"""The gateway's key cache (gateway/keys.GatewayKeys), against a store that counts its
lookups: a key's concurrent requests share one lookup; a flood of made-up keys cannot
push the live ones out; a key found revoked is refused from its next lookup on."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("psycopg", reason="the gateway extra: pip install '.[gateway]'")

from hotswap.errors import RequestError
from hotswap.gateway import keys
from hotswap.gateway.caller import User
from hotswap.gateway.keys import GatewayKeys, KeyStore, key_hash

LIVE = "hsk_" + "a" * 43


class CountingStore(KeyStore):
    """What `find` would answer from PostgreSQL, held until `answer` is set."""

    def __init__(self) -> None:
        self.users = {key_hash(LIVE): User(1, "ana")}
        self.asked: list[str] = []
        self.answer = asyncio.Event()
        self.answer.set()

    async def find(self, key: str) -> User | None:
        self.asked.append(key)
        await self.answer.wait()
        return self.users.get(key_hash(key))


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


async def test_a_keys_concurrent_requests_share_one_lookup() -> None:
    store = CountingStore()
    store.answer.clear()
    cache = GatewayKeys(store)
    waiting = [asyncio.ensure_future(cache.authenticate(bearer(LIVE))) for _ in range(50)]
    await asyncio.sleep(0.01)
    store.answer.set()
    users = await asyncio.gather(*waiting)
    assert {u.name for u in users} == {"ana"}
    assert len(store.asked) == 1


async def test_one_cancelled_request_does_not_cancel_the_others_lookup() -> None:
    store = CountingStore()
    store.answer.clear()
    cache = GatewayKeys(store)
    first = asyncio.ensure_future(cache.authenticate(bearer(LIVE)))
    second = asyncio.ensure_future(cache.authenticate(bearer(LIVE)))
    await asyncio.sleep(0.01)
    first.cancel()
    store.answer.set()
    assert (await second).name == "ana"


async def test_made_up_keys_never_push_a_live_key_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keys, "MAX_CACHED", 8)
    store = CountingStore()
    cache = GatewayKeys(store)
    await cache.authenticate(bearer(LIVE))
    for i in range(20):
        with pytest.raises(RequestError) as refused:
            await cache.authenticate(bearer(f"hsk_{i:043d}"))
        assert refused.value.status == 401
    await cache.authenticate(bearer(LIVE))
    assert store.asked.count(LIVE) == 1  # still remembered: no second lookup


async def test_an_unknown_key_is_remembered_and_a_revoked_one_refused_after_the_ttl(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(keys.time, "monotonic", lambda: clock[0])
    store = CountingStore()
    cache = GatewayKeys(store)
    stranger = "hsk_" + "z" * 43
    for _ in range(3):
        with pytest.raises(RequestError):
            await cache.authenticate(bearer(stranger))
    assert store.asked.count(stranger) == 1
    assert (await cache.authenticate(bearer(LIVE))).name == "ana"
    store.users.clear()  # revoked
    assert (await cache.authenticate(bearer(LIVE))).name == "ana"  # within the TTL
    clock[0] += keys.LOOKUP_TTL_S + 0.01
    with pytest.raises(RequestError) as refused:
        await cache.authenticate(bearer(LIVE))
    assert refused.value.status == 401


async def test_a_lookup_every_caller_left_logs_no_unretrieved_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import gc

    from hotswap.gateway.database import DatabaseError

    class DownStore(CountingStore):
        async def find(self, key: str) -> User | None:
            await self.answer.wait()
            raise DatabaseError("PostgreSQL: down")

    store = DownStore()
    store.answer.clear()
    cache = GatewayKeys(store)
    keys_ = [f"hsk_{i:043d}" for i in range(3)]
    gone = [asyncio.ensure_future(cache.authenticate(bearer(k))) for k in keys_]
    await asyncio.sleep(0.01)
    for request in gone:
        request.cancel()  # the clients went away before PostgreSQL answered
    del request, gone
    store.answer.set()
    await asyncio.sleep(0.05)
    gc.collect()
    assert not cache._asking
    assert "never retrieved" not in caplog.text

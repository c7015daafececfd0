"""The body budget (router/intake.py): who gets in, who waits, who gets the 529."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hotswap.config.loading import MB, load_config
from hotswap.errors import RequestError, RouterBusyError
from hotswap.router.intake import BodyBudget, check_encoding


async def test_what_fits_gets_in_at_once_and_a_lone_request_always_does() -> None:
    budget = BodyBudget(limit=100, wait_s=5)
    assert await budget.take(60) == 60
    assert await budget.take(40) == 40
    budget.give(100)
    assert await budget.take(1000) == 1000  # alone: however large
    assert budget.used == 1000


async def test_waiters_get_in_first_come_first_served_as_room_is_given_back() -> None:
    budget = BodyBudget(limit=100, wait_s=5)
    await budget.take(90)
    big = asyncio.create_task(budget.take(80))
    small = asyncio.create_task(budget.take(5))  # would fit, but waits behind `big`
    await asyncio.sleep(0)
    assert not big.done() and not small.done()
    budget.give(90)
    assert await big == 80 and await small == 5
    assert budget.used == 85


async def test_a_request_that_waits_too_long_gets_a_529_with_retry_after() -> None:
    budget = BodyBudget(limit=100, wait_s=0.05)
    await budget.take(100)
    with pytest.raises(RouterBusyError) as caught:
        await budget.take(10)
    assert caught.value.status == 529 and caught.value.error_type == "overloaded_error"
    assert caught.value.retry_after_s > 0
    assert not budget.waiting and budget.used == 100


async def test_a_cancelled_waiter_leaves_the_line_and_holds_nothing() -> None:
    budget = BodyBudget(limit=100, wait_s=5)
    await budget.take(100)
    waiter = asyncio.create_task(budget.take(50))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    budget.give(100)
    assert budget.used == 0 and not budget.waiting


async def test_a_counted_estimate_replaces_the_pre_read_one_and_lets_waiters_in() -> None:
    budget = BodyBudget(limit=100, wait_s=5)
    held = await budget.take(90)
    waiter = asyncio.create_task(budget.take(50))
    await asyncio.sleep(0)
    held = budget.adjust(held, 30)
    assert await waiter == 50 and budget.used == 80


@pytest.mark.parametrize("value", [None, "gzip", "deflate", "br", "zstd", "identity", " GZIP ", ""])
def test_the_encodings_aiohttp_decodes_pass(value: str | None) -> None:
    check_encoding(value)


@pytest.mark.parametrize("value", ["compress", "gzip, gzip", "x-gzip", "foo"])
def test_any_other_content_encoding_is_a_400(value: str) -> None:
    with pytest.raises(RequestError) as caught:
        check_encoding(value)
    assert caught.value.status == 400 and "Content-Encoding" in str(caught.value)


def test_the_budget_and_its_wait_are_router_settings(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[router]\nbody_budget_mb = 64\nbody_wait_s = 3\n")
    router = load_config(path, {"HOTSWAP_HOME": str(tmp_path)}).router
    assert router.body_budget_bytes == 64 * MB and router.body_wait_s == 3.0
    path.write_text("")
    default = load_config(path, {"HOTSWAP_HOME": str(tmp_path)}).router
    assert default.body_budget_bytes == 256 * MB and default.body_wait_s == 20.0

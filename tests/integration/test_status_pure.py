"""Reading a router's state changes nothing: `GET /_hotswap/status` twice gives the same
answer, and only a request (RouterState.refresh_mode, once per request) moves the mode's
bookkeeping on."""

from __future__ import annotations

import copy
from typing import Any

import aiohttp

from clients import status_of
from fakes import FakeUpstream, sse_message
from hotswap.router.state import RouterState

HI = {"model": "claude-opus-5-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


def bookkeeping(state: RouterState) -> dict[str, Any]:
    """Everything of the state a read could change (caches and clocks aside)."""
    keep = (
        "requests", "errors", "last_error", "mode_problem", "write_problem",
        "sticky_fallbacks", "transient_via", "last_fallback", "fallback_note",
        "_fallback_to", "_fallback_file", "_last_good",
    )  # fmt: skip
    return {name: copy.copy(getattr(state, name)) for name in keep}


def same_but_uptime(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return {k: v for k, v in a.items() if k != "uptime_s"} == {
        k: v for k, v in b.items() if k != "uptime_s"
    }


async def post(router: Any) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{router.url}/v1/messages", json=HI, headers={"x-api-key": "k"}) as resp,
    ):
        await resp.read()
        return resp.status


async def test_status_twice_is_the_same_and_changes_nothing(fakes: Any, make_router: Any) -> None:
    ant: FakeUpstream = await fakes("anthropic")
    ant.script(sse_message("hello"))
    router = await make_router({"anthropic": ant.url}, mode="anthropic")
    assert await post(router) == 200  # a last good mode, counters, a cache or two
    router.mode_file.write_text("no-such-backend\n")  # a problem only a request may note
    before = bookkeeping(router.state)
    first, second = await status_of(router), await status_of(router)
    assert same_but_uptime(first, second)
    assert bookkeeping(router.state) == before
    assert "no-such-backend" in first["mode_problem"]  # said, from the read itself
    assert first["mode_source"] == "last good mode" and first["mode"] == "anthropic"
    assert router.state.mode_problem is None  # not noted: no request came in


async def test_a_request_notes_the_mode_once(fakes: Any, make_router: Any, caplog: Any) -> None:
    ant: FakeUpstream = await fakes("anthropic")
    ant.script(sse_message("one"), sse_message("two"))
    router = await make_router({"anthropic": ant.url}, mode="anthropic")
    router.mode_file.write_text("no-such-backend\n")
    assert await post(router) == 200
    assert await post(router) == 200
    assert "no-such-backend" in (router.state.mode_problem or "")
    warnings = [r for r in caplog.records if "no-such-backend" in r.getMessage()]
    assert len(warnings) == 1  # logged once, not once per request or per status read

"""A transient fault stays with its backend unless the user let it cross, and no fallback is
ever unseen: the status (counters, last event, note), the status line, `sessions`, the log
and the exchange record all show it."""

from __future__ import annotations

import logging

import anthropic
import pytest

from clients import sdk, status_of
from fakes import json_error, sse_message
from hotswap.router import exchange
from hotswap.router.exchange import ExchangeRecord
from hotswap.sessions.statusline import render
from hotswap.sessions.switch_table import router_note

ENV = {"DEEPSEEK_API_KEY": "sk-ds-visible"}
HI = [{"role": "user", "content": "hi"}]


async def test_a_529_stays_on_anthropic_by_default(fakes, make_router):
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    ant.script(json_error(529, "overloaded_error", "Overloaded"))
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url}, mode="anthropic", env=ENV
    )
    with pytest.raises(anthropic.APIStatusError) as caught:
        await sdk(router).messages.create(model="claude-opus-5-5", max_tokens=5, messages=HI)
    assert caught.value.status_code == 529
    assert ds.received == []  # the conversation never reached another vendor
    status = await status_of(router)
    assert status["fallbacks"] == {"sticky": 0, "transient": 0, "last": None}
    assert status["transient_note"] is None


async def test_a_refusal_still_falls_back_stickily_by_default(fakes, make_router):
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    ant.script(json_error(402, "billing_error", "no credits"))
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url}, mode="anthropic", env=ENV
    )
    await sdk(router).messages.create(model="claude-opus-5-5", max_tokens=5, messages=HI)
    status = await status_of(router)
    assert status["mode"] == "deepseek" and "fell back from anthropic" in status["fallback"]
    assert status["fallbacks"]["sticky"] == 1
    assert status["fallbacks"]["last"]["kind"] == "sticky"


async def test_a_transient_fallback_is_shown_everywhere(fakes, make_router, caplog):
    caplog.set_level(logging.INFO, logger="hotswap")
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    ant.script(json_error(529, "overloaded_error", "Overloaded"))
    ds.script(sse_message("from deepseek"))
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url}, mode="anthropic", env=ENV, transient=True
    )
    got: list[ExchangeRecord] = []
    router.state.observers.add(got.append)
    async with sdk(router).messages.stream(
        model="claude-opus-5-5", max_tokens=5, messages=HI
    ) as stream:
        assert await stream.get_final_text() == "from deepseek"
    status = await status_of(router)
    assert status["mode"] == "anthropic" and status["fallback"] is None  # not sticky
    assert status["fallbacks"]["transient"] == 1
    last = status["fallbacks"]["last"]
    assert (last["kind"], last["from"], last["to"]) == ("transient", "anthropic", "deepseek")
    assert status["transient_note"] == "1 req via deepseek (anthropic HTTP 529)"
    line = render("anthropic", None, status)
    assert "↷ 1 req via deepseek (anthropic HTTP 529)" in line
    assert "↷ 1 req via deepseek" in router_note(status)
    assert "fallback: anthropic -> deepseek for this request (HTTP 529" in caplog.text
    assert got and got[0].fallback_kind == exchange.TRANSIENT
    assert got[0].fell_back_from == "anthropic" and got[0].backend == "deepseek"


async def test_transient_fallback_per_backend(fakes, make_router):
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    ant.script(json_error(503, "api_error", "down"))
    router = await make_router(
        {"deepseek": ds.url},
        mode="anthropic",
        env=ENV,
        extra_toml=f'[backends.anthropic]\nbase_url = "{ant.url}"\ntransient_fallback = true\n',
    )
    reply = await sdk(router).messages.create(model="claude-opus-5-5", max_tokens=5, messages=HI)
    assert reply.content and len(ds.received) == 1

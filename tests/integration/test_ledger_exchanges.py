"""Exchanges through a real router against FakeUpstream servers land in the ledger as rows
whose tokens, cache fields, backend, fallback and attempts match what the fakes reported;
`hotswap cost` splits them per backend after a mid-session switch."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from conftest import MakeRouter, Router
from fake_openai import FakeOpenAI, chat_sse, text_chunks, usage
from fakes import encode_events, json_error, message_events, sse_reply
from hotswap.config.loading import load_config
from hotswap.ledger.attach import RouterLedger, close_ledger, open_ledger
from hotswap.ledger.usage import CostQuery, cost_report

CLIENT_KEY = "sk-ant-client"
ENV = {"DEEPSEEK_API_KEY": "sk-ds-test"}
BODY = {
    "model": "claude-opus-5-5",
    "max_tokens": 10,
    "stream": True,
    "messages": [{"role": "user", "content": "hi"}],
}


def stream_with_usage(model: str = "fake-model", **usage: int) -> Any:
    """An Anthropic stream whose message_start usage carries `usage` (cache fields, or
    DeepSeek's prompt_cache_hit/miss spellings)."""
    events = message_events("ok", model, input_tokens=usage.pop("input_tokens", 12))
    events[0][1]["message"]["usage"].update(usage)
    return sse_reply(encode_events(events))


async def post(router: Router, body: dict[str, Any] | None = None) -> int:
    async with (
        aiohttp.ClientSession() as client,
        client.post(
            router.url + "/v1/messages", json=body or BODY, headers={"x-api-key": CLIENT_KEY}
        ) as resp,
    ):
        await resp.read()
        return resp.status


@pytest.fixture
async def ledgers() -> AsyncIterator[list[RouterLedger]]:
    opened: list[RouterLedger] = []
    yield opened
    for ledger in opened:
        await close_ledger(ledger)


async def with_ledger(router: Router, ledgers: list[RouterLedger], session: str = "3f2a") -> None:
    router.state.session_id = session
    ledgers.append(open_ledger(router.state))


async def rows_of(home: Path, ledgers: list[RouterLedger]) -> list[dict[str, Any]]:
    for ledger in ledgers:
        assert await close_ledger(ledger)
    ledgers.clear()
    conn = sqlite3.connect(home / "ledger.db")
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute("SELECT * FROM exchanges ORDER BY id")]
    for row in rows:
        row["attempts"] = [
            dict(a)
            for a in conn.execute(
                "SELECT backend, status, verdict, reason FROM attempts WHERE exchange = ? "
                "ORDER BY seq",
                (row["id"],),
            )
        ]
    return rows


async def test_tokens_and_cache_fields_are_what_the_backend_reported(
    fakes: Any, make_router: MakeRouter, ledgers: list[RouterLedger], home: Path
) -> None:
    ant = await fakes("anthropic")
    ant.script(
        stream_with_usage(
            "claude-opus-5-5",
            input_tokens=30,
            cache_read_input_tokens=9000,
            cache_creation_input_tokens=400,
        )
    )
    router = await make_router({"anthropic": ant.url}, mode="anthropic")
    await with_ledger(router, ledgers)
    assert await post(router) == 200
    (row,) = await rows_of(home, ledgers)
    assert (row["backend"], row["active"], row["session"]) == ("anthropic", "anthropic", "3f2a")
    assert (row["client_model"], row["wire_model"]) == ("claude-opus-5-5", "claude-opus-5-5")
    assert (row["input_tokens"], row["output_tokens"]) == (30, 7)
    assert (row["cache_read_tokens"], row["cache_write_tokens"]) == (9000, 400)
    assert row["status"] == 200 and row["outcome"] == "ok" and row["fell_back_from"] is None
    assert row["ttfb_ms"] > 0 and row["duration_ms"] >= row["ttfb_ms"]
    assert row["request_bytes"] == len(ant.received[0].raw) and row["response_bytes"] > 0
    assert [a["verdict"] for a in row["attempts"]] == ["deliver"]


async def test_deepseek_cache_hit_and_miss_counts_land_as_cache_reads(
    fakes: Any, make_router: MakeRouter, ledgers: list[RouterLedger], home: Path
) -> None:
    ds = await fakes("deepseek")
    ds.script(
        stream_with_usage(
            "deepseek-v4-pro",
            input_tokens=1000,
            prompt_cache_hit_tokens=800,
            prompt_cache_miss_tokens=200,
        )
    )
    router = await make_router({"deepseek": ds.url}, mode="deepseek", env=ENV)
    await with_ledger(router, ledgers)
    assert await post(router) == 200
    (row,) = await rows_of(home, ledgers)
    assert row["backend"] == "deepseek" and row["wire_model"] == "deepseek-v4-pro"
    assert (row["input_tokens"], row["cache_read_tokens"]) == (200, 800)


async def test_openai_cached_tokens_land_as_cache_reads_and_gpt5_is_priced(
    make_router: MakeRouter, ledgers: list[RouterLedger], home: Path
) -> None:
    fake = await FakeOpenAI("openai").start()
    try:
        fake.script(chat_sse(text_chunks("ok", use=usage(prompt=1000, completion=40, cached=900))))
        section = f'[backends.openai]\nbase_url = "{fake.url}/v1"\n'
        router = await make_router(
            {}, mode="openai", env={"OPENAI_API_KEY": "sk-oa"}, extra_toml=section
        )
        await with_ledger(router, ledgers)
        assert await post(router) == 200
        (row,) = await rows_of(home, ledgers)
    finally:
        await fake.stop()
    assert (row["backend"], row["wire_model"]) == ("openai", "gpt-5")
    assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"]) == (100, 900, 40)
    report = cost_report(load_config(), CostQuery())
    assert report["total"]["cost_usd"] == pytest.approx(
        (100 * 1.25 + 900 * 0.125 + 40 * 10) / 1e6, abs=1e-6
    )


async def test_a_failed_attempt_and_a_transient_fallback_are_recorded(
    fakes: Any, make_router: MakeRouter, ledgers: list[RouterLedger], home: Path
) -> None:
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    ant.script(json_error(529, "overloaded_error", "Overloaded"))
    ds.script(stream_with_usage("deepseek-v4-pro", input_tokens=50))
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url},
        mode="anthropic",
        env=ENV,
        extra_toml="[router]\ntransient_fallback = true\n",
    )
    await with_ledger(router, ledgers)
    assert await post(router) == 200
    (row,) = await rows_of(home, ledgers)
    assert (row["backend"], row["active"]) == ("deepseek", "anthropic")
    assert (row["fell_back_from"], row["fallback_kind"]) == ("anthropic", "transient")
    assert row["input_tokens"] == 50
    first, second = row["attempts"]
    assert (first["backend"], first["status"]) == ("anthropic", 529)
    assert first["verdict"] != "deliver" and "529" in first["reason"]
    assert (second["backend"], second["verdict"]) == ("deepseek", "deliver")


async def test_a_sticky_fallback_and_an_exchange_nobody_answered(
    fakes: Any, make_router: MakeRouter, ledgers: list[RouterLedger], home: Path
) -> None:
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    ant.script(json_error(402, "billing_error", "no credits"))
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url}, mode="anthropic", env=ENV
    )
    await with_ledger(router, ledgers)
    assert await post(router) == 200
    ds.script(json_error(529, "overloaded_error", "Overloaded"))
    assert await post(router) == 529  # now on deepseek (sticky), which fails; no chain left
    fell, failed = await rows_of(home, ledgers)
    assert (fell["fell_back_from"], fell["fallback_kind"]) == ("anthropic", "sticky")
    assert fell["attempts"][0]["status"] == 402
    assert failed["backend"] == "deepseek" and failed["outcome"] == "failed"  # sent there
    assert failed["status"] == 529 and failed["active"] == "deepseek"


async def test_a_switch_mid_session_splits_cost_per_backend(
    fakes: Any, make_router: MakeRouter, ledgers: list[RouterLedger], home: Path
) -> None:
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url}, mode="anthropic", env=ENV
    )
    await with_ledger(router, ledgers)
    assert await post(router) == 200
    router.mode_file.write_text("deepseek\n")  # `!ds` typed in the session
    for _ in range(2):
        assert await post(router) == 200
    status = router.state.status()
    assert status["spend"]["requests"] == 3 and status["spend"]["savings_usd"] > 0
    await rows_of(home, ledgers)
    report = cost_report(load_config(), CostQuery(session="3f2a"))
    rows = {r["key"]: r for r in report["rows"]}
    assert rows["anthropic"]["requests"] == 1 and rows["deepseek"]["requests"] == 2
    assert rows["anthropic"]["savings_usd"] == 0 and rows["deepseek"]["savings_usd"] > 0
    assert report["total"]["cost_usd"] == pytest.approx(status["spend"]["cost_usd"], abs=1e-6)


async def test_a_ledger_that_cannot_be_written_never_fails_a_request(
    fakes: Any, make_router: MakeRouter, ledgers: list[RouterLedger], home: Path
) -> None:
    (home / "ledger.db").mkdir()  # unopenable, even for root
    ant = await fakes("anthropic")
    router = await make_router({"anthropic": ant.url}, mode="anthropic")
    await with_ledger(router, ledgers)
    for _ in range(3):
        assert await post(router) == 200
    (ledger,) = ledgers
    assert ledger.writer.close(5) is False  # said, not raised
    health = router.state.status()["ledger"]
    assert not health["ok"] and "ledger.db" in health["problem"]
    assert health["queued"] == 0 and health["spilled"] == 3  # kept for the next open
    ledgers.clear()

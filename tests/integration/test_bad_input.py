"""Faults found in review: each one must end in a clean, Anthropic-shaped answer, never a
traceback, a truncated stream, a doubled error event, or a dropped request."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from clients import anthropic_error, post_raw, request_body, sse_events
from fakes import encode_events, message_events, sse_reply
from hotswap.router.sse import SSEParser

DS_KEY = "sk-ds-robust"


async def get_status(url: str) -> dict[str, object]:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(url + "/_hotswap/status") as resp:
        data = await resp.json()
        assert isinstance(data, dict)
        return data


async def test_a_failed_sticky_write_still_delivers_the_answer(fakes, make_router) -> None:
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url}, env={"DEEPSEEK_API_KEY": DS_KEY}
    )
    router.mode_file.mkdir()  # the sticky switch cannot write it
    from fakes import json_error

    ant.script(json_error(402, "billing_error", "no credits"))
    status, _, body = await post_raw(router.url + "/v1/messages", request_body(stream=False))
    assert status == 200, body
    assert json.loads(body)["content"][0]["text"] == "Hello from the fake."
    status_json = await get_status(router.url)
    assert status_json["mode_problem"]  # the failed write is shown, not hidden


async def test_a_key_with_a_newline_is_a_clear_error_naming_the_variable(
    fakes, make_router
) -> None:
    ds = await fakes("deepseek")
    router = await make_router(
        {"deepseek": ds.url},
        mode="deepseek",
        env={"DEEPSEEK_API_KEY": "sk-bad\nX-Evil: 1"},
        extra_toml="[router]\nfallback = false\n",
    )
    status, _, body = await post_raw(router.url + "/v1/messages", request_body(stream=False))
    error = anthropic_error(body)
    assert status in (400, 424, 500)
    assert "DEEPSEEK_API_KEY" in error["message"]
    assert "sk-bad" not in body.decode()
    assert ds.received == []


async def test_a_deeply_nested_body_is_a_400_not_a_crash(fakes, make_router) -> None:
    ant = await fakes("anthropic")
    router = await make_router({"anthropic": ant.url})
    status, _, body = await post_raw(router.url + "/v1/messages", data=b"[" * 100_000)
    assert status == 400
    assert anthropic_error(body)["type"] == "invalid_request_error"


async def test_a_malformed_event_after_commit_ends_with_one_error_event(fakes, make_router) -> None:
    ant = await fakes("anthropic")
    router = await make_router({"anthropic": ant.url})
    events = message_events()
    events[0][1]["message"]["content"] = 5  # not a list
    ant.script(sse_reply(encode_events(events)))
    status, _, raw = await post_raw(router.url + "/v1/messages", request_body())
    assert status == 200
    parsed = sse_events(raw)
    names = [e.name for e in parsed]
    assert names.count("error") <= 1
    assert names[-1] in ("message_stop", "error")


async def test_an_upstream_error_event_mid_stream_is_relayed_once(fakes, make_router) -> None:
    ant = await fakes("anthropic")
    router = await make_router({"anthropic": ant.url})
    events = message_events()[:3]
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    ant.script(sse_reply(encode_events([*events, ("error", error)])))
    status, _, raw = await post_raw(router.url + "/v1/messages", request_body())
    assert status == 200
    names = [e.name for e in sse_events(raw)]
    assert names.count("error") == 1
    assert names[-1] == "error"


async def test_a_final_error_as_first_event_is_relayed_once(fakes, make_router) -> None:
    ant = await fakes("anthropic")
    router = await make_router({"anthropic": ant.url})
    error = {"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}
    ant.script(sse_reply(encode_events([("error", error)])))
    status, _, raw = await post_raw(router.url + "/v1/messages", request_body())
    names = [e.name for e in sse_events(raw)]
    assert names == ["error"], (status, raw)


async def test_an_sse_answer_to_a_non_boolean_stream_flag_is_still_relayed_as_sse(
    fakes, make_router
) -> None:
    ant = await fakes("anthropic")
    router = await make_router({"anthropic": ant.url})
    events = message_events()
    del events[0][1]["message"]["usage"]
    ant.script(sse_reply(encode_events(events)))
    body = {**request_body(), "stream": "true"}
    status, headers, raw = await post_raw(router.url + "/v1/messages", body)
    assert status == 200
    assert headers["Content-Type"].startswith("text/event-stream")
    start = json.loads(sse_events(raw)[0].data)
    assert start["message"]["usage"]["input_tokens"] == 0  # rewritten, so it went event by event


def test_one_huge_event_fed_in_small_chunks_is_linear() -> None:
    payload = b"event: content_block_delta\ndata: " + b"x" * (2 * 1024 * 1024) + b"\n\n"
    parser = SSEParser()
    events = []
    for start in range(0, len(payload), 4096):
        events += parser.feed(payload[start : start + 4096])
    assert len(events) == 1 and len(events[0].data) == 2 * 1024 * 1024


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs are POSIX")
async def test_a_mode_file_that_is_a_fifo_does_not_hang_the_router(fakes, make_router) -> None:
    ant = await fakes("anthropic")
    router = await make_router({"anthropic": ant.url})
    os.mkfifo(router.mode_file)
    async with asyncio.timeout(10):  # a blocked open() would hang here
        status, _, body = await post_raw(router.url + "/v1/messages", request_body(stream=False))
    assert status == 200, body
    assert (await get_status(router.url))["mode_problem"]


def test_ds_with_a_short_port_flag_for_an_unknown_port_fails(home: Path) -> None:
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in ("HOTSWAP_SESSION",)}
    env["HOTSWAP_HOME"] = str(home)
    for flag in (["-p", "1"], ["--port=1"]):
        done = subprocess.run(
            [str(Path(sys.executable).parent / "ds"), *flag],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 2, done.stdout
        assert not (home / "mode").exists()

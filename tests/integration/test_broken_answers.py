"""A broken answer is never a success, on either wire: a stream that ends before it says it
is done, a chunk or event the router must read that is not JSON, an error inside a 200
stream, a 2xx that is not an event stream where one was asked, a non-streaming 2xx that is
not a message, tool-call arguments that are not a JSON object.

Before the commit such an answer is a transient failure (retried elsewhere only where
transient faults may cross: a 502 `api_error` otherwise); after it the client gets exactly
one SSE `error` event. Each case asserts what the client got and the ledger's row for it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import pytest

from clients import (
    CLIENT_KEY,
    anthropic_error,
    post_gated,
    post_raw,
    request_body,
    sdk,
    sse_events,
)
from conftest import MakeRouter, Router
from fake_openai import FakeOpenAI, chat_json, chunk, completion, encode_sse, tool_chunks
from fakes import (
    FakeUpstream,
    GatedSSE,
    Reply,
    encode_events,
    json_reply,
    message_body,
    message_events,
    raw_reply,
    sse_message,
    sse_reply,
)
from hotswap.ledger.attach import RouterLedger, close_ledger, open_ledger

ENV = {"OPENAI_API_KEY": "sk-oa-test", "DEEPSEEK_API_KEY": "sk-ds-test"}
HTML = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
# What the client gets: our one error event, the upstream's own (relayed), or our 502.
EVENT, THEIRS, GIVE_UP = "error event", "the upstream's error event", "502"


@dataclass
class Scene:
    router: Router
    upstream: FakeUpstream
    ledger: RouterLedger
    home: Path

    async def post(
        self, stream: bool = True, reply: Any = None
    ) -> tuple[int, dict[str, str], bytes]:
        url, body = self.router.url + "/v1/messages", request_body(stream=stream)
        if isinstance(reply, GatedSSE):
            return await post_gated(url, body, reply.gate)
        return await post_raw(url, body)

    async def row(self) -> dict[str, Any]:
        """The ledger's one exchange row, with its attempts."""
        assert await close_ledger(self.ledger)
        conn = sqlite3.connect(self.home / "ledger.db")
        conn.row_factory = sqlite3.Row
        (row,) = [dict(r) for r in conn.execute("SELECT * FROM exchanges")]
        row["attempts"] = [
            dict(a)
            for a in conn.execute(
                "SELECT backend, verdict, reason FROM attempts WHERE exchange = ? ORDER BY seq",
                (row["id"],),
            )
        ]
        return row


Start = Callable[..., Any]


@pytest.fixture
async def start(
    make_router: MakeRouter, fakes: Any, home: Path
) -> AsyncIterator[Callable[..., Any]]:
    """A router whose active backend speaks `wire` (a fake of that wire), DeepSeek after it
    in the chain, and a ledger."""
    started: list[FakeUpstream] = []
    ledgers: list[RouterLedger] = []

    async def make(wire: str, *, transient: bool = False) -> Scene:
        ds = await fakes("deepseek")
        upstream = await (FakeOpenAI("openai") if wire == "openai" else FakeUpstream(wire)).start()
        started.append(upstream)
        base = f"{upstream.url}/v1" if wire == "openai" else upstream.url
        section = f'[backends.{wire}]\nbase_url = "{base}"\nfallback = ["deepseek"]\n'
        router = await make_router(
            {"deepseek": ds.url}, mode=wire, env=ENV, extra_toml=section, transient=transient
        )
        router.state.session_id = "s-broken"
        ledger = open_ledger(router.state)
        ledgers.append(ledger)
        return Scene(router, upstream, ledger, home)

    yield make
    for ledger in ledgers:
        await close_ledger(ledger)
    for fake in started:
        await fake.stop()


# -- scripted broken answers ------------------------------------------------------------------

PARTIAL = [chunk({"role": "assistant", "content": ""}), chunk({"content": "so far"})]
ERROR_CHUNK = b'data: {"error": {"message": "upstream exploded", "type": "server_error"}}\n\n'


def bad_tool_arguments(stream: bool) -> Reply:
    if not stream:
        data = completion(None, tool_calls=[("call_1", "Bash", {"command": "ls"})])
        data["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = '{"command": l'
        return chat_json(data)
    chunks = tool_chunks([("call_1", "Bash", {"command": "ls"})], pieces=2)
    for c in chunks:
        for call in (c["choices"][0]["delta"].get("tool_calls") or []) if c["choices"] else []:
            call["function"]["arguments"] = call["function"]["arguments"].replace('"', "")
    # the call's block opened before the commit; its arguments complete after it
    return GatedSSE(encode_sse(chunks[:2], done=False), encode_sse(chunks[2:]))


def events_with(name: str, data: bytes) -> bytes:
    """An Anthropic stream whose `name` event carries `data` (not JSON)."""
    raw = encode_events(message_events("so far"))
    parts = raw.split(b"\n\n")
    i = next(i for i, p in enumerate(parts) if p.startswith(f"event: {name}\n".encode()))
    parts[i] = f"event: {name}\ndata: ".encode() + data
    return b"\n\n".join(parts)


OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}

# (wire, case, the upstream's reply, what the client gets, the reason the ledger names)
STREAMS: list[tuple[str, str, Callable[[], Reply], str, str]] = [
    ("openai", "no-done-no-finish", lambda: sse_reply(encode_sse(PARTIAL, done=False)), EVENT,
     "without [DONE] or a finish_reason"),
    ("openai", "non-json-chunk", lambda: GatedSSE(
        encode_sse(PARTIAL, done=False), b"data: {oops\n\n" + encode_sse([chunk({}, finish="stop")])
    ), EVENT, "not a JSON object"),
    ("openai", "only-bad-chunks", lambda: sse_reply(b"data: <html>\n\ndata: nope\n\n"), GIVE_UP,
     "not a JSON object"),
    ("openai", "error-chunk", lambda: sse_reply(encode_sse(PARTIAL, done=False) + ERROR_CHUNK),
     THEIRS, "upstream exploded"),
    ("openai", "html-200", lambda: raw_reply(200, HTML, "text/html"), GIVE_UP,
     "not an event stream"),
    ("openai", "json-200", lambda: chat_json(completion("whole")), GIVE_UP,
     "not an event stream"),
    ("openai", "bad-tool-arguments", lambda: bad_tool_arguments(True), EVENT,
     "arguments that are not a JSON object"),
    ("anthropic", "no-message-stop", lambda: sse_reply(
        encode_events(message_events("so far")[:-1])), EVENT, "before message_stop"),
    ("anthropic", "non-json-message-delta", lambda: sse_reply(events_with("message_delta", b"{x")),
     EVENT, "message_delta event that is not a JSON object"),
    ("anthropic", "non-json-message-start", lambda: sse_reply(events_with("message_start", b"?")),
     GIVE_UP, "message_start that is not JSON"),
    ("anthropic", "error-event", lambda: sse_reply(
        encode_events([*message_events("so far")[:3], ("error", OVERLOADED)])), THEIRS,
     "Overloaded"),
    ("anthropic", "html-200", lambda: raw_reply(200, HTML, "text/html"), GIVE_UP,
     "not an event stream"),
    ("anthropic", "json-200", lambda: json_reply(200, message_body("whole")), GIVE_UP,
     "not an event stream"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("wire", "reply", "expect", "reason"),
    [(w, r, e, why) for w, _, r, e, why in STREAMS],
    ids=[f"{w}-{case}" for w, case, *_ in STREAMS],
)
async def test_a_broken_stream_is_never_a_success(
    start: Start, wire: str, reply: Callable[[], Reply], expect: str, reason: str
) -> None:
    scene = await start(wire)
    scripted = reply()
    scene.upstream.script(scripted)
    status, headers, raw = await scene.post(reply=scripted)
    row = await scene.row()
    assert reason in (row["error"] or ""), row
    if expect == GIVE_UP:  # before the commit: a transient failure, on its own backend
        assert status == 502, raw
        error = anthropic_error(raw)
        assert error["type"] == "api_error" and error["message"].startswith("hotswap: ")
        assert reason in error["message"]
        assert (row["outcome"], row["status"], row["backend"]) == ("failed", 502, wire)
        assert [a["verdict"] for a in row["attempts"]] == ["retry"]
        assert reason in row["attempts"][0]["reason"]
        return
    assert status == 200 and headers["Content-Type"].startswith("text/event-stream")
    events = sse_events(raw)
    names = [e.name for e in events]
    assert names[0] == "message_start" and names.count("error") == 1 and names[-1] == "error"
    assert "message_stop" not in names
    error = anthropic_error(events[-1].data)
    assert reason in error["message"]
    if expect == EVENT:
        assert error["type"] == "api_error" and error["message"].startswith("hotswap: ")
    assert (row["outcome"], row["status"], row["backend"]) == ("stream_error", 200, wire)


NON_STREAMS: list[tuple[str, str, Callable[[], Reply], str]] = [
    ("openai", "html-200", lambda: raw_reply(200, HTML, "text/html"), "not a completion"),
    ("openai", "error-in-a-200", lambda: json_reply(200, {"error": {"message": "exploded"}}),
     "exploded"),
    ("openai", "bad-tool-arguments", lambda: bad_tool_arguments(False),
     "arguments that are not a JSON object"),
    ("anthropic", "html-200", lambda: raw_reply(200, HTML, "text/html"), "not a JSON object"),
    ("anthropic", "cut-json", lambda: raw_reply(200, b'{"type":"message","con', "application/json"),
     "not a JSON object"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("wire", "reply", "reason"),
    [(w, r, why) for w, _, r, why in NON_STREAMS],
    ids=[f"{w}-{case}" for w, case, *_ in NON_STREAMS],
)
async def test_a_broken_non_streaming_answer_is_a_502(
    start: Start, wire: str, reply: Callable[[], Reply], reason: str
) -> None:
    scene = await start(wire)
    scene.upstream.script(reply())
    status, headers, raw = await scene.post(stream=False)
    assert status == 502 and headers["Content-Type"].startswith("application/json"), raw
    error = anthropic_error(raw)
    assert error["type"] == "api_error" and error["message"].startswith("hotswap: ")
    assert reason in error["message"]
    row = await scene.row()
    assert (row["outcome"], row["status"], row["backend"]) == ("failed", 502, wire)
    assert reason in row["error"] and [a["verdict"] for a in row["attempts"]] == ["retry"]


@pytest.mark.parametrize(
    ("wire", "reply"),
    [
        ("openai", lambda: sse_reply(b"data: <html>\n\n")),
        ("openai", lambda: raw_reply(200, HTML, "text/html")),
        ("anthropic", lambda: sse_reply(events_with("message_start", b"?"))),
        ("anthropic", lambda: raw_reply(200, HTML, "text/html")),
    ],
    ids=["openai-bad-chunks", "openai-html", "anthropic-bad-start", "anthropic-html"],
)
async def test_a_broken_answer_before_the_commit_falls_back_where_transient_faults_may(
    start: Start, wire: str, reply: Callable[[], Reply]
) -> None:
    """The official SDK sees DeepSeek's answer; the ledger names the broken attempt."""
    scene = await start(wire, transient=True)
    scene.upstream.script(reply())
    client = sdk(scene.router, api_key=CLIENT_KEY)
    async with client.messages.stream(
        model="claude-opus-5-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        assert await stream.get_final_text() == "Hello from the fake."
    row = await scene.row()
    assert (row["outcome"], row["backend"], row["fell_back_from"]) == ("ok", "deepseek", wire)
    assert row["fallback_kind"] == "transient"
    assert [(a["backend"], a["verdict"]) for a in row["attempts"]] == [
        (wire, "retry"),
        ("deepseek", "deliver"),
    ]


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
async def test_the_sdk_sees_a_broken_stream_as_an_error(start: Start, wire: str) -> None:
    """What Claude Code's own client does with the one error event: an APIStatusError
    naming the cause, never a message that ended normally."""
    scene = await start(wire)
    broken = (
        sse_reply(encode_sse(PARTIAL, done=False))
        if wire == "openai"
        else sse_reply(encode_events(message_events("so far")[:-1]))
    )
    scene.upstream.script(broken)
    with pytest.raises(anthropic.APIStatusError) as caught:
        async with sdk(scene.router).messages.stream(
            model="claude-opus-5-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            await stream.get_final_message()
    assert "hotswap: " in str(caught.value)
    assert (await scene.row())["outcome"] == "stream_error"


async def test_whole_answers_still_pass_on_both_wires(start: Start) -> None:
    """The checks refuse nothing whole: a stream and a JSON answer on each wire are `ok`."""
    for wire in ("openai", "anthropic"):
        scene = await start(wire)
        if wire == "anthropic":
            scene.upstream.script(sse_message("fine"))
        status, _, raw = await scene.post()
        assert status == 200 and sse_events(raw)[-1].name == "message_stop"
        status, _, raw = await scene.post(stream=False)
        assert status == 200 and json.loads(raw)["type"] == "message"
        assert await close_ledger(scene.ledger)
        conn = sqlite3.connect(scene.home / "ledger.db")
        outcomes = [r[0] for r in conn.execute("SELECT outcome FROM exchanges WHERE backend = ?",
                                               (wire,))]  # fmt: skip
        assert outcomes == ["ok", "ok"]

"""The span-by-span translation (wire/openai_spans.py) against the reference
(openai_request.to_chat_request): the same request, by value, for recorded Claude Code
bodies, 300 generated ones and a growing conversation, with its memo cold and warm; what it
cannot take falls back to the reference; its memo stays within its budget."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from multidict import CIMultiDict

import bodygen
import emulators as emu
from hotswap.body.caches import WIRE_SHARE_PERCENT, BodyCaches
from hotswap.config.backends import PRESETS
from hotswap.errors import RequestError
from hotswap.rules.rewrite import request_changes
from hotswap.wire.openai import OpenAIAdapter, translate
from hotswap.wire.openai_request import to_chat_request
from hotswap.wire.openai_spans import ChatTranslations, chat_bytes
from hotswap.wire.registry import WireCaches

OPTIONS = [
    {"max_completion_tokens": False, "reasoning_effort": False},
    {"max_completion_tokens": True, "reasoning_effort": True},
]


def reference(raw: bytes, **options: bool) -> Any:
    return to_chat_request(json.loads(raw), **options)


def assert_same(raw: bytes, memo: ChatTranslations, **options: bool) -> None:
    want = reference(raw, **options)
    got = chat_bytes(raw, memo, **options)
    assert msgspec.json.decode(got.body) == want
    assert got.model == str(want.get("model") or "") and got.stream == bool(want.get("stream"))


def for_openai(body: dict[str, Any]) -> bytes:
    body = json.loads(json.dumps(body))
    request_changes(body, PRESETS["openai"])
    return msgspec.json.encode(body)


@pytest.mark.parametrize("options", OPTIONS, ids=["plain", "reasoning"])
def test_recorded_and_generated_bodies_translate_as_the_reference_does(
    options: dict[str, bool],
) -> None:
    memo = ChatTranslations(8 * 1024 * 1024)
    shapes = [s["body"] for s in emu.load_shapes().values()]
    corpus = [for_openai(b) for b in shapes] + [
        msgspec.json.encode(b) for b in bodygen.bodies(11, 300)
    ]
    for raw in corpus:
        assert_same(raw, ChatTranslations(8 * 1024 * 1024), **options)  # cold
        assert_same(raw, memo, **options)  # memo shared by the whole corpus
        assert_same(raw, memo, **options)  # warm: every span a hit
    assert len(memo.messages) > 100


def test_a_growing_conversation_translates_only_its_new_turns() -> None:
    memo = ChatTranslations(8 * 1024 * 1024)
    seen = 0
    for body in bodygen.conversation(5, 30):
        raw = msgspec.json.encode(body)
        assert_same(raw, memo)
        assert len(memo.messages) <= seen + 3  # two new turns (and the first request's)
        seen = len(memo.messages)


@pytest.mark.parametrize(
    "body",
    [
        {"model": "m", "messages": "not a list"},
        {"model": "m", "messages": {"role": "user"}},
        {"model": "m", "messages": ["a string", 3, {"role": "user", "content": "hi"}]},
        {"model": "m", "system": 42, "tools": {"name": "x"}, "messages": []},
        {"model": "m", "system": None, "tools": [], "messages": None},
        {"model": 7, "max_tokens": "100", "temperature": True, "stop_sequences": "x"},
        {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
    ],
    ids=["str", "object", "odd-items", "odd-types", "nulls", "wrong-scalars", "text-number"],
)
def test_odd_bodies_give_the_reference_answer(body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    out = translate(raw, PRESETS["openai"], ChatTranslations(1024 * 1024))
    assert msgspec.json.decode(out.body) == to_chat_request(
        body, max_completion_tokens=True, reasoning_effort=True
    )


def test_invalid_utf8_falls_back_to_the_reference_with_replacement() -> None:
    raw = b'{"model":"m","messages":[{"role":"user","content":"caf\xe9"}]}'
    with pytest.raises(msgspec.DecodeError):
        chat_bytes(raw, ChatTranslations(1024 * 1024))
    out = translate(raw, PRESETS["openai"], ChatTranslations(1024 * 1024))
    assert msgspec.json.decode(out.body)["messages"] == [{"role": "user", "content": "caf\ufffd"}]


def test_the_adapter_keeps_translations_in_its_own_cache_within_its_budget() -> None:
    caches = WireCaches(BodyCaches().budget_bytes * WIRE_SHARE_PERCENT // 100)
    raw = msgspec.json.encode(next(bodygen.conversation(2, 1)))
    cache = caches.of("openai")
    OpenAIAdapter().prepare(PRESETS["openai"], "/v1/messages", raw, CIMultiDict(), cache)
    assert caches.snapshot()["translated_messages"] == len(msgspec.json.decode(raw)["messages"])
    assert 0 < cache.size == caches.size <= caches.budget_bytes
    assert caches.of("anthropic") is None  # bytes through: it keeps nothing


def test_the_memo_stays_within_its_budget() -> None:
    memo = ChatTranslations(64 * 1024)
    for body in bodygen.bodies(3, 200):
        body["messages"].append({"role": "user", "content": "x" * 2000})
        assert_same(msgspec.json.encode(body), memo)
        assert memo.size <= memo.max_bytes
    huge = {"model": "m", "messages": [{"role": "user", "content": "y" * 200_000}]}
    assert_same(msgspec.json.encode(huge), memo)  # larger than the memo: translated, not kept
    assert memo.size <= memo.max_bytes


def test_a_conversations_next_request_is_read_from_where_it_differs() -> None:
    memo = ChatTranslations(8 * 1024 * 1024)
    bodies = list(bodygen.conversation(8, 12))
    for body in bodies:
        assert_same(msgspec.json.encode(body), memo)
    assert len(memo.cuts) == 1  # each request's cut replaced its conversation's last one
    nxt = msgspec.json.encode(bodies[-1])
    found = memo.cuts.find(nxt)
    assert found is not None and found.shared == len(bodies[-1]["messages"])


@pytest.mark.parametrize(
    "variant",
    ["system-first", "scalars-change", "model-changes", "indented", "messages-twice"],
)
def test_cut_layouts_the_prefix_cannot_trust_still_translate_as_the_reference(
    variant: str,
) -> None:
    memo = ChatTranslations(8 * 1024 * 1024)
    for i, body in enumerate(bodygen.conversation(9, 8)):
        if variant == "system-first":
            body = {"system": body.get("system"), "tools": body.get("tools"), **body}
        elif variant == "scalars-change":
            body = {**body, "max_tokens": 100 + i, "temperature": i / 10}
        elif variant == "model-changes":
            body = {"model": f"m{i % 2}", **body}
        raw = msgspec.json.encode(body)
        if variant == "indented":
            raw = json.dumps(body, indent=1).encode()
        elif variant == "messages-twice" and i % 2:  # after a request that left a cut
            dup = [*body["messages"][:1], {"role": "user", "content": f"again {i}"}]
            raw = raw[:-1] + b',"messages":' + msgspec.json.encode(dup) + b"}"
        assert_same(raw, memo)
        assert_same(raw, memo)
    if variant == "indented":
        assert len(memo.cuts) == 0  # not a layout a cut can be found by: read whole


def test_cuts_stay_within_their_budget() -> None:
    memo = ChatTranslations(256 * 1024)
    for seed in range(12):  # more conversations than MAX_CUTS, some larger than the budget
        for body in bodygen.conversation(seed, 3):
            body["messages"].append({"role": "user", "content": "z" * 4000 * seed})
            assert_same(msgspec.json.encode(body), memo)
            assert memo.cuts.size <= memo.cuts.max_bytes and len(memo.cuts) <= 4


def test_a_value_nested_past_the_decoders_reach_is_refused_as_a_request_error() -> None:
    deep = "[" * 5000 + "]" * 5000
    raw = (
        '{"model":"m","messages":[{"role":"assistant","content":[{"type":"tool_use",'
        f'"id":"t","name":"x","input":{{"a":{deep}}}}}]}}]}}'
    ).encode()
    with pytest.raises(RequestError) as refused:
        translate(raw, PRESETS["openai"], ChatTranslations(1024 * 1024))
    assert refused.value.status == 400 and "too deeply" in str(refused.value)

"""The body caches count what they hold against one budget per router (body/caches.py)."""

from __future__ import annotations

import json

import msgspec

from hotswap.body import BodyCaches, RequestBody
from hotswap.body.prefix import TURN_BYTES, PrefixSplitter
from hotswap.config.backends import PRESETS
from hotswap.reading.memo import Memo, Recent


def conversation(turns: int, tag: str = "") -> bytes:
    messages = [
        {"role": "user", "content": f"u{i}{tag}"}
        if i % 2 == 0
        else {"role": "assistant", "content": [{"type": "text", "text": f"a{i}"}]}
        for i in range(turns)
    ]
    body = {"model": "claude-opus-5-5", "messages": messages, "max_tokens": 9}
    return json.dumps(body, separators=(",", ":")).encode()


def test_a_record_costs_its_body_and_its_turns() -> None:
    splitter = PrefixSplitter(max_bytes=10**9)
    raw = conversation(101)
    assert splitter.split(raw) is not None
    assert splitter.size == len(raw) + 101 * TURN_BYTES


def test_a_body_larger_than_the_budget_is_not_recorded_but_still_split() -> None:
    splitter = PrefixSplitter(max_bytes=100_000)
    found = splitter.split(conversation(1001))
    assert found is not None and len(found.top["messages"]) == 1001
    assert len(splitter) == 0 and splitter.size == 0


def test_records_are_evicted_to_stay_within_the_budget() -> None:
    raws = [conversation(51, tag=f"c{k}") for k in range(6)]
    one = len(raws[0]) + 51 * TURN_BYTES
    splitter = PrefixSplitter(max_bytes=3 * one + 10)
    for raw in raws:
        splitter.split(raw)
    assert len(splitter) == 3 and splitter.size <= splitter.max_bytes


def test_a_continued_conversation_replaces_its_record() -> None:
    splitter = PrefixSplitter(max_bytes=10**9)
    splitter.split(conversation(11))
    splitter.split(conversation(13))  # the same conversation, two turns on
    assert len(splitter) == 1 and splitter.size == len(conversation(13)) + 13 * TURN_BYTES


def test_the_memo_counts_decoded_values_and_keeps_nothing_larger_than_itself() -> None:
    memo = Memo(max_bytes=50_000)
    for i in range(200):
        memo.decode(msgspec.Raw(json.dumps([{"type": "text", "text": f"t{i}" * 20}]).encode()))
    assert 0 < memo.size <= 50_000 and len(memo) < 200
    big = msgspec.Raw(json.dumps(["x" * 100_000]).encode())
    assert memo.decode(big) == ["x" * 100_000]
    assert memo.size <= 50_000


def test_recent_keeps_no_value_over_its_share() -> None:
    recent = Recent(max_bytes=40_000)
    assert recent.decode(msgspec.Raw(b'"' + b"x" * 50_000 + b'"')) == "x" * 50_000
    assert len(recent) == 0
    recent.decode(msgspec.Raw(b'"small"'))
    assert len(recent) == 1


def test_everything_held_stays_within_the_routers_budget() -> None:
    caches = BodyCaches(budget_bytes=2 * 1024 * 1024)
    for k in range(10):
        raw = conversation(3001, tag=f"c{k}")
        RequestBody.parse(raw, caches).for_backend(PRESETS["deepseek"])
    assert caches.size <= caches.budget_bytes
    snapshot = caches.snapshot()
    assert snapshot["budget_mb"] == 2.0 and snapshot["held_mb"] <= 2.0

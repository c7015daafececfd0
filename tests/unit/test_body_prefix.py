"""The turns an earlier request of a conversation had are not split again
(prefix_split.py): whatever the next body looks like, the split must be the one a scan of
the whole body gives (body.split_whole), and the shared turns must really be taken over."""

from __future__ import annotations

import json
import random
import sys
from typing import Any

import msgspec
import pytest

from bodygen import IMAGE, turn_pair
from hotswap.body import BodyCaches
from hotswap.body.prefix import MAX_RECORDS, PrefixSplitter
from hotswap.body.split import NotAnObject, split, split_whole


def body(turns: list[dict[str, Any]], **top: Any) -> dict[str, Any]:
    out = {
        "model": "claude-opus-4-5",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "go é \u2028"}]},
            *turns,
        ],
        "system": [{"type": "text", "text": "You are Claude Code."}],
        "tools": [{"name": "Read", "input_schema": {"type": "object"}}],
        "max_tokens": 32000,
        "stream": True,
        **top,
    }
    return {k: v for k, v in out.items() if v is not None}


def mark_last(b: dict[str, Any]) -> dict[str, Any]:
    """As Claude Code does: cache_control on the last user block (moves every request)."""
    b = json.loads(json.dumps(b))
    last = b["messages"][-1]
    if isinstance(last.get("content"), list) and last["content"]:
        last["content"][-1]["cache_control"] = {"type": "ephemeral"}
    return b


def encode(b: dict[str, Any], style: str) -> bytes:
    if style == "compact":
        return msgspec.json.encode(b)
    if style == "spaced":
        return json.dumps(b).encode()  # ", " and ": "
    return json.dumps(b, indent=2, ensure_ascii=False).encode()  # newlines, raw UTF-8


def same_as_whole(raw: bytes, prefix: PrefixSplitter) -> Any:
    """split(raw) must equal split_whole(raw): same keys in order, same values, same bytes,
    or the same error."""
    try:
        expected = split_whole(raw)
    except (msgspec.DecodeError, NotAnObject, RecursionError) as exc:
        with pytest.raises(type(exc)):
            split(raw, prefix)
        return None
    got = split(raw, prefix)
    assert got.typed == expected.typed
    assert list(got.top) == list(expected.top)
    assert msgspec.json.encode(got.top) == msgspec.json.encode(expected.top)
    return got


@pytest.mark.parametrize("style", ["compact", "spaced", "indented"])
@pytest.mark.parametrize("seed", range(4))
def test_a_growing_conversation_splits_as_a_whole_scan_does(
    seed: int, style: str, caches: BodyCaches
) -> None:
    rng = random.Random(seed)
    turns: list[dict[str, Any]] = []
    for i in range(25):
        turns += turn_pair(rng, i)
        top: dict[str, Any] = {}
        if rng.random() < 0.1:
            top["tool_choice"] = {"type": "auto"}
        if rng.random() < 0.1:
            top["model"] = "claude-haiku-4-5"  # a key before `messages` changed
        if rng.random() < 0.1 and len(turns) > 4:
            k = rng.randrange(len(turns))
            turns[k] = {"role": turns[k]["role"], "content": f"edited {i}"}  # history edited
        if rng.random() < 0.2:  # the values after `messages` change now and then
            top["system"] = [{"type": "text", "text": f"billing header {i}"}]
        if rng.random() < 0.1:
            top["tools"] = [{"name": f"T{i}", "input_schema": {"type": "object"}}]
        if rng.random() < 0.1:
            top["stream"] = None
        if rng.random() < 0.1:
            top["metadata"] = {"user_id": f"u{i % 2}"}
        same_as_whole(encode(mark_last(body(turns, **top)), style), caches.prefix)


def test_the_shared_turns_are_taken_over_not_split_again() -> None:
    splitter = PrefixSplitter()
    rng = random.Random(1)
    turns = turn_pair(rng, 0) + turn_pair(rng, 1)
    first = splitter.split(msgspec.json.encode(mark_last(body(turns))))
    turns += turn_pair(rng, 2)
    second = splitter.split(msgspec.json.encode(mark_last(body(turns))))
    assert first is not None and second is not None
    a, b = first.top["messages"], second.top["messages"]
    assert len(a) == 5 and len(b) == 7
    assert all(x is y for x, y in zip(a[:4], b[:4], strict=True))  # the same objects
    assert a[4] is not b[4]  # the last turn changed (its cache_control moved)
    assert second.memo[:4] == first.memo[:4]


def test_what_the_body_learnt_about_a_turn_goes_with_it(caches: BodyCaches) -> None:
    """LazyBody's memo: a shared assistant turn's content is decoded once."""
    from hotswap.body.lazy import LazyBody
    from hotswap.config.backends import PRESETS
    from hotswap.rules.quirks import rewritten_block_types

    rng = random.Random(2)
    turns = turn_pair(rng, 0) + turn_pair(rng, 1)
    kinds = rewritten_block_types(PRESETS["deepseek"].quirks)
    first = split(msgspec.json.encode(body(turns)), caches.prefix)
    one = LazyBody(first, kinds, caches)["messages"]
    second = split(msgspec.json.encode(body(turns + turn_pair(rng, 2))), caches.prefix)
    two = LazyBody(second, kinds, caches)["messages"]
    assert one[1]["content"] is two[1]["content"]


@pytest.mark.parametrize(
    "raw",
    [
        # a key before `messages` given again after it: the last one counts
        b'{"model":"a","messages":[{"role":"user","content":"x"}],"model":"b"}',
        # `messages` given twice; the second starts with what stands in for shared turns
        b'{"model":"a","messages":[{"role":"user","content":"x"}],"messages":[0,'
        b'{"role":"user","content":"y"}]}',
        b'{"model":"a","messages":[{"role":"user","content":"x"}],"messages":[]}',
        b'{"model":"a","messages":[{"role":"user","content":"x"}],"messages":[0]}',
        b'{"model":"a","messages":[{"role":"user","content":"x"}],"messa\\u0067es":[0]}',
        b'{"messages":[0],"messages":[{ "content":"x", "role":"user"}]}',
        b'{"model":"a","messages":[0],"messages":[{"role":"user","content":"x"}]}',
        # the first turn's bytes inside a value before `messages`
        b'{"metadata":{"k":[{"role":"user","content":"x"}]},"messages":'
        b'[{"role":"user","content":"x"}]}',
        # a key the typed shape does not know, after the turns
        b'{"model":"a","messages":[{"role":"user","content":"x"}],"betas":["b"]}',
        # a turn the typed shape does not know
        b'{"model":"a","messages":[{"role":"user","content":"x"},{"role":"tool"}]}',
        # blanks everywhere
        b' { "model" : "a" , "messages" : [ {"role":"user","content":"x"} , '
        b'{"role":"assistant","content":"y"} ] , "stream" : true } ',
        # no turns, not a list, not an object, cut short, trailing garbage
        b'{"model":"a","messages":[]}',
        b'{"model":"a","messages":{}}',
        b'[{"role":"user","content":"x"}]',
        b'{"model":"a","messages":[{"role":"user","content":"x"},',
        b'{"model":"a","messages":[{"role":"user","content":"x"}]}}',
        b'{"model":"a","messages":[{"role":"user","content":"x"}] x}',
    ],
)
def test_odd_bodies_split_as_a_whole_scan_does(raw: bytes, caches: BodyCaches) -> None:
    base = b'{"model":"a","messages":[{"role":"user","content":"x"}]}'
    same_as_whole(base, caches.prefix)  # a record whose first turn the odd body shares
    same_as_whole(raw, caches.prefix)
    same_as_whole(raw, caches.prefix)  # and again, with whatever record the first call left


def test_a_body_continuing_a_record_with_garbage_fails_as_a_whole_scan_does(
    caches: BodyCaches,
) -> None:
    rng = random.Random(3)
    raw = msgspec.json.encode(body(turn_pair(rng, 0) + turn_pair(rng, 1), metadata={"a": 1}))
    same_as_whole(raw, caches.prefix)
    cut = raw.index(b'"system"')
    for tail in (b"", b"]", b"],", b'],"system":', b'],"system":[}', b"x" * 10):
        same_as_whole(raw[:cut] + tail, caches.prefix)
    same_as_whole(raw, caches.prefix)
    for broken in (raw[:-1], raw[:-1] + b" ", raw[:-2] + b"}", raw + b"}", raw + b" x"):
        same_as_whole(
            broken, caches.prefix
        )  # e.g. the last brace missing, a nested one closing instead


def test_the_values_after_the_turns_are_taken_over_while_they_stay() -> None:
    splitter = PrefixSplitter()
    rng = random.Random(6)
    turns = turn_pair(rng, 0)
    found = []
    for i in range(4):
        turns += turn_pair(rng, i + 1)
        system = [{"type": "text", "text": "changes" if i == 3 else "stays"}]
        got = splitter.split(msgspec.json.encode(body(turns, system=system)))
        assert got is not None
        found.append(got.top)
    assert found[1]["tools"] is found[2]["tools"] is found[3]["tools"]
    assert found[1]["system"] is found[2]["system"]
    assert bytes(found[3]["system"]) != bytes(found[2]["system"])


@pytest.mark.parametrize(
    "end",
    [
        b',"stream":true,"stream":false}',  # the last of a key given twice counts
        b',"stream":false,"stream":true}',
        b',"model":"again"}',  # a key before `messages`, again at the end
        b',"tools":[],"tools":[{"name":"x"}]}',
        b', "stream" : true }\n',  # blanks: no recorded endings, still split alike
        b',"betas":["x"]}',
    ],
)
def test_odd_endings_split_as_a_whole_scan_does(end: bytes, caches: BodyCaches) -> None:
    rng = random.Random(7)
    turns = turn_pair(rng, 0)
    base = msgspec.json.encode(body(turns))
    same_as_whole(base, caches.prefix)
    same_as_whole(base[:-1] + end, caches.prefix)
    turns += turn_pair(rng, 1)
    again = msgspec.json.encode(body(turns))
    same_as_whole(again[:-1] + end, caches.prefix)
    same_as_whole(again, caches.prefix)


def test_more_conversations_than_records(caches: BodyCaches) -> None:
    rng = random.Random(4)
    conversations: list[list[dict[str, Any]]] = [[] for _ in range(MAX_RECORDS + 3)]
    for step in range(6):
        for n, turns in enumerate(conversations):
            turns += turn_pair(rng, step)
            same_as_whole(
                msgspec.json.encode(body(turns, metadata={"user_id": f"u{n}"})), caches.prefix
            )
            first = {"role": "user", "content": f"task {n}"}
            same_as_whole(msgspec.json.encode(body([first, *turns][1:])), caches.prefix)


def test_nested_images_and_tool_results_split_alike(caches: BodyCaches) -> None:
    turns = [
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "a", "name": "R", "input": {}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "a", "content": [IMAGE]}],
        },
    ]
    same_as_whole(msgspec.json.encode(body(turns)), caches.prefix)
    same_as_whole(msgspec.json.encode(body(turns + turns)), caches.prefix)


def test_a_record_does_not_keep_the_request_body_alive() -> None:
    splitter = PrefixSplitter()
    rng = random.Random(5)
    turns = turn_pair(rng, 0)
    raw = msgspec.json.encode(body(turns))
    before = sys.getrefcount(raw)
    found = splitter.split(raw)
    assert found is not None
    del found
    assert sys.getrefcount(raw) == before
    raw2 = msgspec.json.encode(body(turns + turn_pair(rng, 1)))
    before = sys.getrefcount(raw2)
    found = splitter.split(raw2)
    assert found is not None and len(found.top["messages"]) == 5
    del found
    assert sys.getrefcount(raw2) == before

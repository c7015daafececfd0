"""Earlier assistant turns are rewritten once per conversation (turn_reuse.py): a request
must come out exactly as the full parse rewrites it, however the conversation grows, its
thinking blocks' provenance changes, thinking is switched, or the backend is."""

from __future__ import annotations

import random
from typing import Any

import msgspec
import pytest

from bodygen import turn_pair
from hotswap.body import BodyCaches
from hotswap.body.lazy import LazyBody
from hotswap.body.passes import rewrite_split
from hotswap.body.split import split
from hotswap.body.turns import Reused, TurnReuse
from hotswap.config.backends import PRESETS
from hotswap.reading.jsoncodec import dump_json, parse_request_body
from hotswap.rules.quirks import rewritten_block_types
from hotswap.rules.rewrite import rewrite_request
from hotswap.rules.thinking import ThinkingOrigins


def request(turns: list[dict[str, Any]], **top: Any) -> bytes:
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 32000,
        "messages": [{"role": "user", "content": "go"}, *turns],
        "thinking": {"type": "enabled", "budget_tokens": 10000},
        "stream": True,
        **top,
    }
    return msgspec.json.encode({k: v for k, v in body.items() if v is not None})


def full_path(raw: bytes, backend: str, origins: ThinkingOrigins) -> Any:
    parsed = parse_request_body(raw)[0]
    rewrite_request(parsed, PRESETS[backend], origins.origin)
    return msgspec.json.decode(dump_json(parsed))


def split_path(raw: bytes, backend: str, origins: ThinkingOrigins, caches: BodyCaches) -> Any:
    return msgspec.json.decode(
        rewrite_split(raw, split(raw, caches.prefix), PRESETS[backend], origins.origin, caches)
    )


@pytest.mark.parametrize("seed", range(6))
def test_a_growing_conversation_is_rewritten_as_the_full_parse_does(
    seed: int, caches: BodyCaches
) -> None:
    """Twenty requests, each repeating the last: provenance recorded as replies arrive
    (sometimes for a block already in the history), the backend switched now and then,
    thinking turned off and on, a forced tool_choice."""
    rng = random.Random(seed)
    origins = ThinkingOrigins()
    backends = sorted(PRESETS)
    backend = rng.choice(backends)
    turns: list[dict[str, Any]] = []
    for i in range(20):
        turns += turn_pair(rng, i)
        if rng.random() < 0.5:  # the reply that produced a block, recorded late
            block = turns[-2]["content"][0]
            key = f"s:{block['signature']}" if "signature" in block else None
            if key:
                origins.record(rng.choice(backends), [key])
        if rng.random() < 0.15:
            backend = rng.choice(backends)
        top: dict[str, Any] = {}
        if rng.random() < 0.15:
            top["thinking"] = {"type": "disabled"}
        if rng.random() < 0.1:
            top["tool_choice"] = {"type": "tool", "name": "Read"}
        raw = request(turns, **top)
        assert split_path(raw, backend, origins, caches) == full_path(raw, backend, origins), (
            i,
            backend,
        )


def test_earlier_turns_are_reused_and_a_changed_verdict_is_not(caches: BodyCaches) -> None:
    origins = ThinkingOrigins()
    rng = random.Random(1)
    turns = [t for i in range(6) for t in turn_pair(rng, i)]
    raw = request(turns)
    backend = PRESETS["deepseek"]
    rewrite_split(
        raw, split(raw, caches.prefix), backend, origins.origin, caches
    )  # records turns 0..4

    def reused() -> int:
        body = LazyBody(
            split(raw, caches.prefix),
            rewritten_block_types(backend.quirks),
            caches,
            TurnReuse(backend, origins.origin, caches.turns),
        )
        return sum(isinstance(t, Reused) for t in body["messages"])

    assert reused() == 5  # every assistant turn but the last
    signed = next(t for t in turns[:-2] if "signature" in t["content"][0])
    origins.record("deepseek", [f"s:{signed['content'][0]['signature']}"])
    assert reused() == 4  # its provenance changed: the rules see it again


def test_a_reused_turn_nothing_changed_keeps_the_requests_bytes(caches: BodyCaches) -> None:
    """Anthropic's own signed blocks stay; an unsigned one (unknown) goes, so the body is
    re-encoded, but the turns nothing changed are written from the request's bytes."""
    origins = ThinkingOrigins()
    turns = []
    for i in range(4):
        signed = {"type": "thinking", "thinking": f"t{i}", "signature": f"own{i}"}
        origins.record("anthropic", [f"s:own{i}"])
        use = {"type": "tool_use", "id": f"t{i}", "name": "Read", "input": {"i": i}}
        turns += [
            {"role": "assistant", "content": [signed, {"type": "text", "text": f"step {i}"}, use]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}"}]},
        ]
    turns[4]["content"][0] = {"type": "thinking", "thinking": "unknown"}
    raw = request(turns).replace(b'"text":"step 0"', b'"text" : "step 0"')
    first = rewrite_split(
        raw, split(raw, caches.prefix), PRESETS["anthropic"], origins.origin, caches
    )
    second = rewrite_split(
        raw, split(raw, caches.prefix), PRESETS["anthropic"], origins.origin, caches
    )
    assert first == second != raw
    assert b'"text" : "step 0"' in second  # the client's own spacing: written as it came
    assert b'"unknown"' not in second


def test_turning_thinking_on_mid_conversation_records_the_turns_anew(caches: BodyCaches) -> None:
    """Records made while thinking was off do not fit once it is on: the first request
    with thinking on drops them and records afresh, so the next one reuses again."""
    origins = ThinkingOrigins()
    rng = random.Random(5)
    backend = PRESETS["deepseek"]
    turns: list[dict[str, Any]] = []
    for i in range(4):
        turns += turn_pair(rng, i)
        raw = request(turns, thinking={"type": "disabled"})
        assert split_path(raw, "deepseek", origins, caches) == full_path(raw, "deepseek", origins)
    for i in range(4, 6):
        turns += turn_pair(rng, i)
        raw = request(turns)
        assert split_path(raw, "deepseek", origins, caches) == full_path(raw, "deepseek", origins)
    body = LazyBody(
        split(raw, caches.prefix),
        rewritten_block_types(backend.quirks),
        caches,
        TurnReuse(backend, origins.origin, caches.turns),
    )
    assert sum(isinstance(t, Reused) for t in body["messages"]) == 5  # all but the last turn


@pytest.mark.parametrize("seed", range(6))
def test_a_rewound_or_edited_conversation_is_rewritten_as_the_full_parse_does(
    seed: int, caches: BodyCaches
) -> None:
    """Claude Code's rewind (Esc Esc) and compaction send fewer or other turns than the
    request before: nothing kept from the longer history may leak into the shorter one."""
    rng = random.Random(100 + seed)
    origins = ThinkingOrigins()
    backends = sorted(PRESETS)
    backend = rng.choice(backends)
    turns: list[dict[str, Any]] = []
    for i in range(40):
        roll = rng.random()
        if roll < 0.15 and turns:
            turns = turns[: rng.randrange(len(turns))]  # rewound to an earlier point
        elif roll < 0.25 and turns:
            k = rng.randrange(len(turns))
            turns[k] = {"role": turns[k]["role"], "content": f"edited {i}"}
        turns += turn_pair(rng, i)
        if rng.random() < 0.3:  # a block's maker learnt late, anywhere in the history
            block = rng.choice(turns[::2])["content"][0]
            if "signature" in block:
                origins.record(rng.choice(backends), [f"s:{block['signature']}"])
        if rng.random() < 0.1:
            backend = rng.choice(backends)
        raw = request(turns)
        for _ in range(2):  # and the same request again (a retry)
            assert split_path(raw, backend, origins, caches) == full_path(raw, backend, origins), i


def _tool_turns(n: int, edited: int | None = None) -> list[dict[str, Any]]:
    """An assistant tool call and its result, n times (result `edited` rewritten)."""
    turns: list[dict[str, Any]] = []
    for i in range(1, n + 1):
        call = {"type": "tool_use", "id": f"t{i}", "name": "Read", "input": {"i": i}}
        turns.append({"role": "assistant", "content": [{"type": "text", "text": f"{i}"}, call]})
        text = f"cleared {i}" if i == edited else f"out {i}"
        turns.append(
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": text}],
            }
        )
    return turns


@pytest.mark.parametrize("backend", ["deepseek", "anthropic", "kimi"])
def test_a_request_split_and_never_rewritten_leaves_no_stale_run(
    backend: str, caches: BodyCaches
) -> None:
    """Every attempt of a request can be refused before its body is built (a missing key):
    the conversation's record has moved on to it, what was kept of the request before
    must not stand in for its turns."""
    origins = ThinkingOrigins()
    for _ in range(2):
        raw = request(_tool_turns(3))
        split_path(raw, backend, origins, caches)
    split(request(_tool_turns(3, edited=1)), caches.prefix)  # split, never rewritten
    raw = request(_tool_turns(4, edited=1))
    assert split_path(raw, backend, origins, caches) == full_path(raw, backend, origins)


@pytest.mark.parametrize(("first", "fallback"), [("qwen", "anthropic"), ("anthropic", "deepseek")])
def test_a_fallback_rewritten_after_other_requests_uses_its_own_turns(
    first: str, fallback: str, caches: BodyCaches
) -> None:
    """A fallback attempt rewrites its request's split after an await, when requests of an
    edited branch of the conversation may have been split and rewritten meanwhile."""
    origins = ThinkingOrigins()
    for _ in range(2):
        split_path(request(_tool_turns(3)), fallback, origins, caches)
    raw_a = request(_tool_turns(4))
    split_a = split(raw_a, caches.prefix)
    rewrite_split(raw_a, split_a, PRESETS[first], origins.origin, caches)  # the first attempt
    for _ in range(2):  # meanwhile, another request sharing the first turns, edited
        split_path(request(_tool_turns(3, edited=1)), fallback, origins, caches)
    late = rewrite_split(raw_a, split_a, PRESETS[fallback], origins.origin, caches)
    assert msgspec.json.decode(late) == full_path(raw_a, fallback, origins)
    raw_b = request(_tool_turns(5, edited=1))  # and the branch goes on as before
    assert split_path(raw_b, fallback, origins, caches) == full_path(raw_b, fallback, origins)

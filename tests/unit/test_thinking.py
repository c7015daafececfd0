"""Signature-aware thinking: the provenance registry, the stream tracker, and the per-backend
policy of prepare_thinking (one test per rule), all pure."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from fakes import encode_events, message_events
from hotswap.config.backends import PRESETS, Quirks
from hotswap.router.sse import SSEParser
from hotswap.rules.events import StreamContext, fix_message, rewrite_event
from hotswap.rules.thinking import (
    EMPTY_TURN_NOTE,
    ThinkingOrigins,
    ThinkingTracker,
    block_key,
    prepare_thinking,
)

ANT = PRESETS["anthropic"].quirks
DS = PRESETS["deepseek"].quirks
KIMI = PRESETS["kimi"].quirks


def think(text: str, sig: str = "") -> dict[str, Any]:
    return {"type": "thinking", "thinking": text, "signature": sig}


def tool_loop(*first: dict[str, Any], thinking: str | None = "adaptive") -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "m",
        "max_tokens": 32000,
        "messages": [
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": [*first, {"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}],
            },
        ],
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "medium"},
    }
    if thinking:
        body["thinking"] = {"type": thinking}
    return body


def origins(**by_key: str) -> Any:
    registry = ThinkingOrigins()
    for key, backend in by_key.items():
        registry.record(backend, [key])
    return registry.origin


# -- registry and keys -----------------------------------------------------------------------


def test_block_key_prefers_the_signature_then_the_text() -> None:
    assert block_key(think("a", "S")) == "s:S"
    assert block_key(think("a")) == "t:a"
    assert block_key(think("")) is None
    assert block_key({"type": "redacted_thinking", "data": "D"}) == "r:D"
    assert block_key({"type": "text", "text": "x"}) is None


def test_registry_is_bounded_lru_and_stores_hashes_only() -> None:
    registry = ThinkingOrigins(capacity=2)
    registry.record("anthropic", ["s:A", "s:B"])
    assert registry.origin("s:A") == "anthropic"  # touch A: B is now the oldest
    registry.record("deepseek", ["s:C"])
    assert (registry.origin("s:A"), registry.origin("s:B"), registry.origin("s:C")) == (
        "anthropic",
        None,
        "deepseek",
    )
    assert len(registry) == 2
    assert all(isinstance(k, int) for k in registry._by_hash)  # a hash, not the signature


def test_tracker_collects_signed_unsigned_and_redacted_blocks_from_a_stream() -> None:
    events = message_events("hi", thinking="plan", signature="SIG1")
    unsigned = message_events("", thinking="kimi thoughts", signature=None)
    for _, data in unsigned:  # the fake always signs: strip it to mimic an unsigned backend
        if data.get("delta", {}).get("type") == "signature_delta":
            data["delta"] = {"type": "thinking_delta", "thinking": ""}
    redacted = (
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 5,
            "content_block": {"type": "redacted_thinking", "data": "R1"},
        },
    )
    ctx = StreamContext(backend="x")
    raw = encode_events([*events, *unsigned, redacted])
    for event in SSEParser().feed(raw):
        rewrite_event(event.name, event.data, ctx)
    assert ctx.thinking.keys == ["s:SIG1", "t:kimi thoughts", "r:R1"]
    assert [k for k in ctx.thinking.keys if k.startswith("s:")] == ["s:SIG1"]


def test_tracker_reads_non_streaming_bodies() -> None:
    ctx = StreamContext(backend="x")
    message = {"content": [think("a", "S"), think("b"), {"type": "text", "text": "t"}]}
    fix_message(message, ctx)
    assert ctx.thinking.keys == ["s:S", "t:b"]


def test_tracker_ignores_text_deltas_without_parsing() -> None:
    tracker = ThinkingTracker()
    tracker.feed("content_block_delta", b"not json at all")
    assert tracker.keys == []


# -- the filter ---------------------------------------------------------------------------------


def test_own_blocks_are_kept_verbatim_foreign_ones_dropped() -> None:
    body = tool_loop(think("mine", "A1"), think("theirs", "D1"))
    notes = prepare_thinking(
        body, "anthropic", ANT, origins(**{"s:A1": "anthropic", "s:D1": "deepseek"})
    )
    assert body["messages"][1]["content"][0] == think("mine", "A1")
    assert [b["type"] for b in body["messages"][1]["content"]] == ["thinking", "tool_use"]
    assert body["thinking"] == {"type": "adaptive"}  # own block first: thinking stays on
    assert notes == ["dropped 1 thinking block(s) not produced by anthropic"]


def test_unknown_provenance_is_dropped_unless_the_backend_keeps_it() -> None:
    body = tool_loop(think("old", "X"))
    prepare_thinking(body, "glm", PRESETS["glm"].quirks, origins())
    assert body["messages"][1]["content"][0]["type"] == "tool_use"
    keep = Quirks(unknown_thinking="keep")
    body = tool_loop(think("old", "X"))
    assert prepare_thinking(body, "glm", keep, origins()) == []


def test_anthropic_without_a_thinking_block_turns_thinking_off_and_what_depends_on_it() -> None:
    body = tool_loop(think("ds", "D1"))
    notes = prepare_thinking(body, "anthropic", ANT, origins(**{"s:D1": "deepseek"}))
    assert body["thinking"] == {"type": "disabled"}
    assert "context_management" not in body
    assert body["output_config"] == {"effort": "medium"}  # Anthropic takes effort without it
    assert "clear_thinking edit dropped" in notes


def test_deepseek_gets_an_empty_placeholder_and_keeps_thinking_on() -> None:
    body = tool_loop(think("ant", "A1"))
    prepare_thinking(body, "deepseek", DS, origins(**{"s:A1": "anthropic"}))
    assert body["messages"][1]["content"][0] == think("", "")
    assert body["thinking"]["type"] == "enabled"


def test_deepseek_thinking_is_on_by_default_when_the_key_is_absent() -> None:
    body = tool_loop(thinking=None)
    prepare_thinking(body, "deepseek", DS, origins())
    assert body["messages"][1]["content"][0] == think("", "")


def test_kimi_placeholder_is_not_empty() -> None:
    body = tool_loop()
    prepare_thinking(body, "kimi", KIMI, origins())
    assert body["messages"][1]["content"][0]["thinking"] == "(thinking omitted)"


def test_adaptive_becomes_enabled_with_a_budget_below_max_tokens() -> None:
    body = {
        "messages": [],
        "thinking": {"type": "adaptive", "display": "omitted"},
        "max_tokens": 4000,
    }
    prepare_thinking(body, "deepseek", DS, origins())
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 3999}
    tiny = {"messages": [], "thinking": {"type": "adaptive"}, "max_tokens": 500}
    prepare_thinking(tiny, "deepseek", DS, origins())
    assert tiny["thinking"] == {"type": "disabled"}


@pytest.mark.parametrize(
    ("backend", "thinking", "tool_choice"),
    [
        ("anthropic", {"type": "disabled"}, {"type": "tool", "name": "Bash"}),
        ("deepseek", {"type": "disabled"}, {"type": "tool", "name": "Bash"}),
        ("kimi", {"type": "enabled", "budget_tokens": 16000}, {"type": "auto"}),
    ],
)
def test_forced_tool_choice_with_thinking(backend: str, thinking: Any, tool_choice: Any) -> None:
    body = {
        "messages": [],
        "thinking": {"type": "adaptive"},
        "max_tokens": 32000,
        "tool_choice": {"type": "tool", "name": "Bash"},
        "output_config": {"effort": "low"},
    }
    prepare_thinking(body, backend, PRESETS[backend].quirks, origins())
    assert (body["thinking"], body["tool_choice"]) == (thinking, tool_choice)
    if backend == "deepseek":
        assert "output_config" not in body  # effort_needs_thinking


def test_disabling_strips_thinking_from_a_trailing_prefill() -> None:
    body = tool_loop()
    body["messages"].append(
        {"role": "assistant", "content": [think("p", "A9"), {"type": "text", "text": "x"}]}
    )
    body["tool_choice"] = {"type": "any"}
    prepare_thinking(body, "anthropic", ANT, origins(**{"s:A9": "anthropic"}))
    assert body["messages"][-1]["content"] == [{"type": "text", "text": "x"}]


def test_an_assistant_turn_left_empty_gets_a_note() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [think("x", "Z")]},
            {"role": "user", "content": "next"},
        ]
    }
    prepare_thinking(body, "qwen", PRESETS["qwen"].quirks, origins())
    assert body["messages"][1]["content"] == [{"type": "text", "text": EMPTY_TURN_NOTE}]


def test_the_original_body_is_never_mutated() -> None:
    body = tool_loop(think("ant", "A1"), {"type": "redacted_thinking", "data": "R"})
    snapshot = copy.deepcopy(body)
    for backend in PRESETS:
        payload = dict(body)
        prepare_thinking(
            payload, backend, PRESETS[backend].quirks, origins(**{"s:A1": "anthropic"})
        )
        assert json.dumps(body, sort_keys=True) == json.dumps(snapshot, sort_keys=True)


def test_backends_without_requirements_leave_thinking_alone() -> None:
    body = tool_loop(thinking="enabled")
    body["thinking"]["budget_tokens"] = 2000
    assert prepare_thinking(body, "qwen", PRESETS["qwen"].quirks, origins()) == []


def test_tracker_keeps_interleaved_unsigned_blocks_apart_and_decodes_each_delta_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two unsigned thinking blocks open at once (a broken or unusual upstream): each gets
    its own text, and each kept delta is decoded once however many blocks stop after it."""
    import hotswap.rules.thinking as thinking_module

    decoded: list[bytes] = []
    real = thinking_module.loads_or_none

    def counting(data: bytes) -> object:
        if b"thinking_delta" in data:
            decoded.append(data)
        return real(data)

    monkeypatch.setattr(thinking_module, "loads_or_none", counting)
    tracker = ThinkingTracker()

    def event(name: str, obj: dict[str, object]) -> None:
        tracker.feed(name, json.dumps(obj).encode())

    for i in (0, 1, 2):
        block = {"type": "thinking", "thinking": "", "signature": ""}
        event(
            "content_block_start",
            {"type": "content_block_start", "index": i, "content_block": block},
        )
    for n in range(3):
        for i in (0, 1, 2):
            delta = {"type": "thinking_delta", "thinking": f"{i}.{n} "}
            event(
                "content_block_delta", {"type": "content_block_delta", "index": i, "delta": delta}
            )
    for i in (0, 1, 2):
        event("content_block_stop", {"type": "content_block_stop", "index": i})
    assert tracker.keys == [f"t:{i}.0 {i}.1 {i}.2 " for i in (0, 1, 2)]
    assert len(decoded) == 9  # not 9 + 6 + 3

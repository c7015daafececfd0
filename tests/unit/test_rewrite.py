"""Pure rewrites: one test per rule (model map, quirks, usage normalisation, lenient JSON)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from hotswap.config.backends import PRESETS, Backend, Quirks
from hotswap.reading.jsoncodec import parse_json_body
from hotswap.rules.events import (
    BrokenEvent,
    StreamContext,
    fix_message,
    normalise_usage,
    rewrite_event,
)
from hotswap.rules.rewrite import map_model, rewrite_request

MAPPED = Backend(
    name="kimi",
    base_url="http://127.0.0.1:9",
    models=(
        ("claude-opus-*", "kimi-k3"),
        ("claude-*", "kimi-k2.7-code"),
        ("claude-opus-5-5", "never-reached"),
    ),
)
UNMAPPED = Backend(name="plain", base_url="http://127.0.0.1:9")


# --- map_model ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("claude-opus-5-5", "kimi-k3"),  # first match wins, not the exact later entry
        ("claude-sonnet-5-5", "kimi-k2.7-code"),
        ("claude-haiku-5-5", "kimi-k2.7-code"),
        ("gpt-7", "gpt-7"),  # no glob matches: unchanged
        ("claude-opus-5-5[1m]", "kimi-k3"),  # the [1m] suffix is stripped before matching
        ("claude-sonnet-5-5[1m]", "kimi-k2.7-code"),
    ],
)
def test_map_model_globs(model: str, expected: str) -> None:
    assert map_model(model, MAPPED) == expected


def test_map_model_globs_are_case_sensitive() -> None:
    assert map_model("CLAUDE-OPUS-5-5", MAPPED) == "CLAUDE-OPUS-5-5"


@pytest.mark.parametrize("model", ["claude-opus-5-5", "vendor/some-model", "x"])
def test_no_model_map_is_identity(model: str) -> None:
    assert map_model(model, UNMAPPED) == model


def test_no_model_map_still_strips_the_context_suffix() -> None:
    assert map_model("claude-sonnet-5-5[1m]", UNMAPPED) == "claude-sonnet-5-5"


def test_anthropic_preset_keeps_the_model_verbatim() -> None:
    assert map_model("claude-sonnet-5-5[1m]", PRESETS["anthropic"]) == "claude-sonnet-5-5[1m]"


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("claude-opus-5-5", "deepseek-v4-pro"),
        ("claude-opus-4-7[1m]", "deepseek-v4-pro"),
        ("claude-sonnet-5-5", "deepseek-v4-flash"),
        ("claude-haiku-5-5", "deepseek-v4-flash"),
    ],
)
def test_deepseek_preset_model_map(model: str, expected: str) -> None:
    assert map_model(model, PRESETS["deepseek"]) == expected


# --- rewrite_request ----------------------------------------------------------------------


def _claude_code_body() -> dict[str, Any]:
    return {
        "model": "claude-opus-5-5",
        "max_tokens": 128000,
        "messages": [{"role": "user", "content": "hi"}],
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "medium"},
        "stream": True,
    }


def test_rewrite_request_for_deepseek_maps_model_and_drops_quirk_fields() -> None:
    body = _claude_code_body()
    assert rewrite_request(body, PRESETS["deepseek"]) is True
    assert body["model"] == "deepseek-v4-pro"
    assert "context_management" not in body
    assert body["output_config"] == {"effort": "medium"}  # not declared as a quirk
    assert body["max_tokens"] == 128000


def test_rewrite_request_for_anthropic_changes_nothing() -> None:
    body = _claude_code_body()
    before = json.dumps(body)
    assert rewrite_request(body, PRESETS["anthropic"]) is False
    assert json.dumps(body) == before


def test_rewrite_request_caps_max_tokens() -> None:
    capped = Backend(name="c", base_url="http://x", quirks=Quirks(max_tokens_cap=8192))
    body = {"model": "m", "max_tokens": 128000}
    assert rewrite_request(body, capped) is True
    assert body["max_tokens"] == 8192
    small = {"model": "m", "max_tokens": 100}
    assert rewrite_request(small, capped) is False
    assert small["max_tokens"] == 100


def test_rewrite_request_reports_a_drop_alone_as_a_change() -> None:
    dropper = Backend(name="d", base_url="http://x", quirks=Quirks(drop_fields=("metadata",)))
    body = {"model": "m", "metadata": {"user_id": "u"}}
    assert rewrite_request(body, dropper) is True
    assert body == {"model": "m"}
    assert rewrite_request(body, dropper) is False


def test_rewrite_request_tolerates_a_missing_or_odd_model() -> None:
    body: dict[str, Any] = {"max_tokens": 5, "model": None}
    assert rewrite_request(body, PRESETS["deepseek"]) is False
    assert body == {"max_tokens": 5, "model": None}


# --- normalise_usage ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (None, {"input_tokens": 0, "output_tokens": 0}),
        ({}, {"input_tokens": 0, "output_tokens": 0}),
        ("garbage", {"input_tokens": 0, "output_tokens": 0}),
        ({"input_tokens": None, "output_tokens": None}, {"input_tokens": 0, "output_tokens": 0}),
        ({"input_tokens": "12", "output_tokens": "7"}, {"input_tokens": 12, "output_tokens": 7}),
        ({"input_tokens": 12.9, "output_tokens": 7.0}, {"input_tokens": 12, "output_tokens": 7}),
        ({"input_tokens": True, "output_tokens": "x"}, {"input_tokens": 0, "output_tokens": 0}),
        ({"input_tokens": "²", "output_tokens": "-3"}, {"input_tokens": 0, "output_tokens": 0}),
        (
            {"input_tokens": float("nan"), "output_tokens": float("inf")},
            {"input_tokens": 0, "output_tokens": 0},
        ),
        (
            {"input_tokens": 1, "output_tokens": 2, "cache_read_input_tokens": None},
            {"input_tokens": 1, "output_tokens": 2, "cache_read_input_tokens": 0},
        ),
        (
            {"input_tokens": 1, "output_tokens": 2, "cache_creation_input_tokens": "5"},
            {"input_tokens": 1, "output_tokens": 2, "cache_creation_input_tokens": 5},
        ),
        (
            {"input_tokens": 1, "output_tokens": 2, "service_tier": "standard"},
            {"input_tokens": 1, "output_tokens": 2, "service_tier": "standard"},
        ),
    ],
)
def test_normalise_usage(usage: Any, expected: dict[str, Any]) -> None:
    assert normalise_usage(usage) == expected


def test_normalise_usage_does_not_mutate_its_input() -> None:
    usage = {"input_tokens": None}
    normalise_usage(usage)
    assert usage == {"input_tokens": None}


# --- rewrite_event ------------------------------------------------------------------------


def test_message_start_without_usage_gets_numeric_usage() -> None:
    ctx = StreamContext(backend="deepseek")
    data = json.dumps(
        {"type": "message_start", "message": {"id": "m", "model": "deepseek-v4-pro"}}
    ).encode()
    new = rewrite_event("message_start", data, ctx)
    assert new is not None
    message = msgspec.json.decode(new)["message"]
    assert message["usage"] == {"input_tokens": 0, "output_tokens": 0}
    assert ctx.model == "deepseek-v4-pro"


def test_message_start_without_message_gets_one() -> None:
    new = rewrite_event("message_start", b'{"type":"message_start"}', StreamContext("x"))
    assert new is not None
    assert msgspec.json.decode(new)["message"]["usage"] == {"input_tokens": 0, "output_tokens": 0}


def test_message_start_with_good_usage_is_relayed_unchanged() -> None:
    ctx = StreamContext(backend="anthropic")
    data = b'{"type":"message_start","message":{"usage":{"input_tokens":9,"output_tokens":1}}}'
    assert rewrite_event("message_start", data, ctx) is None
    assert (ctx.input_tokens, ctx.output_tokens) == (9, 1)


def test_message_delta_without_usage_gets_output_tokens() -> None:
    ctx = StreamContext(backend="deepseek")
    data = b'{"type":"message_delta","delta":{"stop_reason":"end_turn"}}'
    new = rewrite_event("message_delta", data, ctx)
    assert new is not None
    assert msgspec.json.decode(new)["usage"] == {"output_tokens": 0}
    assert ctx.stop_reason == "end_turn"


def test_message_delta_with_string_usage_is_fixed_and_counted() -> None:
    ctx = StreamContext(backend="deepseek")
    data = b'{"type":"message_delta","delta":{},"usage":{"output_tokens":"41"}}'
    new = rewrite_event("message_delta", data, ctx)
    assert new is not None
    assert msgspec.json.decode(new)["usage"] == {"output_tokens": 41}
    assert ctx.output_tokens == 41


def test_non_json_data_of_an_event_nothing_reads_is_relayed_unchanged() -> None:
    assert rewrite_event("content_block_delta", b"not json", StreamContext("x")) is None


@pytest.mark.parametrize("name", ["message_start", "message_delta"])
@pytest.mark.parametrize("data", [b"not json", b'{"type":"message_', b"[1]"])
def test_an_event_the_router_reads_that_is_not_a_json_object_is_broken(
    name: str, data: bytes
) -> None:
    with pytest.raises(BrokenEvent, match=f"a {name} event that is not a JSON object"):
        rewrite_event(name, data, StreamContext("x"))


def test_other_events_are_relayed_unchanged_and_signatures_counted() -> None:
    ctx = StreamContext(backend="anthropic")
    text = b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}'
    start = b'{"type":"content_block_start","index":1,"content_block":{"type":"thinking"}}'
    sig = (
        b'{"type":"content_block_delta","index":1,'
        b'"delta":{"type":"signature_delta","signature":"S1"}}'
    )
    assert rewrite_event("content_block_start", start, ctx) is None
    assert rewrite_event("content_block_delta", text, ctx) is None
    assert rewrite_event("content_block_delta", sig, ctx) is None
    assert rewrite_event("ping", b'{"type":"ping"}', ctx) is None
    assert ctx.thinking.keys == ["s:S1"]


def test_fix_message_fills_a_non_streaming_body_without_usage() -> None:
    ctx = StreamContext(backend="deepseek")
    message: dict[str, Any] = {"type": "message", "content": [{"type": "text", "text": "hi"}]}
    assert fix_message(message, ctx) is True
    assert message["usage"] == {"input_tokens": 0, "output_tokens": 0}


# --- parse_json_body ----------------------------------------------------------------------


def test_parse_json_body_replaces_lone_surrogates() -> None:
    raw = b'{"messages":[{"content":"cut emoji \\ud83d here"}],"\\udc00key":1}'
    body = parse_json_body(raw)
    assert body["messages"][0]["content"] == "cut emoji \ufffd here"
    assert body["\ufffdkey"] == 1
    msgspec.json.encode(body)  # and it can be re-encoded for the upstream


def test_parse_json_body_keeps_valid_surrogate_pairs() -> None:
    assert parse_json_body(b'{"t":"\\ud83d\\ude00"}') == {"t": "\U0001f600"}


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b'{"a": 1} trailing'])
def test_parse_json_body_raises_value_error_on_junk(raw: bytes) -> None:
    with pytest.raises(ValueError):
        parse_json_body(raw)

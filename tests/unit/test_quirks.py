"""Quirk profiles as data: one test per rule of apply_quirks, config overrides, presets."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from hotswap.config.backends import PRESETS, QUIRK_TYPES, Quirks
from hotswap.config.loading import load_config
from hotswap.rules.quirks import MEDIA_NOTE, apply_quirks
from hotswap.rules.rewrite import rewrite_request

IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA=="}}


def body(**extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-opus-5-5",
        "max_tokens": 128000,
        "system": [
            {
                "type": "text",
                "text": "x-anthropic-billing-header: cc_version=1.2.3; cc_entrypoint=cli;",
            },
            {
                "type": "text",
                "text": "You are Claude Code.",
                "cache_control": {"type": "ephemeral"},
            },
        ],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "look"}, IMAGE]},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t", "name": "Read", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t",
                        "content": [IMAGE, {"type": "tool_reference", "tool_name": "Grep"}],
                    }
                ],
            },
        ],
        "tools": [
            {"name": "Bash", "input_schema": {}},
            {
                "name": "Lsp",
                "input_schema": {},
                "defer_loading": True,
                "cache_control": {"type": "ephemeral"},
            },
        ],
        "context_management": {"edits": []},
        **extra,
    }


def test_drop_fields() -> None:
    b = body()
    assert apply_quirks(b, Quirks(drop_fields=("context_management",))) == [
        "context_management dropped"
    ]
    assert "context_management" not in b


def test_max_tokens_default_and_cap() -> None:
    b = body()
    del b["max_tokens"]
    apply_quirks(b, Quirks(max_tokens_default=32000))
    assert b["max_tokens"] == 32000
    count = body()
    del count["max_tokens"]
    apply_quirks(count, Quirks(max_tokens_default=32000), count_tokens=True)
    assert "max_tokens" not in count  # count_tokens takes no max_tokens
    capped = body()
    apply_quirks(capped, Quirks(max_tokens_cap=8192))
    assert capped["max_tokens"] == 8192


def test_drop_tool_fields() -> None:
    b = body()
    apply_quirks(b, Quirks(drop_tool_fields=("defer_loading", "cache_control")))
    assert b["tools"][1] == {"name": "Lsp", "input_schema": {}}


def test_billing_header_dropped_from_a_list_or_a_string() -> None:
    b = body()
    apply_quirks(b, Quirks(drop_billing_header=True))
    assert [s["text"] for s in b["system"]] == ["You are Claude Code."]
    s = {"system": "x-anthropic-billing-header: cc_version=1;\nBe brief."}
    apply_quirks(s, Quirks(drop_billing_header=True))
    assert s["system"] == "Be brief."


def test_text_only_replaces_images_top_level_and_inside_tool_results() -> None:
    b = body()
    apply_quirks(b, Quirks(text_only=True))
    note = {"type": "text", "text": MEDIA_NOTE.format(kind="image")}
    assert b["messages"][0]["content"][1] == note
    assert b["messages"][2]["content"][0]["content"][0] == note


def test_tool_reference_as_text() -> None:
    b = body()
    apply_quirks(b, Quirks(tool_reference_as_text=True))
    inner = b["messages"][2]["content"][0]["content"]
    assert inner[1] == {"type": "text", "text": "Tool loaded: Grep"}
    assert inner[0] == IMAGE  # untouched


def test_nothing_nested_in_the_original_is_mutated() -> None:
    original = body()
    snapshot = copy.deepcopy(original)
    for backend in PRESETS.values():
        rewrite_request(dict(original), backend)
    assert original == snapshot


def test_no_quirks_no_changes() -> None:
    b = body()
    assert apply_quirks(b, Quirks()) == []
    assert b == body()


def test_quirks_validate_their_choices() -> None:
    with pytest.raises(TypeError, match="thinking_required"):
        Quirks.from_mapping({"thinking_required": "sometimes"})
    with pytest.raises(TypeError, match="unknown_thinking"):
        Quirks(unknown_thinking="maybe").check()


def test_every_preset_has_valid_quirks() -> None:
    for backend in PRESETS.values():
        assert backend.quirks.check() is backend.quirks


def test_every_quirk_has_a_config_type() -> None:
    assert set(Quirks._fields) == set(QUIRK_TYPES)


@pytest.mark.parametrize(
    ("name", "alias", "env", "url"),
    [
        ("deepseek", "ds", "DEEPSEEK_API_KEY", "https://api.deepseek.com/anthropic"),
        ("kimi", "moonshot", "MOONSHOT_API_KEY", "https://api.moonshot.ai/anthropic"),
        ("glm", "zhipu", "ZAI_API_KEY", "https://api.z.ai/api/anthropic"),
        (
            "qwen",
            "dashscope",
            "DASHSCOPE_API_KEY",
            "https://dashscope-intl.aliyuncs.com/apps/anthropic",
        ),
        ("minimax", "minimax", "MINIMAX_API_KEY", "https://api.minimax.io/anthropic"),
        ("fireworks", "fw", "FIREWORKS_API_KEY", "https://api.fireworks.ai/inference"),
        ("openrouter", "or", "OPENROUTER_API_KEY", "https://openrouter.ai/api"),
    ],
)
def test_presets_resolve_by_alias(home: Path, name: str, alias: str, env: str, url: str) -> None:
    backend = load_config().resolve(alias)
    assert backend is not None
    assert (backend.name, backend.api_key_env, backend.base_url) == (name, env, url)


def test_config_overrides_a_quirk(home: Path) -> None:
    (home / "config.toml").write_text(
        '[backends.deepseek.quirks]\ntext_only = false\nthinking_placeholder = "..."\n'
    )
    quirks = load_config().backends["deepseek"].quirks
    assert quirks.text_only is False
    assert quirks.thinking_placeholder == "..."


def test_from_mapping_keeps_the_base_profile_for_unnamed_keys() -> None:
    base = PRESETS["deepseek"].quirks
    quirks = Quirks.from_mapping({"text_only": False}, base)
    assert quirks.text_only is False
    assert quirks.thinking_required == "tool_turns"
    assert quirks.drop_fields == ("context_management",)

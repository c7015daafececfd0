"""The per-block walks of the request rewrite (quirks.py, thinking.py) are plain loops for
speed; these pin what they must still do: copy only what changes, reach nested
tool_result contents, and leave odd shapes alone."""

from __future__ import annotations

import copy
from typing import Any

from hotswap.config.backends import PRESETS, Quirks
from hotswap.rules.quirks import MEDIA_NOTE, apply_quirks
from hotswap.rules.thinking import prepare_thinking

IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "x"}}


def _body(*messages: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 100, "messages": list(messages)}


def test_untouched_messages_are_the_same_objects() -> None:
    plain = {"role": "user", "content": [{"type": "text", "text": "hi"}]}
    odd = {"role": "user", "content": "a string"}
    body = _body(plain, odd, "not a message", {"role": "user", "content": [7, None]})
    messages = body["messages"]
    assert apply_quirks(body, Quirks(text_only=True, tool_reference_as_text=True)) == []
    assert body["messages"] is messages


def test_nested_tool_results_are_rewritten_and_only_the_changed_path_copied() -> None:
    inner = {"type": "tool_result", "tool_use_id": "b", "content": [IMAGE]}
    outer = {"type": "tool_result", "tool_use_id": "a", "content": [inner, "raw"]}
    keep = {"role": "user", "content": [{"type": "text", "text": "same"}]}
    body = _body(keep, {"role": "user", "content": [outer, IMAGE]})
    original = copy.deepcopy(body)
    notes = apply_quirks(body, Quirks(text_only=True))
    assert notes == ["image/document -> text note"]  # fired twice, noted once
    assert body["messages"][0] is keep
    new_outer, new_image = body["messages"][1]["content"]
    assert new_image == {"type": "text", "text": MEDIA_NOTE.format(kind="image")}
    assert new_outer["content"][1] == "raw"
    assert new_outer["content"][0]["content"] == [new_image]
    assert outer["content"][0] is inner and inner["content"] == [IMAGE]  # original intact
    assert original["messages"][1] == {"role": "user", "content": [outer, IMAGE]}


def test_tool_result_with_string_content_is_left_alone() -> None:
    block = {"type": "tool_result", "tool_use_id": "a", "content": '{"type":"image"}'}
    body = _body({"role": "user", "content": [block]})
    assert apply_quirks(body, Quirks(text_only=True)) == []
    assert body["messages"][0]["content"][0] is block


def test_tool_turns_need_thinking_except_the_final_message() -> None:
    quirks = PRESETS["deepseek"].quirks
    use = {"type": "tool_use", "id": "t", "name": "Bash", "input": {}}
    turn = {"role": "assistant", "content": [{"type": "text", "text": "x"}, use]}
    result = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]}
    no_tool = {"role": "assistant", "content": [{"type": "text", "text": "y"}]}
    body = _body(turn, result, no_tool, {"role": "user", "content": "go"}, turn)
    notes = prepare_thinking(body, "deepseek", quirks, lambda key: None)
    assert notes == ["placeholder thinking added to 1 tool turn(s)"]
    first, _, untouched, _, last = body["messages"]
    assert first["content"][0] == {"type": "thinking", "thinking": "", "signature": ""}
    assert untouched is no_tool and last is turn  # a trailing (prefill) turn is not a tool turn

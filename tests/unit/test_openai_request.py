"""Anthropic Messages request -> Chat Completions request (wire/openai_request.py), on plain
values. Every translated request must pass the fake's check against the `openai` package's
own request types (tests/fake_openai.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import emulators as emu
from fake_openai import check_request
from hotswap.config.backends import PRESETS
from hotswap.rules.rewrite import request_changes
from hotswap.wire.openai_request import DOCUMENT_NOTE, ERROR_PREFIX, effort_of, to_chat_request

SHAPES = emu.load_shapes()
PNG = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}


def chat(body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    out = to_chat_request({"model": "m", "max_tokens": 100, **body}, **kwargs)
    assert check_request(out) is None, check_request(out)
    return out


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_recorded_claude_code_request_translates_to_a_valid_one(name: str) -> None:
    body = json.loads(json.dumps(SHAPES[name]["body"]))
    request_changes(body, PRESETS["openai"])
    out = to_chat_request(body, max_completion_tokens=True, reasoning_effort=True)
    assert check_request(out) is None, check_request(out)
    text = json.dumps(out)
    for dropped in ("context_management", "output_config", "cache_control", "defer_loading"):
        assert dropped not in text
    assert "metadata" not in out and "thinking" not in out
    assert out["max_completion_tokens"] == body["max_tokens"]
    assert out["stream_options"] == {"include_usage": True}


def test_system_string_and_blocks() -> None:
    assert chat({"system": "be brief", "messages": []})["messages"] == [
        {"role": "system", "content": "be brief"}
    ]
    blocks = [{"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}}]
    blocks.append({"type": "text", "text": "b"})
    out = chat({"system": blocks, "messages": [{"role": "user", "content": "hi"}]})
    assert out["messages"] == [
        {"role": "system", "content": "a\n\nb"},
        {"role": "user", "content": "hi"},
    ]


def test_a_system_message_inside_messages_stays_a_system_message() -> None:
    out = chat({"messages": [{"role": "system", "content": "x"}, {"role": "user", "content": "y"}]})
    assert out["messages"][0] == {"role": "system", "content": "x"}


def test_images_base64_and_url() -> None:
    url = {"type": "url", "url": "https://example.test/cat.png"}
    content = [
        {"type": "text", "text": "look"},
        {"type": "image", "source": PNG},
        {"type": "image", "source": url},
    ]
    out = chat({"messages": [{"role": "user", "content": content}]})
    assert out["messages"][0]["content"] == [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.test/cat.png"}},
    ]


def test_documents_become_text() -> None:
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf"}}
    text = {"type": "document", "source": {"type": "text", "data": "the doc"}}
    out = chat({"messages": [{"role": "user", "content": [pdf, text]}]})
    assert out["messages"][0]["content"] == f"{DOCUMENT_NOTE}\n\nthe doc"


def tool_loop(result: dict[str, Any]) -> list[dict[str, Any]]:
    call = {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}
    return [
        {"role": "user", "content": "list"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "t"}, call]},
        {"role": "user", "content": [result, {"type": "text", "text": "and?"}]},
    ]


def test_tool_use_and_tool_result() -> None:
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.txt"}
    out = chat({"messages": tool_loop(result)})
    assert out["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "toolu_1",
                    "type": "function",
                    "function": {"name": "Bash", "arguments": '{"command":"ls"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_1", "content": "a.txt"},
        {"role": "user", "content": "and?"},
    ]


def test_error_results_and_results_holding_images() -> None:
    result = {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "is_error": True,
        "content": [{"type": "text", "text": "boom"}, {"type": "image", "source": PNG}],
    }
    out = chat({"messages": tool_loop(result)})
    tool, user = out["messages"][2:]
    assert tool == {"role": "tool", "tool_call_id": "toolu_1", "content": ERROR_PREFIX + "boom"}
    assert user["content"][0] == {"type": "text", "text": "(image returned by tool call toolu_1)"}
    assert user["content"][1]["type"] == "image_url"
    assert user["content"][2] == {"type": "text", "text": "and?"}


def test_tools_and_tool_choice() -> None:
    tools = [
        {"name": "Bash", "description": "run", "input_schema": {"type": "object"}, "x": 1},
        {"type": "web_search_20250305", "name": "web_search"},  # a server tool: no form
    ]
    out = chat({"tools": tools, "tool_choice": {"type": "tool", "name": "Bash"}, "messages": []})
    assert out["tools"] == [
        {
            "type": "function",
            "function": {"name": "Bash", "description": "run", "parameters": {"type": "object"}},
        }
    ]
    assert out["tool_choice"] == {"type": "function", "function": {"name": "Bash"}}
    for choice, expected in (("auto", "auto"), ("any", "required"), ("none", "none")):
        got = chat({"tools": tools, "tool_choice": {"type": choice}, "messages": []})
        assert got["tool_choice"] == expected
    no_parallel = {"type": "auto", "disable_parallel_tool_use": True}
    assert (
        chat({"tools": tools, "tool_choice": no_parallel, "messages": []})["parallel_tool_calls"]
        is False
    )


def test_sampling_stop_and_max_tokens() -> None:
    body = {"temperature": 0.2, "top_p": 0.9, "top_k": 5, "stop_sequences": ["END"], "messages": []}
    out = chat(body)
    assert (out["temperature"], out["top_p"], out["stop"], out["max_tokens"]) == (
        0.2,
        0.9,
        ["END"],
        100,
    )
    assert "top_k" not in out
    assert chat({"messages": []}, max_completion_tokens=True)["max_completion_tokens"] == 100


@pytest.mark.parametrize(
    ("thinking", "config", "effort"),
    [
        ({"type": "enabled", "budget_tokens": 1024}, None, "low"),
        ({"type": "enabled", "budget_tokens": 8000}, None, "medium"),
        ({"type": "enabled", "budget_tokens": 32000}, None, "high"),
        ({"type": "adaptive"}, {"effort": "low"}, "low"),
        ({"type": "adaptive"}, {"effort": "max"}, "high"),
        ({"type": "disabled"}, {"effort": "high"}, None),
        (None, None, None),
    ],
)
def test_thinking_maps_to_reasoning_effort(
    thinking: dict[str, Any] | None, config: dict[str, Any] | None, effort: str | None
) -> None:
    body: dict[str, Any] = {"messages": []}
    if thinking:
        body["thinking"] = thinking
    if config:
        body["output_config"] = config
    assert effort_of(body) == effort
    out = chat(body, reasoning_effort=True)
    assert out.get("reasoning_effort") == effort
    assert "reasoning_effort" not in chat(body)  # only where the endpoint has it


def test_streaming_asks_for_usage() -> None:
    out = chat({"stream": True, "messages": []})
    assert out["stream"] is True and out["stream_options"] == {"include_usage": True}
    assert "stream" not in chat({"messages": []})

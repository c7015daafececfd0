"""The request classes on the requests the pinned Claude Code really sent (recorded by
tests/support/record_routes.py into tests/data/routes/), and on the ones that must not
match; each class is read from the body layer's split, never a whole-body decode."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hotswap.body import BodyCaches, RequestBody
from hotswap.routes.classes import Facts, classes

DATA = Path(__file__).resolve().parents[1] / "data" / "routes"
HIGH = 10**9  # a long_context threshold nothing reaches


def recorded(name: str) -> list[dict[str, Any]]:
    return list(json.loads((DATA / f"{name}.json").read_text()))


def body_of(request: dict[str, Any], caches: BodyCaches | None = None) -> RequestBody:
    raw = json.dumps(request["body"]).encode()
    return RequestBody.parse(raw, caches or BodyCaches())


def of(request: dict[str, Any], above: int = HIGH) -> set[str]:
    return set(classes(body_of(request), request["headers"], above))


MAIN = {"opus", "thinking"}  # every main turn of Claude Code on its default model


@pytest.mark.parametrize(
    ("name", "index", "expected"),
    [
        ("subagent", 0, MAIN),
        ("subagent", 1, MAIN),
        ("subagent", 2, MAIN | {"subagent"}),
        ("subagent", 3, MAIN),
        ("image", 0, MAIN),
        ("image", 1, MAIN | {"image"}),
        ("haiku", 0, {"haiku", "thinking"}),
        ("interactive", 0, {"background", "opus"}),
        ("interactive", 1, MAIN),
    ],
)
def test_each_recorded_request_is_of_exactly_its_classes(
    name: str, index: int, expected: set[str]
) -> None:
    request = recorded(name)[index]
    assert of(request) == expected, request["note"]


def test_the_recordings_carry_the_signals_the_classes_read() -> None:
    """Guards the recordings themselves: what docs/claude-code.md says they show."""
    sub = recorded("subagent")
    assert [("x-claude-code-agent-id" in r["headers"]) for r in sub] == [0, 0, 1, 0]
    title = recorded("interactive")[0]["body"]
    assert title["tools"] == [] and "thinking" not in title and "context_management" not in title
    assert "naming a coding session" in title["system"][2]["text"]


def test_the_same_classes_through_the_prefix_splitter() -> None:
    """A conversation's next request is split from its record (body/prefix.py): the image
    in its new turn is still seen, the one of an earlier turn no longer counts."""
    caches = BodyCaches()
    first, second = recorded("image")
    assert "image" not in classes(body_of(first, caches), first["headers"], HIGH)
    assert "image" in classes(body_of(second, caches), second["headers"], HIGH)
    later = json.loads(json.dumps(second))
    later["body"]["messages"] += [
        {"role": "assistant", "content": [{"type": "text", "text": "A red square."}]},
        {"role": "user", "content": [{"type": "text", "text": "thanks"}]},
    ]
    assert "image" not in classes(body_of(later, caches), later["headers"], HIGH)


def test_long_context_is_estimated_from_the_body_size() -> None:
    request = recorded("interactive")[1]
    size = body_of(request).size
    assert "long_context" in of(request, above=size // 4 - 1)
    assert "long_context" not in of(request, above=size // 4)


def test_web_search_is_an_anthropic_server_tool_in_tools() -> None:
    request = json.loads(json.dumps(recorded("interactive")[1]))
    assert "web_search" not in of(request)
    request["body"]["tools"].append({"type": "web_search_20250305", "name": "web_search"})
    assert "web_search" in of(request)
    request["body"]["tools"][-1] = {"type": "web_fetch_20250910", "name": "web_fetch"}
    assert "web_search" in of(request)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"thinking": {"type": "disabled"}}, False),
        ({"thinking": {"type": "enabled", "budget_tokens": 2048}}, True),
        ({"thinking": None}, False),
    ],
)
def test_thinking_is_enabled_thinking(change: dict[str, Any], expected: bool) -> None:
    request = json.loads(json.dumps(recorded("haiku")[0]))
    request["body"].update(change)
    if change["thinking"] is None:
        del request["body"]["thinking"]
    assert ("thinking" in of(request)) is expected


@pytest.mark.parametrize(
    ("change", "background"),
    [
        ({"tools": []}, True),
        ({"tools": None}, True),  # no tools key at all
        ({"max_tokens": 1}, True),  # a quota check
        ({"max_tokens": 32000}, False),
    ],
)
def test_background_is_a_request_outside_the_agent_loop(
    change: dict[str, Any], background: bool
) -> None:
    request = json.loads(json.dumps(recorded("haiku")[0]))
    for key, value in change.items():
        if value is None:
            del request["body"][key]
        else:
            request["body"][key] = value
    assert ("background" in of(request)) is background


def test_a_subagent_is_never_background() -> None:
    request = json.loads(json.dumps(recorded("subagent")[2]))
    request["body"]["tools"] = []
    assert of(request) >= {"subagent"} and "background" not in of(request)


def test_a_body_outside_claude_codes_shape_is_classified_the_same() -> None:
    """A key the typed shape does not know sends the body through the generic split."""
    request = json.loads(json.dumps(recorded("image")[1]))
    request["body"]["new_api_parameter"] = True
    assert of(request) == MAIN | {"image"}


def test_facts_read_each_class_once() -> None:
    request = recorded("interactive")[0]
    facts = Facts(body_of(request), request["headers"])
    assert facts.is_("background") and facts.is_("background")
    assert facts._known == {"background": True, "subagent": False}

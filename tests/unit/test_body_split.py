"""The split request path (body.py, request_shape.py) must rewrite exactly as the full
parse does: the same rules, the same result, for every backend; only the bytes no rule
touched may differ in layout (they are the client's own)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from bodygen import IMAGE, REDACTED, SIGNED, THEIRS, UNSIGNED, claude_body, tool_turns
from hotswap.body import BodyCaches
from hotswap.body.passes import rewrite_split
from hotswap.body.split import NotAnObject, split
from hotswap.config.backends import PRESETS, Backend
from hotswap.reading.jsoncodec import UNDECODABLE, dump_json, parse_request_body
from hotswap.rules.quirks import MEDIA_NOTE
from hotswap.rules.rewrite import rewrite_request

SHAPES = Path(__file__).parents[1] / "data" / "shapes"
ORIGINS = {"s:sig-anthropic": "anthropic", "s:sig-deepseek": "deepseek"}


CASES: dict[str, dict[str, Any]] = {
    "tool loop, signed by anthropic": claude_body(*tool_turns(1, SIGNED), *tool_turns(2, SIGNED)),
    "mixed provenance": claude_body(*tool_turns(1, SIGNED), *tool_turns(2, THEIRS), *tool_turns(3)),
    "unsigned and redacted": claude_body(*tool_turns(1, UNSIGNED, REDACTED)),
    "image in a tool result": claude_body(
        *tool_turns(1, SIGNED),
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t9", "content": [IMAGE]}],
        },
    ),
    "image and tool_reference at the top of a user turn": claude_body(
        {"role": "user", "content": [IMAGE, {"type": "tool_reference", "tool_name": "Grep"}]}
    ),
    "prefill with thinking": claude_body(
        *tool_turns(1, SIGNED), {"role": "assistant", "content": [SIGNED]}, thinking=None
    ),
    "forced tool choice": claude_body(*tool_turns(1), tool_choice={"type": "tool", "name": "Read"}),
    "thinking off": claude_body(*tool_turns(1), thinking={"type": "disabled"}),
    "an unknown top-level key (generic split)": claude_body(*tool_turns(1, SIGNED), speed="fast"),
    "an unknown block type (generic split)": claude_body(
        {"role": "user", "content": [{"type": "container_upload", "file_id": "f"}]},
        *tool_turns(1, THEIRS),
    ),
    "an extra turn key and a system turn (generic split)": claude_body(
        {"role": "system", "content": "odd"},
        {"role": "assistant", "content": [THEIRS, {"type": "text", "text": "x"}], "id": "m1"},
        {"role": "user", "content": [IMAGE]},
    ),
    "odd shapes": claude_body(
        {"role": "user"}, {"content": []}, {"role": "assistant", "content": "s"}
    ),
    "messages not a list of objects": claude_body(thinking=None) | {"messages": ["x", 1]},
    "no messages": {"model": "claude-opus-4-6", "max_tokens": 5},
}
for path in sorted(SHAPES.glob("*.json")):
    CASES[f"recorded: {path.stem}"] = json.loads(path.read_text())["body"]


def _clean(case: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in case.items() if v is not None}


def full_path(raw: bytes, backend: Backend) -> Any:
    parsed, exact = parse_request_body(raw)
    changed = rewrite_request(parsed, backend, ORIGINS.get)
    return msgspec.json.decode(dump_json(parsed) if changed or not exact else raw)


@pytest.mark.parametrize("backend", sorted(PRESETS))
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_split_path_rewrites_as_the_full_parse_does(
    name: str, backend: str, caches: BodyCaches
) -> None:
    case = _clean(CASES[name])
    raw = msgspec.json.encode(case)
    out = rewrite_split(raw, split(raw, caches.prefix), PRESETS[backend], ORIGINS.get, caches)
    assert msgspec.json.decode(out) == full_path(raw, PRESETS[backend])


@pytest.mark.parametrize("backend", sorted(PRESETS))
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_rules_never_edit_a_nested_value_in_place(
    name: str, backend: str, caches: BodyCaches
) -> None:
    """The contract the split path's sharing rests on: decoded values are kept across
    requests (tools, system, assistant turns) and unchanged ones are written from the
    request's bytes, so a rule may replace a top-level key but never edit what it holds."""
    parsed = parse_request_body(msgspec.json.encode(_clean(CASES[name])))[0]
    snapshot = copy.deepcopy(parsed)
    rewrite_request(dict(parsed), PRESETS[backend], ORIGINS.get)  # shares every value
    assert parsed == snapshot
    raw = msgspec.json.encode(parsed)
    first = rewrite_split(raw, split(raw, caches.prefix), PRESETS[backend], ORIGINS.get, caches)
    assert (
        rewrite_split(raw, split(raw, caches.prefix), PRESETS[backend], ORIGINS.get, caches)
        == first
    )  # memos


@pytest.mark.parametrize(
    ("name", "typed"),
    [
        ("tool loop, signed by anthropic", True),
        ("image in a tool result", True),
        ("an unknown top-level key (generic split)", False),
        ("an unknown block type (generic split)", False),
        ("an extra turn key and a system turn (generic split)", False),
    ],
)
def test_claude_codes_shape_is_split_in_one_typed_pass(
    name: str, typed: bool, caches: BodyCaches
) -> None:
    parts = split(msgspec.json.encode(_clean(CASES[name])), caches.prefix)
    assert (parts.typed) is typed
    assert list(parts.top)[:2] == ["model", "messages"]  # in the request's order


@pytest.mark.parametrize("path", sorted(SHAPES.glob("*.json")), ids=lambda p: p.stem)
def test_every_recorded_claude_code_request_takes_the_typed_pass(
    path: Path, caches: BodyCaches
) -> None:
    """A new key in Claude Code's requests would silently cost the slower generic split:
    re-recording the shapes (tests/record_shapes.py) shows it here."""
    assert split(msgspec.json.encode(json.loads(path.read_text())["body"]), caches.prefix).typed


def test_a_body_no_rule_changes_is_the_same_bytes(caches: BodyCaches) -> None:
    raw = (
        b'{"model":"claude-opus-4-6",  "max_tokens":64,"messages":[{"role":"user","content":"hi"}]}'
    )
    assert (
        rewrite_split(raw, split(raw, caches.prefix), PRESETS["anthropic"], ORIGINS.get, caches)
        is raw
    )


def test_values_no_rule_reads_keep_their_bytes(caches: BodyCaches) -> None:
    system = b'[ {"type": "text",  "text": "spaced \\u00e9 \\n"} ]'
    result = b'"exit 0 \\u001b[0m  \\ud83d\\ude00"'  # escapes a decoder would rewrite
    raw = (
        b'{"model":"claude-sonnet-4-6","system":' + system + b',"messages":[{"role":"user",'
        b'"content":[{"type":"tool_result","tool_use_id":"t","content":' + result + b"}]}],"
        b'"max_tokens":10}'
    )
    out = rewrite_split(raw, split(raw, caches.prefix), PRESETS["deepseek"], ORIGINS.get, caches)
    assert b'"model":"deepseek-v4-flash"' in out
    assert system in out and result in out


def test_an_escaped_role_is_still_an_assistant_turn(caches: BodyCaches) -> None:
    case = claude_body(*tool_turns(1, SIGNED), speed="x")  # generic split: roles read from bytes
    raw = msgspec.json.encode(case).replace(b'"role":"assistant"', b'"role":"\\u0061ssistant"')
    assert split(raw, caches.prefix).typed is False
    out = msgspec.json.decode(
        rewrite_split(raw, split(raw, caches.prefix), PRESETS["deepseek"], ORIGINS.get, caches)
    )
    assert SIGNED not in out["messages"][1]["content"]  # anthropic's block, dropped
    assert out == full_path(raw, PRESETS["deepseek"])


def test_a_text_only_backend_gets_the_note_for_a_nested_image(caches: BodyCaches) -> None:
    raw = msgspec.json.encode(CASES["image in a tool result"])
    out = msgspec.json.decode(
        rewrite_split(raw, split(raw, caches.prefix), PRESETS["deepseek"], ORIGINS.get, caches)
    )
    note = {"type": "text", "text": MEDIA_NOTE.format(kind="image")}
    assert out["messages"][-1]["content"][0]["content"] == [note]


def test_json_that_is_not_an_object_is_refused(caches: BodyCaches) -> None:
    for raw in (b"[1]", b'"x"', b"3"):
        with pytest.raises(NotAnObject):
            split(raw, caches.prefix)


def test_what_msgspec_cannot_take_is_left_to_the_full_parser(caches: BodyCaches) -> None:
    with pytest.raises(UNDECODABLE):
        split(b'{"system":"cut \\ud83d","messages":[]}')  # a lone surrogate
    big = claude_body(*tool_turns(1, SIGNED))
    big["messages"][1]["content"][2]["input"] = {"n": 1}
    raw = msgspec.json.encode(big).replace(b'{"n":1}', b'{"n":1e400}')  # read by the rules
    with pytest.raises(UNDECODABLE):
        rewrite_split(raw, split(raw, caches.prefix), PRESETS["deepseek"], ORIGINS.get, caches)
    with pytest.raises(msgspec.DecodeError):
        split(b'{"model": ')


def deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def test_replies_nested_past_the_recursion_limit_are_relayed_as_they_are() -> None:
    from hotswap.router.relay import fix_json_message as _fix_json_message
    from hotswap.rules.events import StreamContext, rewrite_event

    nested = b'{"type":"message","usage":null,"content":[{"x":' + deep(5000) + b"}]}"
    assert _fix_json_message(nested, StreamContext(backend="b")) == nested
    event = b'{"type":"message_start","message":{"usage":' + deep(5000) + b"}}"
    assert rewrite_event("message_start", event, StreamContext(backend="b")) is None

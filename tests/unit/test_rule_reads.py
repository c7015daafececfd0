"""The rules read only what they declare (reads.py), so the body layer's fast path, which
decodes exactly that, gives the same bytes as a full parse.

Two checks, over the recorded Claude Code shapes and a seeded corpus of random bodies,
for every preset:
1. top level: every key a rule reads is in its declaration (a dict that records reads);
2. turns: the rules over a body whose undeclared turns are hidden (as the fast path hides
   them: not a dict) give the same result as over the full body -- a rule reading a field
   of a user turn it did not declare sees nothing there, and the result differs.
And the facade itself: its bytes equal the full parse's for the same corpus, one request
at a time and as growing conversations sharing one router's caches.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from bodygen import ORIGINS, bodies, conversation
from hotswap.body import BodyCaches, RequestBody
from hotswap.config.backends import PRESETS, Backend
from hotswap.reading.jsoncodec import dump_json, parse_request_body
from hotswap.rules.reads import Reads
from hotswap.rules.rewrite import request_changes, request_reads

SHAPES = Path(__file__).parents[1] / "data" / "shapes"
RECORDED = [json.loads(p.read_text())["body"] for p in sorted(SHAPES.glob("*.json"))]
CORPUS = RECORDED + list(bodies(seed=11, n=300))


class Recording(dict[str, Any]):
    """A body that notes every top-level key read."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)

    # Every other way to read a value notes what it reads (VALUE_READERS, checked below).
    def __iter__(self) -> Any:
        return iter(list(dict.keys(self)))

    def items(self) -> Any:
        return [(key, self[key]) for key in list(dict.keys(self))]

    def values(self) -> Any:
        return [self[key] for key in list(dict.keys(self))]

    def pop(self, key: str, *default: Any) -> Any:
        self.read.add(key)
        return super().pop(key, *default)

    def popitem(self) -> Any:
        key = next(reversed(list(dict.keys(self))))
        return key, self.pop(key)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().setdefault(key, default)

    def copy(self) -> Any:
        return dict(self.items())

    def __or__(self, other: Any) -> Any:
        return dict(self.items()) | dict(other)

    def __eq__(self, other: object) -> bool:
        return dict(self.items()) == other

    __hash__ = None  # type: ignore[assignment]


# The dict methods that hand out a value (or compare values): a body's stand-in must see
# each one, as LazyBody must decode through each.
VALUE_READERS = (
    "__getitem__", "get", "__contains__", "__iter__", "items", "values", "pop", "popitem",
    "setdefault", "copy", "__or__", "__eq__",
)  # fmt: skip


class Hidden:
    """A turn the fast path leaves opaque: not a dict, so no rule can read into it."""

    def __init__(self, turn: Any) -> None:
        self.turn = turn


def _holds(content: Any, kinds: frozenset[str]) -> bool:
    if not isinstance(content, list):
        return False
    for block in content:
        if not isinstance(block, dict):
            return True  # not a list of blocks: the fast path decodes it
        if block.get("type") in kinds:
            return True
        if block.get("type") == "tool_result" and _holds(block.get("content"), kinds):
            return True
    return False


def hide_undeclared(body: dict[str, Any], reads: Reads) -> dict[str, Any]:
    """`body` as the fast path shows it to the rules: user and system turns that hold no
    declared block type hidden; assistant turns whole only if declared."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return body
    shown = []
    for turn in messages:
        if not isinstance(turn, dict):
            shown.append(turn)
        elif turn.get("role") == "assistant":
            shown.append(turn if reads.assistant_turns else Hidden(turn))
        elif _holds(turn.get("content"), reads.user_blocks):
            shown.append(turn)
        else:
            shown.append(Hidden(turn))
    return {**body, "messages": shown}


def reveal(value: Any) -> Any:
    if isinstance(value, Hidden):
        return value.turn
    if isinstance(value, list):
        return [reveal(v) for v in value]
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    return value


def full(body: dict[str, Any], backend: Backend) -> Any:
    parsed = copy.deepcopy(body)
    request_changes(parsed, backend, ORIGINS.get)
    return parsed


def test_the_stand_ins_cover_every_way_a_rule_can_read_a_mapping() -> None:
    """A rule calling `.items()` or `{**body}` must be seen by the read check (Recording)
    and given decoded values by the body layer (LazyBody): each overrides every dict
    method that hands out a value. A new dict method that reads values fails this."""
    from hotswap.body.lazy import LazyBody

    readers = {
        name
        for name in dir(dict)
        if name not in {"__init__", "__new__", "__init_subclass__", "__class_getitem__"}
        and callable(getattr(dict, name))
    }
    harmless = (  # no value handed out: keys, sizes, writes, identity, repr
        "__setitem__", "__delitem__", "__len__", "__reversed__", "keys", "clear", "update",
        "fromkeys", "__ior__", "__ror__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
        "__repr__", "__str__", "__format__", "__sizeof__", "__reduce__", "__reduce_ex__",
        "__getstate__", "__getattribute__", "__setattr__", "__delattr__", "__dir__",
        "__subclasshook__", "__hash__", "__class__",
    )  # fmt: skip
    assert readers - set(harmless) == set(VALUE_READERS)
    for cls, own in ((Recording, VALUE_READERS), (LazyBody, VALUE_READERS[:1] + VALUE_READERS[3:])):
        missing = [name for name in own if name not in vars(cls)]  # `in` needs no decoding
        assert not missing, (cls.__name__, missing)


@pytest.mark.parametrize("method", VALUE_READERS)
def test_a_rule_reading_the_lazy_body_by_any_method_sees_decoded_values(method: str) -> None:
    """Through every mapping method, the body layer's LazyBody gives the rules decoded
    values, never msgspec.Raw spans of the request."""
    from hotswap.body.lazy import LazyBody
    from hotswap.body.split import split_whole

    raw = json.dumps(RECORDED[0]).encode()
    lazy = LazyBody(split_whole(raw), frozenset(), BodyCaches())
    key = "metadata" if "metadata" in RECORDED[0] else "messages"
    reads: dict[str, Any] = {
        "__getitem__": lambda b: [b[key]],
        "get": lambda b: [b.get(key)],
        "__contains__": lambda b: [b[k] for k in b if k == key],
        "__iter__": lambda b: [b[k] for k in iter(b)],
        "items": lambda b: [v for _, v in b.items()],
        "values": lambda b: list(b.values()),
        "pop": lambda b: [b.pop(key)],
        "popitem": lambda b: [b.popitem()[1]],
        "setdefault": lambda b: [b.setdefault(key)],
        "copy": lambda b: list(b.copy().values()) + list({**b}.values()) + list(dict(b).values()),
        "__or__": lambda b: list((b | {}).values()),
        "__eq__": lambda b: [b == json.loads(raw)],
    }
    seen = reads[method](lazy)
    assert seen and not any(isinstance(v, msgspec.Raw) for v in seen), seen


@pytest.mark.parametrize("backend", sorted(PRESETS))
def test_every_top_level_key_a_rule_reads_is_declared(backend: str) -> None:
    chosen = PRESETS[backend]
    declared = request_reads(chosen).top
    for case in CORPUS:
        body = Recording(copy.deepcopy(case))
        request_changes(body, chosen, ORIGINS.get)
        assert body.read <= declared, sorted(body.read - declared)


@pytest.mark.parametrize("backend", sorted(PRESETS))
def test_the_rules_give_the_same_result_with_undeclared_turns_hidden(backend: str) -> None:
    chosen = PRESETS[backend]
    reads = request_reads(chosen)
    for case in CORPUS:
        shown = hide_undeclared(copy.deepcopy(case), reads)
        request_changes(shown, chosen, ORIGINS.get)
        assert reveal(shown) == full(case, chosen)


def test_a_rule_reading_an_undeclared_field_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: a rule that drops `cache_control` from user text blocks
    (which no declaration names) changes the full parse but not the hidden body."""
    from hotswap.rules import quirks

    real = quirks.apply_quirks

    def sneaky(body: dict[str, Any], q: Any, *, count_tokens: bool = False) -> list[str]:
        notes = real(body, q, count_tokens=count_tokens)
        messages = body.get("messages")
        if isinstance(messages, list):
            body["messages"] = [
                {
                    **m,
                    "content": [
                        {k: v for k, v in b.items() if k != "cache_control"}
                        for b in m["content"]
                        if isinstance(b, dict)
                    ],
                }
                if isinstance(m, dict) and isinstance(m.get("content"), list)
                else m
                for m in messages
            ]
        return notes

    monkeypatch.setattr(quirks, "apply_quirks", sneaky)
    case = {
        "model": "claude-opus-5-5",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "x", "cache_control": {}}]}
        ],
    }
    chosen = PRESETS["deepseek"]
    shown = hide_undeclared(copy.deepcopy(case), request_reads(chosen))
    request_changes(shown, chosen, ORIGINS.get)
    assert reveal(shown) != full(case, chosen)


def full_path(raw: bytes, backend: Backend) -> Any:
    parsed, exact = parse_request_body(raw)
    changed = request_changes(parsed, backend, ORIGINS.get)
    return msgspec.json.decode(dump_json(parsed) if changed or not exact else raw)


@pytest.mark.parametrize("backend", sorted(PRESETS))
def test_the_facade_gives_the_full_parses_bytes(backend: str) -> None:
    chosen, caches = PRESETS[backend], BodyCaches()
    for case in CORPUS:
        raw = msgspec.json.encode(case)
        out = RequestBody.parse(raw, caches).for_backend(chosen, ORIGINS.get)
        assert msgspec.json.decode(out) == full_path(raw, chosen)


@pytest.mark.parametrize("seed", range(3))
def test_interleaved_conversations_sharing_one_routers_caches(seed: int) -> None:
    """A `hotswap serve` router shared by several clients: two conversations that share
    their first turns, interleaved request by request, each for its own backend, through
    one BodyCaches; every request rewritten as a full parse would."""
    caches = BodyCaches()
    a = list(conversation(seed, 12))
    b = list(conversation(seed, 12))  # the same start...
    b = [{**req, "messages": [*req["messages"][:3], *req["messages"][3:][::-1]]} for req in b]
    for one, two in zip(a, b, strict=True):
        for req, backend in ((one, "deepseek"), (two, "anthropic"), (one, "kimi")):
            raw = msgspec.json.encode(req)
            out = RequestBody.parse(raw, caches).for_backend(PRESETS[backend], ORIGINS.get)
            assert msgspec.json.decode(out) == full_path(raw, PRESETS[backend])
    assert len(caches.prefix) >= 1 and len(caches.turns) > 0

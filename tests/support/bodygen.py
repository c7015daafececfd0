"""Random request bodies of the shapes Claude Code sends, and the odd ones it might: for the
differential tests of the body layer (fast path vs full parse) and of the rules' reads.

Seeded: `bodies(seed, n)` is the same corpus on every machine. Each body mixes what the
rules act on (thinking blocks of every provenance, images and documents where a backend is
text-only, tool_reference blocks, forced tool_choice, prefill, billing headers, tools with
defer_loading) with what they must leave alone (odd keys, escapes, unknown block types).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

SIGNERS = ("anthropic", "deepseek", "kimi", None)  # None: of unknown provenance
ORIGINS: dict[str, str] = {}
for _i in range(64):
    for _who in SIGNERS[:3]:
        ORIGINS[f"s:sig-{_who}-{_i}"] = _who  # type: ignore[assignment]

IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iV"}}
DOCUMENT = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "d"}}
TEXTS = ("ok", 'quote " and \\ backslash', "é ✓ 😀", "line\nbreak", "\u001b[0m esc", "")


def _text(rng: random.Random) -> str:
    return rng.choice(TEXTS) + str(rng.randrange(1000))


def _thinking(rng: random.Random) -> dict[str, Any]:
    kind = rng.random()
    if kind < 0.1:
        return {"type": "redacted_thinking", "data": f"opaque-{rng.randrange(9)}"}
    if kind < 0.25:
        return {"type": "thinking", "thinking": f"unsigned {rng.randrange(99)}"}
    who = rng.choice(SIGNERS)
    sig = f"sig-{who}-{rng.randrange(64)}" if who else f"sig-lost-{rng.randrange(99)}"
    return {"type": "thinking", "thinking": _text(rng), "signature": sig}


def _assistant(rng: random.Random, i: int) -> dict[str, Any]:
    content: list[Any] = []
    if rng.random() < 0.6:
        content.append(_thinking(rng))
    if rng.random() < 0.7:
        content.append({"type": "text", "text": _text(rng)})
    if rng.random() < 0.6:
        content.append({"type": "tool_use", "id": f"t{i}", "name": "Bash", "input": {"n": i}})
    if rng.random() < 0.05:
        content.append(_thinking(rng))  # thinking not first
    if not content or rng.random() < 0.05:
        return {"role": "assistant", "content": _text(rng) if rng.random() < 0.5 else content}
    return {"role": "assistant", "content": content}


def _user_block(rng: random.Random, i: int) -> dict[str, Any]:
    kind = rng.random()
    if kind < 0.35:
        inner: Any = _text(rng)
        if rng.random() < 0.4:
            inner = [{"type": "text", "text": _text(rng)}]
            if rng.random() < 0.4:
                inner.append(
                    rng.choice((IMAGE, DOCUMENT, {"type": "tool_reference", "tool_name": "Grep"}))
                )
        block = {"type": "tool_result", "tool_use_id": f"t{i}", "content": inner}
        if rng.random() < 0.2:
            block["is_error"] = True
        return block
    if kind < 0.5:
        return dict(IMAGE)
    if kind < 0.55:
        return dict(DOCUMENT)
    if kind < 0.62:
        return {"type": "tool_reference", "tool_name": "Read"}
    if kind < 0.65:
        return {"type": "container_upload", "file_id": "f"}  # unknown to the typed shape
    block = {"type": "text", "text": _text(rng)}
    if rng.random() < 0.2:
        block["cache_control"] = {"type": "ephemeral"}
    return block


def _user(rng: random.Random, i: int) -> dict[str, Any]:
    if rng.random() < 0.15:
        return {"role": "user", "content": _text(rng)}
    blocks = [_user_block(rng, i) for _ in range(rng.randrange(1, 4))]
    role = "system" if rng.random() < 0.05 else "user"
    return {"role": role, "content": blocks}


def body(rng: random.Random) -> dict[str, Any]:
    """One random request."""
    turns: list[Any] = [_user(rng, 0)]
    for i in range(1, rng.randrange(1, 9)):
        turns += [_assistant(rng, i), _user(rng, i)]
    if rng.random() < 0.1:
        turns.append(_assistant(rng, 99))  # a prefill
    out: dict[str, Any] = {
        "model": rng.choice(
            ("claude-opus-5-5", "claude-sonnet-5-5[1m]", "claude-haiku-5-5", "other-model")
        ),
        "messages": turns,
    }
    if rng.random() < 0.9:
        billing = {"type": "text", "text": "x-anthropic-billing-header: cc_version=1;"}
        out["system"] = [billing, {"type": "text", "text": _text(rng)}]
        if rng.random() < 0.1:
            out["system"] = "x-anthropic-billing-header: cc;\nYou are Claude Code."
    if rng.random() < 0.9:
        tool = {"name": "Bash", "input_schema": {"type": "object"}}
        if rng.random() < 0.5:
            tool["defer_loading"] = True
        out["tools"] = [tool, {"name": "Read", "input_schema": {"type": "object"}}]
    if rng.random() < 0.2:
        out["tool_choice"] = rng.choice(
            ({"type": "auto"}, {"type": "any"}, {"type": "tool", "name": "Bash"})
        )
    out["metadata"] = {"user_id": "u"}
    if rng.random() < 0.9:
        out["max_tokens"] = rng.choice((64, 1500, 32000, 128000))
    thinking = rng.random()
    if thinking < 0.5:
        out["thinking"] = {"type": "adaptive"}
    elif thinking < 0.7:
        out["thinking"] = {"type": "enabled", "budget_tokens": 2048}
    elif thinking < 0.8:
        out["thinking"] = {"type": "disabled"}
    if rng.random() < 0.7:
        out["context_management"] = {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}
    if rng.random() < 0.6:
        out["output_config"] = {"effort": "medium"}
    if rng.random() < 0.05:
        out["speed"] = "fast"  # a key the typed shape does not know
    out["stream"] = rng.random() < 0.8
    return out


def bodies(seed: int, n: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for _ in range(n):
        yield body(rng)


def conversation(seed: int, turns: int) -> Iterator[dict[str, Any]]:
    """One growing conversation: each request repeats the last and appends a turn pair."""
    rng = random.Random(seed)
    first = body(rng)
    messages = [m for m in first["messages"] if m.get("role") != "assistant"][:1] or [
        {"role": "user", "content": "go"}
    ]
    for i in range(turns):
        messages = [*messages, _assistant(rng, 100 + i), _user(rng, 100 + i)]
        yield {**first, "messages": messages}


def turn_pair(rng: random.Random, i: int) -> list[dict[str, Any]]:
    thinking: list[dict[str, Any]] = []
    kind = rng.choice(["signed", "unsigned", "redacted", "none"])
    if kind == "signed":
        thinking = [{"type": "thinking", "thinking": f"t{i}", "signature": f"sig{i}"}]
    elif kind == "unsigned":
        thinking = [{"type": "thinking", "thinking": f"unsigned {i}"}]
    elif kind == "redacted":
        thinking = [{"type": "redacted_thinking", "data": f"r{i}"}]
    tool = rng.random() < 0.8
    content = [*thinking, {"type": "text", "text": f"step {i}"}]
    if tool:
        content.append({"type": "tool_use", "id": f"t{i}", "name": "Read", "input": {"i": i}})
    result: list[Any] = [{"type": "tool_result", "tool_use_id": f"t{i}", "content": f"out {i}"}]
    if rng.random() < 0.1:
        result = [{"type": "tool_result", "tool_use_id": f"t{i}", "content": [IMAGE]}]
    return [{"role": "assistant", "content": content}, {"role": "user", "content": result}]


# Hand-made bodies of Claude Code's shape, for tests that name each case.
SIGNED = {"type": "thinking", "thinking": "plan", "signature": "sig-anthropic"}
THEIRS = {"type": "thinking", "thinking": "ds plan", "signature": "sig-deepseek"}
UNSIGNED = {"type": "thinking", "thinking": "unsigned plan"}
REDACTED = {"type": "redacted_thinking", "data": "opaque"}


def tool_turns(i: int, *thinking: dict[str, Any]) -> list[dict[str, Any]]:
    use = {"type": "tool_use", "id": f"t{i}", "name": "Read", "input": {"file_path": f"/{i}"}}
    result = {"type": "tool_result", "tool_use_id": f"t{i}", "content": f'line {i}\n"q" ✓'}
    return [
        {"role": "assistant", "content": [*thinking, {"type": "text", "text": "ok"}, use]},
        {"role": "user", "content": [result]},
    ]


def claude_body(*messages: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-6",
        "messages": [{"role": "user", "content": "go"}, *messages],
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc"},
            {"type": "text", "text": "sys"},
        ],
        "tools": [{"name": "Read", "input_schema": {"type": "object"}, "defer_loading": True}],
        "metadata": {"user_id": "u"},
        "max_tokens": 32000,
        "thinking": {"type": "adaptive"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "stream": True,
        **top,
    }


def deep_tool_body(depth: int) -> bytes:
    """A request whose tool_use input nests lists `depth` levels deep (answered by a
    tool_result): for the depth sweeps that check no depth is ever a 500."""
    deep = "[" * depth + "]" * depth
    return (
        '{"model":"claude-opus-5-5","max_tokens":10,"messages":[{"role":"user","content":'
        '"go"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Bash",'
        f'"input":{{"a":{deep}}}}}]}},{{"role":"user","content":[{{"type":"tool_result",'
        '"tool_use_id":"t1","content":"ok"}]}]}'
    ).encode()


DEPTH_SWEEP = (*range(900, 1100, 2), 1500, 3000)  # around where the decoders give up

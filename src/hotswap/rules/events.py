"""The response side's rewrites, pure: `usage` made readable, tokens counted, thinking tracked.

Only the events a rewrite needs are parsed: message_start and message_delta (usage), and
the thinking blocks' events (provenance, in thinking.ThinkingTracker). `usage` is always
present and numeric in message_start, message_delta and non-streaming bodies: some
upstreams omit it or send nulls, and Claude Code then crashes. What a StreamContext
counted becomes the exchange record's usage (exchange.py). A message_start or
message_delta whose data is not a JSON object is a broken answer (BrokenEvent), never
relayed as if it were one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import msgspec

from hotswap.reading.jsoncodec import is_json_object, loads_or_none
from hotswap.router.exchange import Usage, usage_from
from hotswap.rules.thinking import ThinkingTracker

_USAGE_INTS = ("input_tokens", "output_tokens")
_USAGE_OPTIONAL_INTS = ("cache_creation_input_tokens", "cache_read_input_tokens")
_ENCODER = msgspec.json.Encoder()


class BrokenEvent(ValueError):
    """An event the router must read is not JSON: the stream cannot be an answer."""


@dataclass
class StreamContext:
    """What the event rewriter learns about one response while relaying it."""

    backend: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    model: str | None = None
    stop_reason: str | None = None
    thinking: ThinkingTracker = field(default_factory=ThinkingTracker)  # provenance keys

    @property
    def usage(self) -> Usage:
        """What was counted, for the exchange record."""
        return Usage(
            self.input_tokens, self.output_tokens, self.cache_read_tokens, self.cache_write_tokens
        )

    def count(self, usage: dict[str, Any], final: bool) -> None:
        if "prompt_cache_hit_tokens" in usage and not usage.get("cache_read_input_tokens"):
            # DeepSeek's spelling (exchange.usage_from): hits are cache reads, misses input
            mapped = usage_from(usage)
            usage = usage | {
                "input_tokens": mapped.input_tokens,
                "cache_read_input_tokens": mapped.cache_read_tokens,
            }
        if "input_tokens" in usage and (usage["input_tokens"] or not final):
            self.input_tokens = usage["input_tokens"]
        self.output_tokens = usage.get("output_tokens", self.output_tokens)
        self.cache_read_tokens = usage.get("cache_read_input_tokens") or self.cache_read_tokens
        self.cache_write_tokens = (
            usage.get("cache_creation_input_tokens") or self.cache_write_tokens
        )


def _check_unread(name: str, data: bytes) -> None:
    """An event the decoder could not read: relayed as it is if it is still a JSON object
    (nested past the decoder's depth limit, lone surrogates); else the stream is broken."""
    if is_json_object(data):
        return None
    raise BrokenEvent(f"a {name} event that is not a JSON object: {data[:60]!r}")


def normalise_usage(usage: Any, required: tuple[str, ...] = _USAGE_INTS) -> dict[str, Any]:
    """A usage object Claude Code can read: required counts present, no nulls or strings."""
    fixed = dict(usage) if isinstance(usage, dict) else {}
    for key in required:
        fixed[key] = _as_int(fixed.get(key))
    for key in _USAGE_OPTIONAL_INTS:
        if key in fixed:
            fixed[key] = _as_int(fixed[key])
    return fixed


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else 0  # the stdlib JSON fallback reads NaN
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)  # isdigit alone admits "²", which int() refuses
    return 0


def fix_message(message: dict[str, Any], ctx: StreamContext) -> bool:
    """Normalise a full message (message_start's or a non-streaming body); True if changed."""
    usage = normalise_usage(message.get("usage"))
    changed = usage != message.get("usage")
    message["usage"] = usage
    ctx.model = message.get("model") or ctx.model
    ctx.stop_reason = message.get("stop_reason") or ctx.stop_reason
    ctx.count(usage, final=False)
    content = message.get("content")
    for block in content if isinstance(content, list) else ():
        ctx.thinking.add_block(block)
    return changed


def rewrite_event(name: str, data: bytes, ctx: StreamContext) -> bytes | None:
    """New data for one SSE event, or None to relay it unchanged.

    Only the events a rewrite needs are parsed: message_start and message_delta (usage),
    and the thinking blocks' events (provenance, in ThinkingTracker).
    """
    if name == "message_start":
        obj = loads_or_none(data)
        if not isinstance(obj, dict):
            _check_unread(name, data)
            return None
        message = obj.get("message")
        if not isinstance(message, dict):
            message = obj["message"] = {}
        return _ENCODER.encode(obj) if fix_message(message, ctx) else None
    if name == "message_delta":
        obj = loads_or_none(data)
        if not isinstance(obj, dict):
            _check_unread(name, data)
            return None
        usage = normalise_usage(obj.get("usage"), required=("output_tokens",))
        changed = usage != obj.get("usage")
        obj["usage"] = usage
        ctx.count(usage, final=True)
        delta = obj.get("delta")
        if isinstance(delta, dict):
            ctx.stop_reason = delta.get("stop_reason") or ctx.stop_reason
        return _ENCODER.encode(obj) if changed else None
    if name.startswith("content_block"):
        ctx.thinking.feed(name, data)  # thinking provenance: parses only what it needs
    return None

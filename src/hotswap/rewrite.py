"""Pure rewrites of requests and response events for one backend. No I/O.

Request side: map the model name, apply the backend's quirks. Response side: make sure
`usage` is always present and numeric (Claude Code crashes without it) and count tokens.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

import msgspec

from hotswap.backends import Backend
from hotswap.body import LazyBody, Split
from hotswap.quirks import apply_quirks, rewritten_block_types
from hotswap.thinking import (
    UNDECODABLE,
    Origins,
    ThinkingTracker,
    loads_or_none,
    prepare_thinking,
    thinking_on,
)
from hotswap.turn_reuse import TurnReuse

_SUFFIX = re.compile(r"\[[^\]]*\]$")
_USAGE_INTS = ("input_tokens", "output_tokens")
_USAGE_OPTIONAL_INTS = ("cache_creation_input_tokens", "cache_read_input_tokens")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_ENCODER = msgspec.json.Encoder()


def parse_json_body(raw: bytes) -> Any:
    """Parse a request body; ValueError when it is not JSON.

    msgspec refuses lone UTF-16 surrogates, which Claude Code can send (a truncated emoji
    in a tool result); the stdlib accepts them and they are replaced with U+FFFD.
    """
    return parse_request_body(raw)[0]


def parse_request_body(raw: bytes) -> tuple[Any, bool]:
    """parse_json_body, and whether `raw` is still a faithful encoding of the result: False
    when the stdlib fallback had to repair it (lone surrogates), so it must be re-serialised
    before it is forwarded, even if no rewrite changes anything."""
    try:
        return msgspec.json.decode(raw), True
    except UNDECODABLE:
        pass
    try:
        data = json.loads(raw)
        return _replace_surrogates(data), False
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(str(exc)) from None
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value


def dump_json(value: Any) -> bytes:
    return _ENCODER.encode(value)


def map_model(model: str, backend: Backend) -> str:
    """The model name to send to `backend`: the first matching glob of its model map, else
    its default_model, else the name itself."""
    name = _SUFFIX.sub("", model) if backend.quirks.strip_model_suffix else model
    for pattern, target in backend.models:
        if fnmatchcase(name, pattern):
            return target
    return backend.default_model or name


def rewrite_request(
    body: dict[str, Any],
    backend: Backend,
    origins: Origins | None = None,
    *,
    count_tokens: bool = False,
) -> bool:
    """Rewrite a Messages request in place for `backend`; True if anything changed."""
    return bool(request_changes(body, backend, origins, count_tokens=count_tokens))


def rewrite_split(
    raw: bytes,
    split: Split,
    backend: Backend,
    origins: Origins | None = None,
    *,
    count_tokens: bool = False,
) -> bytes:
    """rewrite_request on a body split by body.split: the request for `backend` as bytes,
    `raw` itself when no rule changed anything. Earlier assistant turns are rewritten once
    per conversation (turn_reuse.py). Raises one of body.NEEDS_FULL_PARSE when a value the
    rules read cannot be decoded by msgspec."""
    kinds = rewritten_block_types(backend.quirks)
    origins = origins or _no_origin
    # A second pass when thinking went the other way from a reused turn's record (settle
    # drops those records; the pass records them anew); the last pass reuses nothing.
    passes: list[TurnReuse | None] = [None]
    if TurnReuse.applies(backend):
        passes = [TurnReuse(backend, origins), TurnReuse(backend, origins), None]
    for reuse in passes:
        body = LazyBody(split, kinds, reuse)
        changed = rewrite_request(body, backend, origins, count_tokens=count_tokens)
        if reuse is None:
            break
        if _settled(reuse, body, backend):
            changed = changed or reuse.changed
            break
    return body.encode() if changed else raw


def _settled(reuse: TurnReuse, body: LazyBody, backend: Backend) -> bool:
    given, final = body.given_messages, dict.get(body, "messages")
    if not isinstance(given, list) or not isinstance(final, list):
        return not reuse.reused  # (the rules never read or replaced messages with a list)
    return reuse.settle(thinking_on(body, backend.quirks), given, final, body.recordable)


def request_changes(
    body: dict[str, Any],
    backend: Backend,
    origins: Origins | None = None,
    *,
    count_tokens: bool = False,
) -> list[str]:
    """rewrite_request, saying what it changed. Only top-level keys of `body` are replaced.

    `origins` maps a thinking block's key to the backend that produced it (the router's
    ThinkingOrigins.origin); without it every thinking block is of unknown provenance.
    """
    notes = []
    model = body.get("model")
    if isinstance(model, str):
        mapped = map_model(model, backend)
        if mapped != model:
            body["model"] = mapped
            notes.append(f"model -> {mapped}")
    notes += apply_quirks(body, backend.quirks, count_tokens=count_tokens)
    notes += prepare_thinking(body, backend.name, backend.quirks, origins or _no_origin)
    return notes


def _no_origin(key: str) -> str | None:
    return None


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

    def count(self, usage: dict[str, Any], final: bool) -> None:
        if "input_tokens" in usage and (usage["input_tokens"] or not final):
            self.input_tokens = usage["input_tokens"]
        self.output_tokens = usage.get("output_tokens", self.output_tokens)
        self.cache_read_tokens = usage.get("cache_read_input_tokens") or self.cache_read_tokens
        self.cache_write_tokens = (
            usage.get("cache_creation_input_tokens") or self.cache_write_tokens
        )


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
            return None
        message = obj.get("message")
        if not isinstance(message, dict):
            message = obj["message"] = {}
        return _ENCODER.encode(obj) if fix_message(message, ctx) else None
    if name == "message_delta":
        obj = loads_or_none(data)
        if not isinstance(obj, dict):
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

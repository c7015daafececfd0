"""JSON as the router reads and writes it: msgspec first, the stdlib where msgspec refuses.

msgspec refuses lone UTF-16 surrogates, which Claude Code can send (a truncated emoji in a
tool result); the stdlib accepts them and they are replaced with U+FFFD, so such a body
must be re-serialised before it is forwarded (`parse_request_body`'s second value).
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

# What msgspec raises for JSON it cannot take: malformed, bad UTF-8, lone surrogates,
# out-of-range numbers, nesting past the recursion limit.
UNDECODABLE = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)

_DECODER = msgspec.json.Decoder()
_ENCODER = msgspec.json.Encoder()
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def loads_or_none(data: bytes) -> Any:
    """Event data as JSON, or None: a malformed event is relayed, never fatal."""
    try:
        return _DECODER.decode(data)
    except UNDECODABLE:
        return None


class _Object(msgspec.Struct):
    """Any JSON object: decoding into it checks the syntax and builds nothing."""


_OBJECT = msgspec.json.Decoder(_Object)


def is_json_object(data: bytes) -> bool:
    """Is `data` one JSON object? Checked without building it. What msgspec refuses but is
    still JSON counts: lone surrogates, nesting past the decoders' depth limits."""
    try:
        _OBJECT.decode(data)
        return True
    except UNDECODABLE:
        pass
    try:
        value = json.loads(data)
    except RecursionError:
        return data.lstrip()[:1] == b"{"
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(value, dict)


def dump_json(value: Any) -> bytes:
    return _ENCODER.encode(value)


def parse_json_body(raw: bytes) -> Any:
    """Parse a JSON body; ValueError when it is not JSON."""
    return parse_request_body(raw)[0]


def parse_request_body(raw: bytes) -> tuple[Any, bool]:
    """parse_json_body, and whether `raw` is still a faithful encoding of the result: False
    when the stdlib fallback had to repair it (lone surrogates), so it must be re-serialised
    before it is forwarded, even if no rewrite changes anything."""
    try:
        return _DECODER.decode(raw), True
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

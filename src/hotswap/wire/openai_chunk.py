"""A Chat Completions stream chunk as the stream translator's fast path reads it (sans-IO).

Text and reasoning are left as raw JSON strings, which go into the Anthropic delta as they
are (never decoded and encoded again). A chunk of another shape fails CHUNK's decoding: the
translator decodes it whole and reads it through the same view (as_chunk), so one piece of
code translates every chunk (openai_stream.ChatStreamTranslator).
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, Raw

NULL = Raw(b"null")  # a key that was not there (a default: compared by identity)


class Delta(msgspec.Struct):
    content: Raw = NULL
    reasoning_content: Raw = NULL
    reasoning: Raw = NULL
    tool_calls: Any = None


class Choice(msgspec.Struct):
    index: Any = 0
    delta: Delta | None = None
    finish_reason: Any = None


class Chunk(msgspec.Struct):
    choices: list[Choice] | None = None
    usage: Any = None
    error: Any = UNSET


CHUNK = msgspec.json.Decoder(Chunk)
_ENCODE = msgspec.json.Encoder().encode
# An Anthropic text or thinking delta event, up to its text (index and kind in between).
DELTA_EVENT = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":'
DELTA_FIELD = {
    "thinking": b',"delta":{"type":"thinking_delta","thinking":',
    "text": b',"delta":{"type":"text_delta","text":',
}


def text_of(raw: Raw) -> Raw | None:
    """A raw JSON value if it is a non-empty string, else None."""
    if raw is NULL:  # the key was not there: the common case, first
        return None
    data = bytes(raw)
    return raw if data[:1] == b'"' and data != b'""' else None


def as_chunk(chunk: dict[str, Any]) -> Chunk:
    """A chunk decoded whole as CHUNK's view: a value of an unexpected type is left out
    (choices not in a list, a choice or delta not an object, text not a string)."""
    choices = chunk.get("choices")
    return Chunk(
        choices=[
            Choice(choice.get("index", 0), _delta(choice.get("delta")), choice.get("finish_reason"))
            for choice in (choices if isinstance(choices, list) else ())
            if isinstance(choice, dict)
        ],
        usage=chunk.get("usage"),
    )


def _delta(delta: Any) -> Delta | None:
    if not isinstance(delta, dict):
        return None
    return Delta(
        _raw_text(delta.get("content")),
        _raw_text(delta.get("reasoning_content")),
        _raw_text(delta.get("reasoning")),
        delta.get("tool_calls"),
    )


def _raw_text(value: Any) -> Raw:
    return Raw(_ENCODE(value)) if isinstance(value, str) else NULL

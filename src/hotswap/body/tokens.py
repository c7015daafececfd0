"""About how many input tokens a decoded request is, without the model's tokenizer: the
count_tokens estimate (router/estimate.py) and the careful second look at a request the
context-window screen calls too long (router/window.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

CHARS_PER_TOKEN = 4  # English and code, roughly; a tokenizer would need the model's own
MEDIA_TOKENS = 1600  # an image or document block (a ~1 megapixel image on Anthropic)


def estimate_tokens(body: dict[str, Any]) -> int:
    """About how many input tokens `body` is: its text (system, messages, tool definitions)
    at CHARS_PER_TOKEN characters a token, plus MEDIA_TOKENS per image or document."""
    chars, media = _walk(body.get("system")), [0]
    for message in body.get("messages") or []:
        chars += _walk(message, media)
    tools = body.get("tools")
    if isinstance(tools, list):
        chars += len(json.dumps(tools, ensure_ascii=False))
    return max(1, -(-chars // CHARS_PER_TOKEN) + media[0] * MEDIA_TOKENS)


def _walk(value: Any, media: list[int] | None = None) -> int:
    """The characters of every string in `value` (base64 data excluded), counting media."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(_walk(v, media) for v in value)
    if not isinstance(value, dict):
        return 0
    if value.get("type") in ("image", "document") and media is not None:
        media[0] += 1
        return 0
    return sum(_walk(v, media) for k, v in value.items() if k not in ("type", "role", "signature"))


# `"key":"value"` in the raw JSON: every string value with its key, escapes included (the
# loop unrolled, `[^"\\]*` runs at a time: 5x faster than one character per step).
_PAIR = re.compile(rb'"([A-Za-z_]+)":"([^"\\]*(?:\\.[^"\\]*)*)"', re.DOTALL)
_NOT_TEXT = frozenset((b"type", b"role", b"signature", b"media_type", b"id", b"tool_use_id"))


def scan_tokens(raw: bytes) -> int:
    """estimate_tokens' count, from the raw JSON without decoding it (a long conversation
    decoded whole would cost its size many times over in memory): the characters of every
    string value but names and ids, CHARS_PER_TOKEN a token, and MEDIA_TOKENS for each
    base64 `data` value (an image or document) instead of its characters."""
    chars = media = 0
    for match in _PAIR.finditer(raw):
        key = match.group(1)
        if key == b"data":
            media += 1
        elif key not in _NOT_TEXT:
            chars += match.end(2) - match.start(2)
    return max(1, -(-chars // CHARS_PER_TOKEN) + media * MEDIA_TOKENS)

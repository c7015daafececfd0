"""`POST /v1/messages/count_tokens` for a backend without such an endpoint (OpenAI wire):
an estimate, marked as one (`x-hotswap-estimate: true`), rather than a 404 that breaks
Claude Code's `/context`. Backends that count (Anthropic wire) get the request as usual.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from hotswap.body import parse_whole
from hotswap.router.intake import read_body
from hotswap.router.proxy import STATE, handle_messages
from hotswap.wire.registry import adapter_for

CHARS_PER_TOKEN = 4  # English and code, roughly; a tokenizer would need the model's own
MEDIA_TOKENS = 1600  # an image or document block (a ~1 megapixel image on Anthropic)
ESTIMATE_HEADER = "x-hotswap-estimate"


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


async def handle_count_tokens(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    if adapter_for(state.read_mode().backend).counts_tokens:
        return await handle_messages(request)
    raw = await read_body(request, state.config.router.max_body_bytes)
    body, _ = parse_whole(raw)  # BadBody: the client's 400
    return web.json_response(
        {"input_tokens": estimate_tokens(body)}, headers={ESTIMATE_HEADER: "true"}
    )

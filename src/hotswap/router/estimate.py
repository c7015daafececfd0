"""`POST /v1/messages/count_tokens` for a backend without such an endpoint (OpenAI wire):
an estimate, marked as one (`x-hotswap-estimate: true`), rather than a 404 that breaks
Claude Code's `/context`. Backends that count (Anthropic wire) get the request as usual.
"""

from __future__ import annotations

from aiohttp import web

from hotswap.body import parse_whole
from hotswap.body.tokens import estimate_tokens
from hotswap.router.intake import read_body
from hotswap.router.proxy import STATE, handle_messages
from hotswap.wire.registry import adapter_for

ESTIMATE_HEADER = "x-hotswap-estimate"


async def handle_count_tokens(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    if adapter_for(state.read_mode().backend).counts_tokens:
        return await handle_messages(request)
    raw = await read_body(request, state.config.router.max_body_bytes)
    body, _ = parse_whole(raw)  # BadBody: the client's 400
    return web.json_response(
        {"input_tokens": estimate_tokens(body)}, headers={ESTIMATE_HEADER: "true"}
    )

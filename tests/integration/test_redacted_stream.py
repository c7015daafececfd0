"""A key a backend quotes back in an SSE `error` event after the commit (the one error
event of a stream, relayed as it came) reaches the client masked, as every other error
does (redact.py)."""

from __future__ import annotations

from typing import Any

from clients import post_gated
from fakes import GatedSSE, encode_events, message_events

DS_KEY = "sk-ds-quoted-back-0123456789abcdef"
BODY = {
    "model": "claude-opus-5-5",
    "max_tokens": 10,
    "stream": True,
    "messages": [{"role": "user", "content": "hi"}],
}


async def test_an_error_event_mid_stream_does_not_carry_the_key(
    fakes: Any, make_router: Any
) -> None:
    ds = await fakes("deepseek")
    start = [e for e in message_events("hi") if e[0] == "message_start"]
    quoted = {"type": "error", "error": {"type": "api_error", "message": f"bad key {DS_KEY}"}}
    gated = GatedSSE(encode_events(start), encode_events([("error", quoted)]))
    ds.script(gated)
    router = await make_router(
        {"deepseek": ds.url}, mode="deepseek", env={"DEEPSEEK_API_KEY": DS_KEY}
    )
    status, _, raw = await post_gated(f"{router.url}/v1/messages", BODY, gated.gate)
    assert status == 200 and b"event: error" in raw
    assert DS_KEY.encode() not in raw
    assert "…cdef".encode() in raw  # masked, as `hotswap backends` shows a key

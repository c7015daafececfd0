"""Clients of a router under test: the official SDK, a raw aiohttp client, and readers of
what came back (SSE events, Anthropic-shaped errors, the status endpoint)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import anthropic

from hotswap.router.sse import Event, SSEParser

NO_FALLBACK = "[router]\nfallback = false\n"
MESSAGES = [{"role": "user", "content": "hi"}]
DS_KEY = "sk-ds-SECRET-0123456789"
CLIENT_KEY = "sk-ant-client-SECRET-42"


def url_of(target: Any) -> str:
    """A router's base URL, from the URL itself or anything with a `url` (conftest.Router)."""
    return target if isinstance(target, str) else str(target.url)


def sdk(target: Any, **kwargs: Any) -> anthropic.AsyncAnthropic:
    """The official async SDK in front of a router; no retries (a test sees every answer)."""
    kwargs.setdefault("api_key", CLIENT_KEY)
    return anthropic.AsyncAnthropic(base_url=url_of(target), max_retries=0, **kwargs)


def request_body(stream: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-opus-5-5",
        "max_tokens": 64,
        "messages": MESSAGES,
        "stream": stream,
        **extra,
    }


async def post_raw(
    url: str, body: Any = None, *, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request with a raw client: (status, headers, body bytes)."""
    raw = data if data is not None else json.dumps(body).encode()
    hdrs = {"content-type": "application/json", "x-api-key": CLIENT_KEY, **(headers or {})}
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.post(url, data=raw, headers=hdrs) as resp,
    ):
        return resp.status, dict(resp.headers), await resp.read()


async def post_gated(url: str, body: Any, gate: asyncio.Event) -> tuple[int, dict[str, str], bytes]:
    """post_raw for a stream whose upstream waits for `gate` (fakes.GatedSSE): set once the
    first event arrived, so the rest comes after the router's commit."""
    hdrs = {"content-type": "application/json", "x-api-key": CLIENT_KEY}
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.post(url, data=json.dumps(body).encode(), headers=hdrs) as resp,
    ):
        first = await resp.content.readuntil(b"\n\n") if resp.status == 200 else b""
        gate.set()
        return resp.status, dict(resp.headers), first + await resp.read()


async def status_of(target: Any) -> dict[str, Any]:
    """The router's `/_hotswap/status`."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{url_of(target)}/_hotswap/status") as resp,
    ):
        data: dict[str, Any] = await resp.json()
        return data


def sse_events(raw: bytes) -> list[Event]:
    """Every event of a whole stream (asserting it ended on an event boundary)."""
    parser = SSEParser()
    events = parser.feed(raw)
    assert parser.pending == b"", f"an incomplete event at the end: {parser.pending!r}"
    return events


def sse_names(raw: bytes) -> list[str]:
    """The `event:` names of a stream, line by line (a cut stream too)."""
    return [
        line.split(b":", 1)[1].strip().decode()
        for line in raw.splitlines()
        if line.startswith(b"event:")
    ]


def anthropic_error(raw: bytes) -> dict[str, Any]:
    """The `error` object of an Anthropic-shaped error body or SSE error event."""
    body = json.loads(raw)
    assert body["type"] == "error", body
    assert set(body["error"]) >= {"type", "message"}
    error: dict[str, Any] = body["error"]
    return error


def error_message(raw: bytes) -> str:
    return str(anthropic_error(raw)["message"])


def tool_result_text(body: dict[str, Any]) -> str:
    """The text of the tool_result blocks in a request's last user turn."""
    parts = []
    for block in body["messages"][-1]["content"]:
        if isinstance(block, dict) and block.get("type") == "tool_result":
            content = block.get("content")
            if isinstance(content, str):
                parts.append(content)
            else:
                parts += [c.get("text", "") for c in content or () if isinstance(c, dict)]
    return "\n".join(parts)

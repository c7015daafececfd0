"""The live probe (`hotswap doctor --live`, the dashboard's Check button): one tiny request
to each backend the user relies on, in parallel, and what its answer means.

The request is what Claude Code would send at its smallest: `POST /v1/messages` with
`max_tokens: 1`, one user word, the backend's model for a sonnet-class name, and
`stream: true` (so "first byte" is the first event, as Claude Code experiences it). It
goes out through the backend's wire adapter exactly as the router sends a request
(adapter.prepare: a Chat Completions backend gets a Chat Completions request with a
one-token cap) and its answer is read back through the adapter (adapter.reply: Anthropic
events whatever the wire), so the judging below is one for every wire. Headers come from
upstream.upstream_headers (the router's auth), aiohttp's errors are mapped by
upstream.mapped_errors, and every detail passes through the Redactor (a backend may quote
the key it refused).

Which backends are probed (`plan`): those named, each once however it is named; else every
backend with a key set, every local server named in the config file, and every backend a
mode points at (`relied`, from the caller: the default backend, the mode files). The rest
are `skipped` (no key) or `not checked` (a local preset nobody set up), never failures.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Mapping
from typing import NamedTuple

import aiohttp
from multidict import CIMultiDict

from hotswap.config.backends import Backend
from hotswap.config.loading import Config
from hotswap.errors import (
    MissingKeyError,
    NoCredentialError,
    UpstreamError,
    UpstreamTimeoutError,
    parse_error,
)
from hotswap.redact import Redactor
from hotswap.router.upstream import (
    HttpReply,
    join_url,
    mapped_errors,
    proxy_route,
    upstream_headers,
)
from hotswap.rules.rewrite import map_model
from hotswap.wire.registry import adapter_for

PROBE_PATH = "/v1/messages"
PROBE_MODEL = "claude-sonnet-5-5"  # what Claude Code sends for a sonnet-class turn
ERROR_BODY_LIMIT = 16 * 1024
NOT_CHECKED = "not checked"
PASSED = frozenset({"ok", "skipped", NOT_CHECKED})
ANTHROPIC_CREDENTIALS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")


class Probe(NamedTuple):
    backend: str
    result: str  # ok | refused | error | down | timeout | skipped | not checked
    http_status: int | None = None
    ttfb_ms: float | None = None
    total_ms: float | None = None
    model: str | None = None
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.result not in PASSED


def client_headers(backend: Backend, environ: Mapping[str, str]) -> dict[str, str] | None:
    """What a client would send; None when there is no credential to send it with."""
    headers = {"anthropic-version": "2023-06-01", "content-type": "application/json"}
    if not backend.is_passthrough:
        return headers
    if environ.get("ANTHROPIC_API_KEY"):
        return headers | {"x-api-key": environ["ANTHROPIC_API_KEY"]}
    if environ.get("ANTHROPIC_AUTH_TOKEN"):
        return headers | {"authorization": f"Bearer {environ['ANTHROPIC_AUTH_TOKEN']}"}
    return None


def skip_reason(backend: Backend, config: Config, environ: Mapping[str, str]) -> str | None:
    if not adapter_for(backend).live_probe:
        return f"speaks the {backend.wire} wire, which --live cannot probe"
    if client_headers(backend, environ) is None:
        return "needs ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN (a Claude login is not used)"
    if backend.api_key_env and backend.needs_key and not config.keys.get(backend.api_key_env):
        return f"{backend.api_key_env} not set"
    return None


def plan(
    config: Config, environ: Mapping[str, str], named: Iterable[Backend], relied: Iterable[str]
) -> list[tuple[Backend, str | None]]:
    """(backend, why it is not probed, or None) for each backend the report shows: the
    named ones, each once; else every backend, probed when the user relies on it (see
    the module doc)."""
    chosen = list({b.name: b for b in named}.values())
    if chosen:
        return [(b, skip_reason(b, config, environ)) for b in chosen]
    used = set(relied)
    rows: list[tuple[Backend, str | None]] = []
    for b in config.backends.values():
        if b.auth == "none" and b.name not in used and b.name not in config.configured:
            why = f"{NOT_CHECKED}: not in your config (`hotswap doctor --live {b.name}` probes it)"
            rows.append((b, why))
        else:
            rows.append((b, skip_reason(b, config, environ)))
    return rows


def request_body(backend: Backend) -> bytes:
    body = {
        "model": map_model(PROBE_MODEL, backend),
        "max_tokens": 1,
        "stream": True,
        "messages": [{"role": "user", "content": "ping"}],
    }
    return json.dumps(body).encode()


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


async def probe(
    session: aiohttp.ClientSession,
    backend: Backend,
    config: Config,
    environ: Mapping[str, str],
    timeout_s: float,
) -> Probe:
    """One request to `backend`; every failure becomes a Probe whose detail says why."""
    model = map_model(PROBE_MODEL, backend)
    adapter = adapter_for(backend)
    try:
        headers = upstream_headers(client_headers(backend, environ) or {}, backend, config.keys)
        out = adapter.prepare(backend, PROBE_PATH, request_body(backend), CIMultiDict(headers))
    except (MissingKeyError, NoCredentialError) as exc:
        return Probe(backend.name, "skipped", model=model, detail=exc.reason)
    proxy = proxy_route(backend.base_url, dict(config.router.proxies))
    if proxy.authorization:
        out.headers["Proxy-Authorization"] = proxy.authorization
    start = time.perf_counter()
    deadline = asyncio.get_running_loop().time() + timeout_s
    first: float | None = None
    try:
        with mapped_errors(backend.name, "before the response headers"):
            async with asyncio.timeout_at(deadline):
                resp = await session.post(
                    join_url(backend.base_url, out.path_qs),
                    data=out.body,
                    headers=out.headers,
                    proxy=proxy.url,
                )
        reply = adapter.reply(backend, HttpReply(resp, backend.name), True)
        async with asyncio.timeout_at(deadline):
            if reply.status != 200:
                body = await reply.read_error_body(ERROR_BODY_LIMIT)
            else:
                chunks = []
                async for chunk in reply.chunks():
                    first = first if first is not None else _ms(start)
                    chunks.append(chunk)
                body = b"".join(chunks)
                reply.close()
    except UpstreamError as exc:
        kind = "timeout" if isinstance(exc, UpstreamTimeoutError) else "down"
        if kind == "down" and first is not None:
            kind = "error"  # it answered, then broke: not a backend that is down
        cause = f"{exc.cause} (--timeout {timeout_s:g} s)" if kind == "timeout" else exc.cause
        return Probe(backend.name, kind, None, first, _ms(start), model, cause)
    except TimeoutError:
        cause = f"timed out reading the answer (--timeout {timeout_s:g} s)"
        return Probe(backend.name, "timeout", None, first, _ms(start), model, cause)
    return judge(backend.name, model, reply.status, body, first, _ms(start))


def judge(
    name: str, model: str, status: int, body: bytes, ttfb: float | None, total: float
) -> Probe:
    """What an answer says: ok, refused (401/403: the key), or another error."""
    if status != 200:
        parsed = parse_error(body)
        why = f"{parsed[0]}: {parsed[1]}" if parsed else body[:200].decode("utf-8", "replace")
        result = "refused" if status in (401, 403) else "error"
        return Probe(name, result, status, ttfb, total, model, f"HTTP {status} {why}".strip())
    if b"event: error" in body:
        data = body.split(b"event: error", 1)[1].split(b"data:", 1)[-1].split(b"\n", 1)[0]
        parsed = parse_error(data.strip())
        why = f"{parsed[0]}: {parsed[1]}" if parsed else "an error event"
        return Probe(name, "error", status, ttfb, total, model, f"stream error: {why}")
    if b"message_stop" not in body and not _is_message(body):
        return Probe(name, "error", status, ttfb, total, model, "the stream ended early")
    return Probe(name, "ok", status, ttfb, total, model)


def _is_message(body: bytes) -> bool:
    """A whole non-streaming message (a backend that ignored `stream: true`)."""
    try:
        return bool(json.loads(body).get("type") == "message")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return False


async def probe_all(
    config: Config,
    rows: list[tuple[Backend, str | None]],
    environ: Mapping[str, str],
    timeout_s: float,
) -> list[Probe]:
    """The planned rows (`plan`) probed in parallel, in their order; details redacted."""
    todo = [b for b, why in rows if why is None]
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(
        timeout=timeout, trust_env=False, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        done = await asyncio.gather(*(probe(session, b, config, environ, timeout_s) for b in todo))
    redactor = Redactor((*config.keys.secrets(), *(environ.get(n) for n in ANTHROPIC_CREDENTIALS)))
    probed = {p.backend: p._replace(detail=redactor.text(p.detail)) for p in done}
    return [probed.get(b.name) or _not_probed(b, why or "") for b, why in rows]


def _not_probed(backend: Backend, why: str) -> Probe:
    if why.startswith(NOT_CHECKED):
        return Probe(backend.name, NOT_CHECKED, detail=why.removeprefix(f"{NOT_CHECKED}: "))
    return Probe(backend.name, "skipped", detail=why)

"""`hotswap doctor --live`: one tiny request to each backend that has a key, in parallel.

The request is what Claude Code would send at its smallest: `POST /v1/messages` with
`max_tokens: 1`, one user word, the backend's model for a sonnet-class name, and
`stream: true` (so "first byte" is the first SSE event, as Claude Code experiences it).
Headers are built by upstream.upstream_headers and the URL by upstream.join_url, so the
auth is exactly the router's; aiohttp's errors are mapped by upstream.mapped_errors.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from hotswap.cli.output import mask
from hotswap.cli.tiers import model_map
from hotswap.config.backends import Backend
from hotswap.config.loading import Config
from hotswap.errors import MissingKeyError, UpstreamError, UpstreamTimeoutError, parse_error
from hotswap.wire.registry import adapter_for

if TYPE_CHECKING:
    import aiohttp

PROBE_PATH = "/v1/messages"
_ERROR_BODY_LIMIT = 16 * 1024


class Probe(NamedTuple):
    backend: str
    result: str  # ok | refused | error | down | timeout | skipped
    http_status: int | None = None
    ttfb_ms: float | None = None
    total_ms: float | None = None
    model: str | None = None
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.result not in ("ok", "skipped")


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
        return f"speaks the {backend.wire} wire; --live probes Anthropic-wire backends only"
    if client_headers(backend, environ) is None:
        return "needs ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN (a Claude login is not used)"
    if backend.api_key_env and not config.keys.get(backend.api_key_env):
        return f"{backend.api_key_env} not set"
    return None


def request_body(backend: Backend) -> bytes:
    model = model_map(backend)["sonnet"]
    body = {
        "model": model,
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
    from hotswap.router.upstream import join_url, mapped_errors, proxy_route, upstream_headers

    model = model_map(backend)["sonnet"]
    try:
        headers = upstream_headers(client_headers(backend, environ) or {}, backend, config.keys)
    except MissingKeyError as exc:
        return Probe(backend.name, "skipped", model=model, detail=exc.reason)
    url = join_url(backend.base_url, PROBE_PATH)
    proxy = proxy_route(backend.base_url, dict(config.router.proxies))
    if proxy.authorization:
        headers["Proxy-Authorization"] = proxy.authorization
    start = time.perf_counter()
    deadline = asyncio.get_running_loop().time() + timeout_s
    first: float | None = None
    try:
        with mapped_errors(backend.name, "before the response headers"):
            async with asyncio.timeout_at(deadline):
                resp = await session.post(
                    url, data=request_body(backend), headers=headers, proxy=proxy.url
                )
        with mapped_errors(backend.name, "while reading the answer"):
            async with asyncio.timeout_at(deadline):
                chunks = []
                async for chunk in resp.content.iter_any():
                    first = first if first is not None else _ms(start)
                    chunks.append(chunk)
                    if resp.status != 200 and sum(map(len, chunks)) > _ERROR_BODY_LIMIT:
                        break
                resp.release()
    except UpstreamError as exc:
        kind = "timeout" if isinstance(exc, UpstreamTimeoutError) else "down"
        cause = f"{exc.cause} (--timeout {timeout_s:g} s)" if kind == "timeout" else exc.cause
        return Probe(backend.name, kind, None, first, _ms(start), model, cause)
    return _judge(backend.name, model, resp.status, b"".join(chunks), first, _ms(start))


def _judge(
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


def _scrub(p: Probe, environ: Mapping[str, str], backend: Backend) -> Probe:
    """A backend may quote the key it refused: never print it."""
    from hotswap.cli.tiers import credential

    secret = credential(backend, environ)[1]
    if secret and secret in p.detail:
        return p._replace(detail=p.detail.replace(secret, mask(secret)))
    return p


async def probe_all(
    config: Config, backends: list[Backend], environ: Mapping[str, str], timeout_s: float
) -> list[Probe]:
    import aiohttp

    results: dict[str, Probe] = {}
    todo = []
    for b in backends:
        reason = skip_reason(b, config, environ)
        if reason:
            results[b.name] = Probe(b.name, "skipped", detail=reason)
        else:
            todo.append(b)
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(
        timeout=timeout, trust_env=False, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        done = await asyncio.gather(*(probe(session, b, config, environ, timeout_s) for b in todo))
    for b, p in zip(todo, done, strict=True):
        results[b.name] = _scrub(p, environ, b)
    return [results[b.name] for b in backends]


def run_probes(
    config: Config, backends: list[Backend], environ: Mapping[str, str], timeout_s: float
) -> list[Probe]:
    return asyncio.run(probe_all(config, backends, environ, timeout_s))


def render(probes: list[Probe]) -> str:
    from hotswap.cli.output import table

    def ms(v: float | None) -> str:
        return "-" if v is None else (f"{v:.0f} ms" if v < 10_000 else f"{v / 1000:.1f} s")

    rows = [
        [
            p.backend,
            p.result,
            str(p.http_status or "-"),
            ms(p.ttfb_ms),
            ms(p.total_ms),
            p.model or "-",
            p.detail,
        ]
        for p in probes
    ]
    header = ["BACKEND", "RESULT", "HTTP", "FIRST BYTE", "TOTAL", "MODEL", "DETAIL"]
    return table(header, rows)

"""The upstream client: one aiohttp session per router, and the one place that maps
aiohttp's exceptions to ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Iterator, Mapping
from typing import NamedTuple
from urllib.parse import unquote, urlsplit
from urllib.request import proxy_bypass_environment  # type: ignore[attr-defined]

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from hotswap.config.backends import PLACEHOLDER_TOKEN, Backend
from hotswap.config.loading import KeyRing, RouterSettings
from hotswap.errors import (
    InvalidKeyError,
    MissingKeyError,
    NoCredentialError,
    UpstreamConnectError,
    UpstreamError,
    UpstreamStreamError,
    UpstreamTimeoutError,
)

# Never forwarded upstream: hop-by-hop, framing, and what aiohttp sets itself.
_DROP_REQUEST = frozenset(
    h.lower()
    for h in (
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "accept-encoding",
        "origin",
        "referer",
        "cookie",
    )
)
log = logging.getLogger("hotswap")
MAX_CACHED_URLS = 256  # backends x request paths (query strings included)
_CLIENT_AUTH = frozenset(("x-api-key", "authorization", "api-key"))
# Never relayed back: hop-by-hop, and framing that no longer holds once aiohttp decoded it.
_DROP_RESPONSE = frozenset(
    (
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "content-encoding",
        "upgrade",
        "trailer",
        "proxy-authenticate",
        "date",
        "server",
        "set-cookie",
    )
)


def join_url(base_url: str, path_qs: str) -> str:
    """base + path, without doubling `/v1` when the base already ends with it."""
    base = base_url.rstrip("/")
    if base.endswith("/v1") and path_qs.startswith("/v1/"):
        base = base[:-3]
    return base + path_qs


def upstream_headers(
    client: Mapping[str, str], backend: Backend, keys: KeyRing
) -> CIMultiDict[str]:
    """Client headers as the backend must see them: its own auth, never the client's.

    Passthrough backends (Anthropic) get the client's credentials untouched; every other
    backend gets them removed and its own key injected (none for auth = "none").
    """
    out: CIMultiDict[str] = CIMultiDict(client)  # a copy, then deletions: in C
    drop = _DROP_REQUEST | _connection_tokens(client)
    if not backend.is_passthrough:
        drop = drop | _CLIENT_AUTH
    if backend.quirks.drop_betas:
        drop = drop | {"anthropic-beta"}
    for name in drop:
        out.popall(name, None)
    if backend.is_passthrough:
        if PLACEHOLDER_TOKEN in out.get("authorization", ""):
            raise NoCredentialError(backend.name)
        return out
    if backend.auth == "none":  # a local server: the client's credentials stripped, none sent
        return out
    assert backend.api_key_env is not None
    key = keys.get(backend.api_key_env)
    if not key:
        raise MissingKeyError(backend.name, backend.api_key_env)
    if not _header_safe(key):
        raise InvalidKeyError(backend.name, backend.api_key_env)
    if backend.auth == "bearer":
        out["Authorization"] = f"Bearer {key}"
    elif backend.auth == "api-key":  # Azure OpenAI
        out["api-key"] = key
    else:
        out["x-api-key"] = key
    return out


def _header_safe(value: str) -> bool:
    """Printable ASCII only: anything else would break (or inject) a header line."""
    return value.isascii() and value.isprintable()


def _connection_tokens(headers: Mapping[str, str]) -> frozenset[str]:
    """Headers the `Connection` header names: hop-by-hop for this hop only (RFC 9110 7.6.1)."""
    values = getattr(headers, "getall", None)
    found = values("connection", []) if values else [headers.get("connection", "")]
    return frozenset(t.strip().lower() for v in found for t in v.split(",") if t.strip())


def response_headers(upstream: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    """The upstream's headers to relay: a copy without the ones that are not (a copy and
    a few deletions, in C, rather than a Python test per header)."""
    out = CIMultiDict(upstream)
    drop = _DROP_RESPONSE
    if "connection" in upstream:
        drop = drop | _connection_tokens(upstream)
    for name in drop:
        out.popall(name, None)
    return out


@contextlib.contextmanager
def mapped_errors(backend: str, phase: str) -> Iterator[None]:
    """Translate aiohttp/asyncio failures into UpstreamError subclasses (only here)."""
    try:
        yield
    except UpstreamError:
        raise
    except aiohttp.ConnectionTimeoutError as exc:
        raise UpstreamTimeoutError(backend, "connect timed out (connect_timeout_s)") from exc
    except aiohttp.SocketTimeoutError as exc:
        raise UpstreamTimeoutError(backend, f"no data {phase} (idle_timeout_s)") from exc
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise UpstreamTimeoutError(backend, f"timed out {phase}") from exc
    except aiohttp.ClientPayloadError as exc:
        raise UpstreamStreamError(backend, f"stream broke {phase}: {_reason(exc)}") from exc
    except aiohttp.ClientSSLError as exc:
        raise UpstreamConnectError(backend, f"TLS failure: {_reason(exc)}") from exc
    except aiohttp.ClientConnectorError as exc:
        raise UpstreamConnectError(backend, f"cannot connect: {_reason(exc)}") from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise UpstreamConnectError(backend, f"disconnected {phase}") from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise UpstreamConnectError(
            backend, f"{type(exc).__name__} {phase}: {_reason(exc)}"
        ) from exc


class ProxyRoute(NamedTuple):
    """The proxy a backend is reached through (None: direct)."""

    url: str | None = None
    authorization: str | None = None  # Proxy-Authorization, from the proxy URL's credentials


def proxy_route(base_url: str, proxies: Mapping[str, str]) -> ProxyRoute:
    """The proxy for `base_url` under the environment's proxy variables (RouterSettings.proxies):
    `<scheme>_proxy`, else `all_proxy`, unless `no_proxy` matches. Credentials in the proxy URL
    become a Proxy-Authorization header (aiohttp's proxy_auth argument is deprecated)."""
    parts = urlsplit(base_url)
    value = proxies.get(parts.scheme) or proxies.get("all")
    if not value or not parts.hostname:
        return ProxyRoute()
    if "no" in proxies and proxy_bypass_environment(parts.netloc, {"no": proxies["no"]}):
        return ProxyRoute()
    proxy = urlsplit(value if "://" in value else "http://" + value)
    if proxy.scheme not in ("http", "https"):
        log.warning(
            "ignoring proxy %s for %s: only http(s) proxies are supported", proxy.scheme, base_url
        )
        return ProxyRoute()
    if proxy.username is None:
        return ProxyRoute(proxy.geturl())
    auth = aiohttp.encode_basic_auth(unquote(proxy.username), unquote(proxy.password or ""))
    netloc = proxy.netloc.rpartition("@")[2]
    return ProxyRoute(proxy._replace(netloc=netloc).geturl(), auth)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.replace("\n", " ")[:200]


class Upstream:
    """One connection pool for the router's lifetime."""

    def __init__(self, settings: RouterSettings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None
        self._proxies = dict(settings.proxies)
        self._routes: dict[str, ProxyRoute] = {}  # per base URL, resolved on first use
        self._urls: dict[tuple[str, str], URL] = {}  # parsed once per backend and path

    def route(self, base_url: str) -> ProxyRoute:
        route = self._routes.get(base_url)
        if route is None:
            route = self._routes[base_url] = proxy_route(base_url, self._proxies)
        return route

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, enable_cleanup_closed=True)
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=self.settings.connect_timeout_s,
            sock_read=self.settings.idle_timeout_s,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            auto_decompress=True,
            # Not trust_env: it reads ~/.netrc and the proxy variables in a thread on every
            # request, and sends netrc credentials to backends as `Authorization: Basic`.
            # The proxy variables come from config.py instead (see route()).
            trust_env=False,
            skip_auto_headers=("User-Agent",),
            cookie_jar=aiohttp.DummyCookieJar(),  # a backend's cookies are not the client's
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(
        self,
        backend: Backend,
        path_qs: str,
        headers: CIMultiDict[str],
        body: bytes,
        first_byte_timeout_s: float,
    ) -> HttpReply:
        """POST and wait for the response headers (bounded by the first-byte timeout)."""
        assert self._session is not None, "Upstream.start() was not awaited"
        url = self._url(backend.base_url, path_qs)
        proxy, proxy_auth = self.route(backend.base_url)
        proxy_headers = None
        if proxy_auth is not None and url.scheme == "https":
            proxy_headers = {"Proxy-Authorization": proxy_auth}  # on the CONNECT
        elif proxy_auth is not None:
            headers["Proxy-Authorization"] = proxy_auth  # plain HTTP: on the request itself
        with mapped_errors(backend.name, "before the response headers"):
            async with asyncio.timeout(first_byte_timeout_s):
                resp = await self._session.post(
                    url, data=body, headers=headers, proxy=proxy, proxy_headers=proxy_headers
                )
        return HttpReply(resp, backend.name)

    def _url(self, base_url: str, path_qs: str) -> URL:
        key = (base_url, path_qs)
        url = self._urls.get(key)
        if url is None:
            if len(self._urls) >= MAX_CACHED_URLS:
                self._urls.clear()
            url = self._urls[key] = URL(join_url(base_url, path_qs))
        return url


class HttpReply:
    """A backend's HTTP response as the proxy reads it (wire.Reply): every read maps
    aiohttp's failures to ours, here only."""

    __slots__ = ("_backend", "_resp", "headers", "status")

    def __init__(self, resp: aiohttp.ClientResponse, backend: str) -> None:
        self._resp = resp
        self._backend = backend
        self.status = resp.status
        self.headers = response_headers(resp.headers)

    @property
    def is_sse(self) -> bool:
        return self._resp.content_type == "text/event-stream"

    def read_buffered(self) -> bytes:
        with mapped_errors(self._backend, "mid-stream"):
            return self._resp.content.read_nowait()

    async def read_chunk(self) -> bytes:
        with mapped_errors(self._backend, "mid-stream"):
            return await self._resp.content.readany()

    async def chunks(self) -> AsyncGenerator[bytes]:
        with mapped_errors(self._backend, "mid-stream"):
            async for chunk in self._resp.content.iter_any():
                yield chunk

    async def read_all(self) -> bytes:
        with mapped_errors(self._backend, "while reading the body"):
            return await self._resp.read()

    async def read_error_body(self, limit: int) -> bytes:
        buf = bytearray()
        try:
            with mapped_errors(self._backend, "while reading the error body"):
                while len(buf) < limit:
                    chunk = await self._resp.content.read(limit - len(buf))
                    if not chunk:
                        break
                    buf += chunk
        finally:
            self._resp.release()
        return bytes(buf)

    def close(self) -> None:
        self._resp.close()

"""What reaches a backend: repaired bodies are re-serialised, clean ones go untouched, no
netrc credentials are sent, the proxy variables are honoured (read once, by config.py).
Speed itself is bench/'s job."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import pytest

from clients import DS_KEY, NO_FALLBACK, post_raw, request_body
from fakes import message_body
from hotswap.config.loading import load_config, proxy_env
from hotswap.router.upstream import proxy_route

# --- a body the stdlib had to repair is forwarded re-serialised ----------------------------


async def test_a_body_with_lone_surrogates_is_forwarded_repaired(fakes, make_router) -> None:
    ant = await fakes("anthropic")  # passthrough: no rewrite applies to this body
    router = await make_router({"anthropic": ant.url}, mode="anthropic", extra_toml=NO_FALLBACK)
    raw = json.dumps(request_body(stream=False, system="cut emoji: \ud83d")).encode()
    assert b"\\ud83d" in raw  # a lone surrogate, escaped: msgspec refuses it, the stdlib not
    status, _, body = await post_raw(router.url + "/v1/messages", data=raw)
    assert status == 200, body
    forwarded = ant.received[0].raw
    assert b"\\ud83d" not in forwarded
    assert msgspec.json.decode(forwarded)["system"] == "cut emoji: \ufffd"


async def test_a_clean_body_that_needs_no_rewrite_is_forwarded_untouched(
    fakes, make_router
) -> None:
    ant = await fakes("anthropic")
    router = await make_router({"anthropic": ant.url}, mode="anthropic", extra_toml=NO_FALLBACK)
    raw = b'{"model":"claude-opus-5-5",  "max_tokens":64,"messages":[],"stream":false}'
    status, _, _ = await post_raw(router.url + "/v1/messages", data=raw)
    assert status == 200
    assert ant.received[0].raw == raw  # byte for byte, spacing included


# --- no netrc credentials upstream -----------------------------------------------------------


async def test_a_netrc_entry_for_the_backend_host_is_never_sent(
    fakes, make_router, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login netrc-user password netrc-SECRET\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(netrc))
    ds = await fakes("deepseek")
    router = await make_router(
        {"deepseek": ds.url},
        mode="deepseek",
        env={"DEEPSEEK_API_KEY": DS_KEY},
        extra_toml=NO_FALLBACK,
    )
    status, _, body = await post_raw(router.url + "/v1/messages", request_body(stream=False))
    assert status == 200, body
    headers = ds.received[0].headers
    assert "authorization" not in headers
    assert headers["x-api-key"] == DS_KEY


# --- the proxy variables ---------------------------------------------------------------------


@dataclass
class FakeProxy:
    """An HTTP proxy on 127.0.0.1:0 that records each request head and answers it itself:
    a CONNECT is refused (403), an absolute-URI request gets a Messages reply."""

    heads: list[list[str]] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")[:-2]
        self.heads.append(head)
        length = next(
            (int(h.split(":")[1]) for h in head if h.lower().startswith("content-length")), 0
        )
        await reader.readexactly(length)
        if head[0].startswith("CONNECT "):
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        else:
            body = json.dumps(message_body("via the proxy")).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
        await writer.drain()
        writer.close()

    def header(self, index: int, name: str) -> str | None:
        for line in self.heads[index][1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name:
                return value.strip()
        return None


@pytest.fixture
async def proxy() -> AsyncIterator[FakeProxy]:
    fake = FakeProxy()
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    fake.port = server.sockets[0].getsockname()[1]
    yield fake
    server.close()
    await server.wait_closed()


async def test_http_proxy_gets_an_absolute_uri_request_with_the_backends_key(
    make_router, proxy: FakeProxy
) -> None:
    router = await make_router(
        {"deepseek": "http://backend.invalid:8080/anthropic"},
        mode="deepseek",
        env={"DEEPSEEK_API_KEY": DS_KEY, "HTTP_PROXY": f"http://u:p%40ss@127.0.0.1:{proxy.port}"},
        extra_toml=NO_FALLBACK,
    )
    status, _, body = await post_raw(router.url + "/v1/messages", request_body(stream=False))
    assert status == 200, body
    assert json.loads(body)["content"][0]["text"] == "via the proxy"
    assert proxy.heads[0][0] == ("POST http://backend.invalid:8080/anthropic/v1/messages HTTP/1.1")
    assert proxy.header(0, "x-api-key") == DS_KEY
    assert proxy.header(0, "proxy-authorization") == "Basic dTpwQHNz"  # u:p@ss


async def test_https_proxy_is_asked_to_connect_to_an_https_backend(
    make_router, proxy: FakeProxy
) -> None:
    router = await make_router(
        {"deepseek": "https://backend.invalid/anthropic"},
        mode="deepseek",
        env={"DEEPSEEK_API_KEY": DS_KEY, "https_proxy": f"http://127.0.0.1:{proxy.port}"},
        extra_toml=NO_FALLBACK,
    )
    status, _, body = await post_raw(router.url + "/v1/messages", request_body(stream=False))
    assert status >= 500, body  # the fake proxy refuses the tunnel
    assert proxy.heads[0][0] == "CONNECT backend.invalid:443 HTTP/1.1"


async def test_no_proxy_sends_a_backend_direct(fakes, make_router, proxy: FakeProxy) -> None:
    ds = await fakes("deepseek")
    router = await make_router(
        {"deepseek": ds.url},
        mode="deepseek",
        env={
            "DEEPSEEK_API_KEY": DS_KEY,
            "HTTP_PROXY": f"http://127.0.0.1:{proxy.port}",
            "NO_PROXY": "example.com,127.0.0.1",
        },
        extra_toml=NO_FALLBACK,
    )
    status, _, body = await post_raw(router.url + "/v1/messages", request_body(stream=False))
    assert status == 200, body
    assert len(ds.received) == 1 and proxy.heads == []


def test_proxy_variables_are_read_by_config_lower_case_first(home: Path) -> None:
    env = {
        "HOTSWAP_HOME": str(home),
        "HTTPS_PROXY": "http://upper:1",
        "https_proxy": "http://lower:2",
        "NO_PROXY": "localhost",
        "EMPTY_PROXY": "",
    }
    assert proxy_env(env) == (("https", "http://lower:2"), ("no", "localhost"))
    assert dict(load_config(environ=env).router.proxies)["https"] == "http://lower:2"


@pytest.mark.parametrize(
    ("base_url", "proxies", "expected"),
    [
        ("https://api.example.com/x", {"https": "http://p:1"}, "http://p:1"),
        ("https://api.example.com/x", {"http": "http://p:1"}, None),
        ("http://api.example.com/x", {"all": "p:3"}, "http://p:3"),
        ("https://api.example.com", {"https": "http://p:1", "no": ".example.com"}, None),
        ("https://api.example.com", {"https": "http://p:1", "no": "other.org"}, "http://p:1"),
        ("https://api.example.com", {"https": "socks5://p:1"}, None),
    ],
)
def test_proxy_route(base_url: str, proxies: dict[str, str], expected: str | None) -> None:
    assert proxy_route(base_url, proxies).url == expected


# --- the SSE fast path parses like the general parser ----------------------------------------

"""The `openai` wire: a backend that speaks OpenAI's Chat Completions, behind the adapter seam
(wire/__init__.py). The translation itself is pure (openai_request, openai_response,
openai_stream); this module only applies it to a request's bytes and a reply's chunks, as
they arrive: a stream is never buffered whole.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import msgspec
from multidict import CIMultiDict

from hotswap.errors import RequestError, UpstreamError, UpstreamStreamError
from hotswap.wire import Outgoing, Reply
from hotswap.wire.openai_request import to_chat_request
from hotswap.wire.openai_response import error_fields, to_anthropic_message, translate_error
from hotswap.wire.openai_spans import ChatBytes, ChatTranslations, chat_bytes
from hotswap.wire.openai_stream import BrokenStream, ChatStreamTranslator

if TYPE_CHECKING:
    from hotswap.config.backends import Backend

CHAT_PATH = "/chat/completions"
TOO_DEEP = "hotswap: this request nests a value too deeply to translate for an OpenAI-wire backend"
DEFAULT_AZURE_API_VERSION = "2024-10-21"
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
# Anthropic's own request headers mean nothing to a Chat Completions endpoint.
_DROP_HEADERS = ("anthropic-version", "anthropic-beta", "anthropic-dangerous-direct-browser-access")


def chat_path(backend: Backend, model: str) -> str:
    """The path (and query) of the chat endpoint, under the backend's base URL. Azure
    OpenAI puts the deployment (by default the model name) in the path and wants an
    api-version."""
    if backend.deployment is None and backend.api_version is None:
        return CHAT_PATH
    deployment = quote(backend.deployment or model, safe="")
    version = quote(backend.api_version or DEFAULT_AZURE_API_VERSION, safe="")
    return f"/openai/deployments/{deployment}{CHAT_PATH}?api-version={version}"


def translate(body: bytes, backend: Backend, cache: ChatTranslations | None) -> ChatBytes:
    """Anthropic request bytes as Chat Completions bytes: span by span, each span's
    translation kept in the adapter's cache for this router (openai_spans); the whole body
    through the reference translation when that pass cannot take it."""
    quirks = backend.quirks
    options = {
        "max_completion_tokens": quirks.max_completion_tokens,
        "reasoning_effort": quirks.reasoning_effort,
    }
    memo = cache if cache is not None else ChatTranslations(0)
    try:
        return chat_bytes(body, memo, **options)
    except (msgspec.DecodeError, RecursionError):  # DecodeError: ValidationError too
        pass
    try:
        try:
            payload = _decode(body)
        except msgspec.DecodeError:  # invalid UTF-8 in a tool result, forwarded as sent
            payload = json.loads(body.decode("utf-8", "replace"))
    except RecursionError:  # a value nested past what a decoder takes (the rules skip it)
        raise RequestError(TOO_DEEP) from None
    chat = to_chat_request(payload, **options)
    return ChatBytes(_encode(chat), str(chat.get("model") or ""), chat.get("stream") is True)


class OpenAIAdapter:
    """WireAdapter for Chat Completions backends."""

    name = "openai"
    counts_tokens = False  # no Chat Completions form: the router answers an estimate
    models_path = "/models"
    live_probe = True  # doctor --live: a one-token Chat Completions request

    def new_cache(self, budget_bytes: int) -> ChatTranslations:
        """Each message's translation by its bytes, and the last requests' cuts."""
        return ChatTranslations(budget_bytes)

    def prepare(
        self,
        backend: Backend,
        path_qs: str,
        body: bytes,
        headers: CIMultiDict[str],
        cache: ChatTranslations | None = None,
    ) -> Outgoing:
        path = path_qs.split("?", 1)[0]
        if not path.rstrip("/").endswith("/v1/messages"):
            # count_tokens has no Chat Completions form (the router answers an estimate
            # when this backend is the active one); never a billed completion instead.
            raise UpstreamError(backend.name, f"no {path} on the openai wire")
        chat = translate(body, backend, cache)
        for name in _DROP_HEADERS:
            headers.popall(name, None)
        headers["Content-Type"] = "application/json"
        if chat.stream:
            headers["Accept"] = "text/event-stream"
        return Outgoing(chat_path(backend, chat.model), chat.body, headers)

    def reply(self, backend: Backend, reply: Reply, stream: bool) -> Reply:
        return ChatReply(reply, backend.name)


class ChatReply:
    """A Chat Completions reply that reads as an Anthropic one (see Reply). A broken answer
    (openai_stream.BrokenStream, a 2xx body that is not a completion) is an
    UpstreamStreamError, like a reset: retried before the commit, an error event after."""

    def __init__(self, inner: Reply, backend: str = "openai") -> None:
        self._inner = inner
        self._backend = backend
        self.status = inner.status
        self.headers: CIMultiDict[str] = CIMultiDict(inner.headers)
        self.headers.popall("Content-Length", None)
        if not self.is_sse:
            self.headers["Content-Type"] = "application/json"
        self._stream = ChatStreamTranslator()
        self._done = False

    @property
    def is_sse(self) -> bool:
        return self._inner.is_sse

    def read_buffered(self) -> bytes:
        try:
            return self._stream.feed(self._inner.read_buffered())
        except BrokenStream as exc:
            raise self._broken(exc) from None

    async def read_chunk(self) -> bytes:
        """Translated events as they complete; b"" only at the end (after the events
        that close the message)."""
        while not self._done:
            chunk = await self._inner.read_chunk()
            try:
                if not chunk:
                    self._done = True
                    return self._stream.finish()
                out = self._stream.feed(chunk)
            except BrokenStream as exc:
                raise self._broken(exc) from None
            if out:
                return out
        return b""

    def _broken(self, exc: ValueError) -> UpstreamStreamError:
        return UpstreamStreamError(self._backend, str(exc))

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            chunk = await self.read_chunk()
            if not chunk:
                return
            yield chunk

    async def read_all(self) -> bytes:
        if self.is_sse:
            return b"".join([chunk async for chunk in self.chunks()])
        raw = await self._inner.read_all()
        if not 200 <= self.status < 300:
            return translate_error(self.status, raw)[1]
        try:
            completion: Any = _decode(raw)
        except msgspec.DecodeError:
            completion = None
        if not isinstance(completion, dict) or "choices" not in completion:
            raise UpstreamStreamError(self._backend, _not_a_completion(raw))
        try:
            return _encode(to_anthropic_message(completion))
        except ValueError as exc:  # a tool call's arguments are not a JSON object
            raise self._broken(exc) from None

    async def read_error_body(self, limit: int) -> bytes:
        raw = await self._inner.read_error_body(limit)
        return translate_error(self.status, raw)[1]

    def close(self) -> None:
        self._inner.close()


def _not_a_completion(raw: bytes) -> str:
    """Why a 2xx body is not a completion; an error object's words kept for the log."""
    code, message = error_fields(raw)
    if raw.lstrip()[:1] == b"{" and (code or message):
        return f"a 2xx answer that is not a completion: {code} {message}".strip()[:300]
    return f"a 2xx answer that is not a completion: {raw[:60]!r}"

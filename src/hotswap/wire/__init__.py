"""The wire adapter: the one place where a backend that speaks another protocol plugs in.

The router speaks Anthropic's Messages API to Claude Code, and every rewrite rule works on
Anthropic requests and events. A backend's `wire` (backends.Backend.wire) names the
protocol it speaks upstream; its adapter sits at the upstream boundary and does two things:

    outgoing  prepare(backend, path_qs, body, headers, cache) -> Outgoing
              the request, already made right for the backend by the rules (model map,
              quirks, thinking), in Anthropic's format -> the path, bytes and headers to
              send on the backend's wire (what it keeps between requests, it keeps in its
              own cache: `new_cache(budget_bytes)`, one per router, owned by RouterState
              and sized from the router's one cache budget, body/caches.py);
    incoming  reply(backend, reply, stream) -> Reply
              the backend's reply -> a Reply that reads as Anthropic's: SSE events
              (message_start ... message_stop) or a JSON message, and errors in Anthropic's
              shape with the status fallback classifies (401/402/403 refusals, 429/5xx
              transient).

The proxy never asks which wire a backend speaks: it reads every Reply the same way, so its
first-event commit, fallback, usage counting and thinking provenance work unchanged for a
translated backend. `anthropic` (wire/anthropic.py) is the identity: bytes through, the
byte-for-byte fast path untouched. A new protocol is one new module here and one entry in
ADAPTERS (wire/registry.py); config validation (config/backends.WIRES) names the same set,
held together by a test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from multidict import CIMultiDict

    from hotswap.config.backends import Backend


class Outgoing(NamedTuple):
    """A request as it goes out on a backend's wire."""

    path_qs: str
    body: bytes
    headers: CIMultiDict[str]


class Reply(Protocol):
    """A backend's answer as the proxy reads it. Every read maps transport failures to
    hotswap.errors.UpstreamError (upstream.mapped_errors)."""

    status: int
    headers: CIMultiDict[str]  # the ones to relay to the client

    @property
    def is_sse(self) -> bool: ...

    def read_buffered(self) -> bytes:
        """What has arrived of the body, without waiting (b"" if nothing yet)."""
        ...

    async def read_chunk(self) -> bytes:
        """What has arrived of the body (waiting for some); b"" at its end."""
        ...

    def chunks(self) -> AsyncIterator[bytes]:
        """The rest of the body, chunk by chunk, as it arrives."""
        ...

    async def read_all(self) -> bytes: ...

    async def read_error_body(self, limit: int) -> bytes:
        """Up to `limit` bytes of an error body; the connection is then let go."""
        ...

    def close(self) -> None: ...


class WireCache(Protocol):
    """A wire adapter's cache: bounded (`size` within the budget it was given), and what
    the router's status shows of it (merged into `body_caches`)."""

    @property
    def size(self) -> int: ...

    def snapshot(self) -> dict[str, int]: ...


class WireAdapter(Protocol):
    """One upstream protocol (see the module doc), and what the rest of hotswap asks of it
    instead of spelling wire names: whether its backends count tokens themselves
    (`count_tokens`; else the router answers an estimate), where they list their models,
    and whether `doctor --live` can probe them."""

    name: str
    counts_tokens: bool  # POST /v1/messages/count_tokens exists upstream
    models_path: str  # GET this (below the base URL) lists the backend's models
    live_probe: bool  # `doctor --live` knows how to send this wire a tiny request

    def new_cache(self, budget_bytes: int) -> WireCache | None:
        """What this wire keeps between one router's requests (None: nothing)."""
        ...

    def prepare(
        self,
        backend: Backend,
        path_qs: str,
        body: bytes,
        headers: CIMultiDict[str],
        cache: Any = None,  # what new_cache made, for this router
    ) -> Outgoing: ...

    def reply(self, backend: Backend, reply: Reply, stream: bool) -> Reply: ...

"""Reading a client's request body: bounded in size, in encoding, and in the memory all the
bodies in flight may take together.

A body costs far more than its bytes once the body layer has split it: measured, a 12.8 MB
body of 200,000 tiny turns (400,000 JSON objects) peaks at ~246 MB in the body layer, ~640
bytes an object. Eight such bodies at once took a router past 1.3 GB. So each router has a
budget of bytes (`[router] body_budget_mb`) that the bodies in flight hold, estimated:

    before the body is read   PRE_READ_FACTOR x its Content-Length (or x what has arrived
                              of a chunked or compressed body, grown as it arrives)
    once it is read           its bytes + PER_OBJECT_BYTES x its JSON objects (`{`)

A request whose estimate does not fit waits, first come first served, up to `body_wait_s`,
then gets a 529 `overloaded_error` with `retry-after` (Claude Code retries it). A request
alone in the router always gets in, however large. The hold is given back when the
request is committed (proxy.route) or ends (inbound.py).

Errors of aiohttp's body reader (a Content-Encoding it cannot decode, a client gone) are
the client's 400 here, as upstream.py maps the errors of the upstream side.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

from hotswap.config.tables import MB
from hotswap.errors import RequestError, RouterBusyError

log = logging.getLogger("hotswap")

PRE_READ_FACTOR = 24  # bytes of memory per byte of body, until the body is counted
PER_OBJECT_BYTES = 640  # a split JSON object, measured (see the module doc)
COUNT_FROM_BYTES = 64 * 1024  # smaller bodies keep the pre-read estimate (no scan)
RETRY_AFTER_S = 2
DECODABLE = frozenset(("gzip", "deflate", "br", "zstd", "identity", ""))


@dataclass(eq=False)
class _Waiter:
    size: int
    granted: asyncio.Future[None]


@dataclass(eq=False)
class BodyBudget:
    """The bytes that the request bodies in flight may take, estimated (module doc)."""

    limit: int
    wait_s: float
    used: int = 0
    waiting: deque[_Waiter] = field(default_factory=deque)

    def _fits(self, size: int) -> bool:
        return self.used == 0 or self.used + size <= self.limit

    async def take(self, size: int) -> int:
        """Hold `size` bytes of the budget, waiting in line for them (RouterBusyError)."""
        if not self.waiting and self._fits(size):
            self.used += size
            return size
        waiter = _Waiter(size, asyncio.get_running_loop().create_future())
        self.waiting.append(waiter)
        try:
            async with asyncio.timeout(self.wait_s):
                await waiter.granted
        except BaseException as exc:
            self._withdraw(waiter)
            if isinstance(exc, TimeoutError):
                raise _busy(self) from None
            raise
        return size

    def _withdraw(self, waiter: _Waiter) -> None:
        if waiter in self.waiting:
            self.waiting.remove(waiter)
        elif waiter.granted.done() and not waiter.granted.cancelled():
            self.give(waiter.size)  # granted as it gave up: give it back

    def give(self, size: int) -> None:
        """Give back `size` bytes; whoever waits first and now fits gets in."""
        self.used -= size
        while self.waiting and self._fits(self.waiting[0].size):
            waiter = self.waiting.popleft()
            if not waiter.granted.done():
                self.used += waiter.size
                waiter.granted.set_result(None)

    def adjust(self, held: int, estimate: int) -> int:
        """A hold set to the body's counted estimate, without waiting: the body is here."""
        self.used += estimate - held
        if estimate < held:
            self.give(0)
        return estimate


def _busy(budget: BodyBudget) -> RouterBusyError:
    log.warning("a request waited %g s for the body budget (body_budget_mb)", budget.wait_s)
    return RouterBusyError(
        f"hotswap: the router is busy with {budget.used // MB} MB of request bodies in "
        "flight (body_budget_mb); retry shortly",
        RETRY_AFTER_S,
    )


@dataclass(eq=False)
class Share:
    """One request's share of the budget. Made by the inbound middleware before the guard
    clones the request (a clone copies the request's mapping, not this object)."""

    held: int = 0
    queued: bool = False  # waiting for the budget: not a stalled body (inbound.py)


BUDGET: web.AppKey[BodyBudget] = web.AppKey("body_budget", BodyBudget)
SHARE: web.RequestKey[Share] = web.RequestKey("body_share", Share)


def share_of(request: web.Request) -> Share:
    share = request.get(SHARE)
    if share is None:
        share = request[SHARE] = Share()
    return share


async def _take(budget: BodyBudget, share: Share, size: int) -> None:
    share.queued = True
    try:
        share.held += await budget.take(size)
    finally:
        share.queued = False


async def read_body(request: web.Request, limit: int) -> bytes:
    """The client's body, at most `limit` bytes (413 past it, before reading the rest),
    in one of the encodings aiohttp decodes, once the budget holds room for it."""
    check_encoding(request.headers.get("Content-Encoding"))
    if request.content_length is not None and request.content_length > limit:
        raise RequestError(_too_large(request.content_length, limit), status=413)
    budget, share = request.app[BUDGET], share_of(request)
    await _take(budget, share, PRE_READ_FACTOR * (request.content_length or COUNT_FROM_BYTES))
    chunks, size = [], 0
    try:
        async for chunk in request.content.iter_any():
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise RequestError(_too_large(size, limit), status=413)
            if size * PRE_READ_FACTOR > share.held:  # chunked, or decoded past its length
                await _take(budget, share, max(share.held, size * PRE_READ_FACTOR - share.held))
    except (web.RequestPayloadError, ConnectionError, RuntimeError) as exc:
        log.info("refused a request body that could not be read (%s)", _why(exc))
        raise RequestError(f"hotswap: the request body could not be read ({_why(exc)})") from None
    raw = b"".join(chunks)  # one chunk: that very object, no copy
    if len(raw) >= COUNT_FROM_BYTES:
        share.held = budget.adjust(share.held, len(raw) + PER_OBJECT_BYTES * raw.count(b"{"))
    return raw


def check_encoding(value: str | None) -> None:
    """One Content-Encoding that aiohttp decodes; any other would reach the body layer
    still encoded (or be refused there as a 500)."""
    if value is None or value.strip().lower() in DECODABLE:
        return
    raise RequestError(
        f"hotswap: unsupported Content-Encoding {value[:40]!r} (one of gzip, deflate, br, "
        "zstd or identity)"
    )


def _why(exc: BaseException) -> str:
    if isinstance(exc, web.RequestPayloadError):
        return str(exc).replace("\n", " ").removeprefix("400, message: ").strip()
    return "the client closed the connection"


def _too_large(size: int, limit: int) -> str:
    return f"hotswap: request body of {size} bytes exceeds the limit of {limit} bytes (max_body_mb)"


def release_hold(request: web.Request) -> None:
    """The request's share of the budget given back (once)."""
    share = request.get(SHARE)
    if share is not None and share.held:
        size, share.held = share.held, 0
        request.app[BUDGET].give(size)

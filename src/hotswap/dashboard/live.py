"""The dashboard's live feed: one poller for every open page, pushing what changed as
server-sent events.

While at least one page listens, a task runs `Gatherer.tick` in a worker thread every
POLL_S (at once when an action pokes it), compares each part of the picture with what it
last sent, and queues the parts that changed to every listener; new exchanges are sent as
they are read from the ledger's tail. A page that connects gets the whole picture first.
The browser never polls: its EventSource reconnects by itself after a break and then gets
the whole picture again.

Events (each `data:` is one line of JSON): `sessions`, `backends`, `spend`, `ledger` (a
problem reading it, or none), `log` (`{"reset": bool, "entries": [...]}`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from hotswap.dashboard.data import LOG_FIRST, Gatherer, Tick
from hotswap.router import sse

log = logging.getLogger("hotswap")

POLL_S = 1.0
HEARTBEAT_S = 15.0  # a comment line this often, so a dead connection is noticed
QUEUE_MAX = 256  # events waiting for one slow page; past that it is cut off (it reconnects)
PARTS = ("sessions", "backends", "spend", "ledger")


def encode(event: str, payload: Any) -> bytes:
    """One server-sent event; JSON escapes newlines, so `data:` is one line."""
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return sse.encode(event, data.encode())


class Feed:
    """What every open page is sent; owned by the dashboard's app."""

    def __init__(self, gatherer: Gatherer, poll_s: float = POLL_S) -> None:
        self.gatherer = gatherer
        self.poll_s = poll_s
        self._listeners: set[asyncio.Queue[bytes | None]] = set()
        self._last: dict[str, bytes] = {}  # part -> the event last sent for it
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_FIRST)  # for pages that connect
        self._task: asyncio.Task[None] | None = None
        self._poke = asyncio.Event()
        self._closed = False

    def poke(self) -> None:
        """Gather now (after an action), not at the next tick."""
        self._poke.set()

    def snapshot(self) -> list[bytes]:
        """The whole picture, for a page that connects."""
        events = [self._last[part] for part in PARTS if part in self._last]
        return [*events, encode("log", {"reset": True, "entries": list(self._log)})]

    async def listen(self) -> AsyncIterator[bytes]:
        """The events one page gets, the whole picture first; heartbeats in between."""
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_MAX)
        self._listeners.add(queue)
        self._ensure_running()
        try:
            for event in self.snapshot():
                yield event
            while not self._closed:
                try:
                    item = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if item is None:
                    return
                yield item
        finally:
            self._listeners.discard(queue)

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        """Gather and publish while anyone listens."""
        while self._listeners and not self._closed:
            self._poke.clear()
            try:
                tick = await asyncio.to_thread(self.gatherer.tick)
            except Exception:  # a bug in gathering: logged, and the page stays as it was
                log.exception("dashboard: gathering failed")
            else:
                self.publish(tick)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), self.poll_s)

    def publish(self, tick: Tick) -> None:
        parts = {
            "sessions": {"rows": tick.sessions},
            "backends": {"rows": tick.backends},
            "spend": tick.spend,
            "ledger": {"problem": tick.ledger_problem},
        }
        for name, payload in parts.items():
            event = encode(name, payload)
            if self._last.get(name) != event:
                self._last[name] = event
                self._send(event)
        if tick.log_reset:
            self._log.clear()
        if tick.log or tick.log_reset:
            self._log.extend(tick.log)
            self._send(encode("log", {"reset": tick.log_reset, "entries": tick.log}))

    def _send(self, event: bytes) -> None:
        for queue in list(self._listeners):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:  # a page that does not read: cut it off
                self._listeners.discard(queue)
                _end(queue)

    async def close(self) -> None:
        """End every page's stream (the dashboard stops)."""
        self._closed = True
        for queue in list(self._listeners):
            _end(queue)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _end(queue: asyncio.Queue[bytes | None]) -> None:
    while not queue.empty():
        queue.get_nowait()
    queue.put_nowait(None)


FEED = web.AppKey("feed", Feed)


async def handle_events(request: web.Request) -> web.StreamResponse:
    """GET /events: the page's server-sent events."""
    resp = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
    )
    await resp.prepare(request)
    with contextlib.suppress(ConnectionError):
        async for event in request.app[FEED].listen():
            await resp.write(event)
    return resp

"""The exchange object: one per client request, carried through every stage of the request
path (proxy.py) and read by each, as mitmproxy's `HTTPFlow` is.

Every stage writes to it through a named method, once: `redirect` (a spent budget's, before
any attempt), `tried` (an attempt's typed record), `commit` (the answer chosen: the commit
point), `wrote` (bytes out), `broke` (a committed stream that failed), `client_left`,
`gave_up`. Its verdicts are derived here and only here (`fallback_kind`, `outcome`), and when
the request ends it becomes the immutable `ExchangeRecord` (exchange.py) that the router's
counters and observers read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from hotswap.config.backends import Backend
from hotswap.router import exchange
from hotswap.router.attempt import Attempt, Request
from hotswap.router.exchange import AttemptRecord, ExchangeRecord
from hotswap.router.fallback import Verdict
from hotswap.routes.classes import AGENT_HEADER
from hotswap.rules.events import StreamContext
from hotswap.rules.rewrite import map_model


@dataclass
class Exchange:
    """One client request on its way through the router."""

    req: Request
    active: Backend  # the backend the session's mode (or the route) named when it came in
    route: str | None = None  # the route that chose `active` (None: the session's mode)
    started: float = field(default_factory=time.monotonic)
    started_at: float = field(default_factory=time.time)
    attempts: list[Attempt] = field(default_factory=list)
    answered: Attempt | None = None  # the attempt whose answer the client got
    status: int = 0  # the HTTP status the client got
    first_byte: float | None = None  # time.monotonic() of the client's first byte
    sent: int = 0  # bytes of body written to the client
    ctx: StreamContext | None = None  # what the event rewriter learnt (usage, model)
    broke_with: str | None = None  # why a committed stream ended early
    client_gone: bool = False
    error: str | None = None  # why it failed, when it did (given up)
    # Called once the first byte is out: the request is let go before a long relay (not
    # before, so that freeing a large body never delays the client's first byte).
    _release: Callable[[], None] | None = None

    # -- what the stages write -----------------------------------------------------------

    def redirect(self, backend: Backend, route: str) -> None:
        """Before any attempt: a spent budget sends the request to `backend` instead
        (router/budget_gate.py), or blocks it; `route` says so in its record."""
        self.active, self.route = backend, route

    def tried(self, attempt: Attempt) -> None:
        """One backend's answer (or failure), before anything reached the client."""
        self.attempts.append(attempt)

    def commit(self, attempt: Attempt) -> StreamContext:
        """The commit point: this attempt's answer goes to the client, no other after it."""
        self.answered = attempt
        self.status = attempt.status
        self._release = self.req.body.release
        self.ctx = StreamContext(backend=attempt.backend.name)
        return self.ctx

    def wrote(self, size: int) -> None:
        if self.first_byte is None:
            self.first_byte = time.monotonic()
            if self._release is not None:
                self._release()
                self._release = None
        self.sent += size

    def broke(self, reason: str) -> None:
        """A committed stream failed; the client got one SSE error event."""
        self.broke_with = reason

    def client_left(self) -> None:
        self.client_gone = True

    def gave_up(self, status: int, error: str | None, size: int) -> None:
        """Every attempt failed; the client got an error response of `size` bytes."""
        self.status, self.error = status, error
        self.wrote(size)

    # -- what is derived from it, once, here -----------------------------------------------

    def attempt_lines(self) -> list[str]:
        """Each attempt and why it failed, for logs and the give-up error."""
        return [f"{a.backend.name}: {a.reason}" for a in self.attempts]

    def fallback_kind(self) -> str | None:
        """Why another backend than the active one answered (None: it did not). STICKY when
        the active backend refused this session (credentials, credit), else TRANSIENT."""
        answered = self.answered
        if answered is None or answered.backend.name == self.active.name:
            return None
        first = self.attempts[0]
        refused = first.verdict is Verdict.SWITCH and first.backend.name == self.active.name
        return exchange.STICKY if refused else exchange.TRANSIENT

    def outcome(self) -> str:
        if self.client_gone:
            return exchange.CLIENT_GONE
        if self.answered is None:
            return exchange.FAILED
        if self.broke_with is not None:
            return exchange.STREAM_ERROR
        return exchange.OK if 200 <= self.status < 300 else exchange.UPSTREAM_ERROR

    def record(self, exchange_id: str, session: str | None) -> ExchangeRecord:
        """The exchange's immutable record, however it ended."""
        ctx, answered = self.ctx, self.answered
        client_model = self.req.model
        # A failed exchange is the last backend's it was sent to; only one that reached no
        # backend (refused by the router) has none.
        backend = answered.backend if answered is not None else None
        sent_to = backend or (self.attempts[-1].backend if self.attempts else None)
        kind = self.fallback_kind()
        return ExchangeRecord(
            id=exchange_id,
            started=self.started_at,
            session=session,
            endpoint="messages" if self.req.is_messages else "count_tokens",
            stream=self.req.stream,
            client_model=client_model,
            active=self.active.name,
            backend=sent_to.name if sent_to is not None else None,
            wire_model=_wire_model(client_model, sent_to),
            response_model=ctx.model if ctx is not None else None,
            status=self.status,
            outcome=self.outcome(),
            error=self.broke_with or self.error,
            fell_back_from=self.active.name if kind is not None else None,
            fallback_kind=kind,
            route=self.route,
            usage=ctx.usage if ctx is not None else exchange.Usage(),
            stop_reason=ctx.stop_reason if ctx is not None else None,
            ttfb_ms=_ms(self.started, self.first_byte),
            duration_ms=_ms(self.started, time.monotonic()) or 0.0,
            request_bytes=self.req.body.size,
            response_bytes=self.sent,
            attempts=tuple(_attempt_record(a, client_model) for a in self.attempts),
            conversation=_header(self.req.headers, CONVERSATION_HEADER),
            agent=_header(self.req.headers, AGENT_HEADER),
        )


def _attempt_record(a: Attempt, client_model: str | None) -> AttemptRecord:
    return AttemptRecord(
        backend=a.backend.name,
        status=a.status,
        verdict=a.verdict.value,
        reason=a.reason,
        wire_model=_wire_model(client_model, a.backend),
        ttfb_ms=_ms(a.started, a.first_byte),
        duration_ms=_ms(a.started, a.ended) or 0.0,
    )


def _wire_model(client_model: str | None, backend: Backend | None) -> str | None:
    if client_model is None or backend is None:
        return None
    return map_model(client_model, backend)


# Claude Code 2.1.332 names its conversation on every request, and a subagent on each of
# the subagent's own requests (the main agent's carry no agent id).
CONVERSATION_HEADER = "x-claude-code-session-id"
ID_CHARS = 128  # an id, not a payload: a longer header is cut


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return value[:ID_CHARS] if value else None


def _ms(start: float, end: float | None) -> float | None:
    return None if end is None else round((end - start) * 1000, 2)

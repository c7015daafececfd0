"""Which backends to try, in what order, and what each outcome means. Pure and table-driven.

    plan(config, active, breakers)  -> active, then its fallback chain (skipping open breakers)
    classify(status, body)          -> Verdict                          (status 0: transport)
    classify_event_error(data)      -> (Verdict, status)                (an early SSE `error`)
    retry_same_after(...)           -> seconds to wait before retrying the same backend, or None

Verdicts: DELIVER (commit to the client), SWITCH (credentials or credit refused: try the next
backend and make the switch sticky), RETRY (transient: the next backend for this request
only, where crosses_on_transient allows it), FINAL (the client's own error: pass it through
verbatim, never retry).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hotswap.config.backends import Backend
from hotswap.config.loading import Config
from hotswap.errors import STATUS_OF_TYPE, parse_error

Clock = Callable[[], float]


class Verdict(enum.Enum):
    DELIVER = "deliver"
    SWITCH = "switch"
    RETRY = "retry"
    FINAL = "final"


# HTTP status -> verdict; anything not listed: 2xx DELIVER, other 4xx FINAL, 5xx RETRY.
STATUS_VERDICTS: dict[int, Verdict] = {
    401: Verdict.SWITCH,
    402: Verdict.SWITCH,
    403: Verdict.SWITCH,
    408: Verdict.RETRY,
    429: Verdict.RETRY,
    500: Verdict.RETRY,
    502: Verdict.RETRY,
    503: Verdict.RETRY,
    504: Verdict.RETRY,
    529: Verdict.RETRY,
}

# (status, lower-case phrase in the error body, verdict): refusals some backends report with
# a status that would otherwise mean something else. Checked before STATUS_VERDICTS.
BODY_HINTS: tuple[tuple[int, bytes, Verdict], ...] = (
    (400, b"credit balance is too low", Verdict.SWITCH),  # Anthropic: no credit left
    (400, b"insufficient balance", Verdict.SWITCH),
    (429, b"spend_limit", Verdict.SWITCH),  # Anthropic: enforced_spend_limit_reached
    (429, b"spend limit", Verdict.SWITCH),
    (429, b"insufficient_quota", Verdict.SWITCH),  # OpenAI-style: no credits
    (429, b"insufficient balance", Verdict.SWITCH),  # Zhipu 1113
    (500, b"insufficient balance", Verdict.SWITCH),  # Zhipu 1113 as an in-stream error
)
HINT_SCAN_BYTES = 8192

MAX_RETRY_AFTER_WAIT_S = 5.0


def classify(status: int, body: bytes = b"") -> Verdict:
    """What an upstream outcome means. `status` 0 is a transport failure (refused, reset,
    TLS, timeout); `body` is the error body, scanned for the hints of BODY_HINTS."""
    if status == 0:
        return Verdict.RETRY
    if 200 <= status < 300:
        return Verdict.DELIVER
    text = body[:HINT_SCAN_BYTES].lower()
    for hint_status, phrase, verdict in BODY_HINTS:
        if status == hint_status and phrase in text:
            return verdict
    if status in STATUS_VERDICTS:
        return STATUS_VERDICTS[status]
    return Verdict.RETRY if status >= 500 else Verdict.FINAL


def classify_event_error(data: bytes) -> tuple[Verdict, int]:
    """An `error` event that opened a stream: classified as the HTTP error it stands for.
    Unknown types (e.g. a backend's numeric codes) count as a server error."""
    error = parse_error(data)
    status = STATUS_OF_TYPE.get(error[0], 500) if error else 500
    return classify(status, data), status


def retry_same_after(status: int, retry_after: str | None, body: bytes) -> float | None:
    """Seconds to wait before retrying the same backend on a 429, or None to move on.

    A short `retry-after` is worth waiting for; a spend limit or refusal is not.
    """
    if status != 429 or not retry_after or classify(status, body) is not Verdict.RETRY:
        return None
    try:
        seconds = float(retry_after)
    except ValueError:
        return None
    return seconds if 0 <= seconds <= MAX_RETRY_AFTER_WAIT_S else None


@dataclass
class Breaker:
    """Per-backend circuit breaker: open after N consecutive failures, one probe after T s.

    closed -> (N failures) -> open -> (T seconds) -> half-open -> one probe:
    success closes it, failure opens it for another T seconds.
    """

    failures_to_open: int
    cooldown_s: float
    clock: Clock = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False
    trips: int = 0

    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.clock() - self.opened_at >= self.cooldown_s else "open"

    def available(self) -> bool:
        """May a request be sent? Closed, or half-open with no probe in flight. No side effect."""
        state = self.state()
        return state == "closed" or (state == "half-open" and not self.probing)

    def begin(self) -> None:
        """A request is being sent; in half-open state it is the one probe."""
        if self.state() == "half-open":
            self.probing = True

    def success(self) -> None:
        self.failures, self.opened_at, self.probing = 0, None, False

    def failure(self) -> None:
        self.failures += 1
        self.probing = False
        if self.failures >= self.failures_to_open:
            if self.opened_at is None:
                self.trips += 1
            self.opened_at = self.clock()

    def release(self) -> None:
        """The request ended with no verdict on the backend's health (cancelled, refused)."""
        self.probing = False

    def snapshot(self) -> dict[str, Any]:
        state = self.state()
        retry_in = None
        if state == "open" and self.opened_at is not None:
            retry_in = round(self.cooldown_s - (self.clock() - self.opened_at), 1)
        return {
            "state": state,
            "failures": self.failures,
            "trips": self.trips,
            "retry_in_s": retry_in,
        }


@dataclass
class Breakers:
    """One Breaker per backend name, created on first use; `clock` is injectable for tests."""

    failures_to_open: int
    cooldown_s: float
    clock: Clock = time.monotonic
    by_backend: dict[str, Breaker] = field(default_factory=dict)

    def get(self, name: str) -> Breaker:
        if name not in self.by_backend:
            self.by_backend[name] = Breaker(self.failures_to_open, self.cooldown_s, self.clock)
        return self.by_backend[name]

    def set_clock(self, clock: Clock) -> None:
        self.clock = clock
        for breaker in self.by_backend.values():
            breaker.clock = clock


def chain(config: Config, active: Backend) -> list[Backend]:
    """The active backend, then its fallback chain (unless fallback is off globally)."""
    backends = [active]
    if config.router.fallback:
        for name in active.fallback:
            backend = config.resolve(name)
            if backend is not None and backend not in backends:
                backends.append(backend)
    return backends


def crosses_on_transient(config: Config, backend: Backend) -> bool:
    """May a transient fault of `backend` (429, 5xx, timeout) send the request on to the
    next backend of the chain? Only where the user enabled it: another vendor then sees
    the conversation (the backend's `transient_fallback`, else the router's)."""
    if backend.transient_fallback is not None:
        return backend.transient_fallback
    return config.router.transient_fallback


def plan(
    config: Config,
    active: Backend,
    breakers: Breakers | None = None,
    holds: Callable[[Backend], bool] | None = None,
) -> Iterator[Backend]:
    """The backends to try for one request, in order, skipping those whose breaker is open
    and the fallbacks that cannot `hold` the request (its size against their context
    windows). Lazy: a fallback is looked at only once the backend before it has failed, so
    a request that the first backend answers never pays for `holds` (a long request's
    careful count: router/window.py).

    When every one of them is open the active backend is tried anyway: the breaker saves
    time, it never refuses a request on its own. An open breaker sends a request elsewhere
    only where transient faults may cross to another backend (crosses_on_transient).
    """
    backends = chain(config, active)
    fits = (b for b in backends if b is active or holds is None or holds(b))
    if breakers is None or not crosses_on_transient(config, active):
        yield from fits
        return
    planned = False
    for backend in fits:
        if breakers.get(backend.name).available():
            planned = True
            yield backend
    if not planned:
        yield active

"""Which backends to try, in what order, and what each outcome means. Pure and table-driven.

    plan(config, active, breakers) -> [active, *its fallback chain]   (skipping open breakers)
    classify(outcome)              -> Verdict

Verdicts: DELIVER (commit to the client), SWITCH (credentials refused: try the next backend
and make the switch sticky), RETRY (transient: try the next backend for this request only),
FINAL (the client's own error: pass it through verbatim, never retry).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field

from hotswap.backends import Backend
from hotswap.config import Config


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

# The `error.type` of an SSE error event that arrives before anything was committed.
EVENT_ERROR_VERDICTS: dict[str, Verdict] = {
    "overloaded_error": Verdict.RETRY,
    "api_error": Verdict.RETRY,
    "rate_limit_error": Verdict.RETRY,
    "timeout_error": Verdict.RETRY,
    "authentication_error": Verdict.SWITCH,
    "billing_error": Verdict.SWITCH,
    "permission_error": Verdict.SWITCH,
}

MAX_RETRY_AFTER_WAIT_S = 5.0
_SPEND_LIMIT_HINTS = (b"quota", b"spend", b"credit", b"billing", b"balance")


def classify_status(status: int) -> Verdict:
    if status in STATUS_VERDICTS:
        return STATUS_VERDICTS[status]
    if 200 <= status < 300:
        return Verdict.DELIVER
    if status >= 500:
        return Verdict.RETRY
    return Verdict.FINAL


def classify_event_error(error_type: str) -> Verdict:
    return EVENT_ERROR_VERDICTS.get(error_type, Verdict.FINAL)


def retry_same_after(status: int, retry_after: str | None, body: bytes) -> float | None:
    """Seconds to wait before retrying the same backend on a 429, or None to move on.

    A short `retry-after` is worth waiting for; a spend limit or quota is not.
    """
    if status != 429 or not retry_after:
        return None
    if any(hint in body.lower() for hint in _SPEND_LIMIT_HINTS):
        return None
    try:
        seconds = float(retry_after)
    except ValueError:
        return None
    return seconds if 0 <= seconds <= MAX_RETRY_AFTER_WAIT_S else None


@dataclass
class Breaker:
    """Per-backend circuit breaker: open after N consecutive failures, probe after T seconds."""

    failures_to_open: int
    cooldown_s: float
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False
    trips: int = 0

    def state(self, now: float | None = None) -> str:
        if self.opened_at is None:
            return "closed"
        now = time.monotonic() if now is None else now
        return "half-open" if now - self.opened_at >= self.cooldown_s else "open"

    def available(self, now: float | None = None) -> bool:
        """May a request be sent? Closed, or half-open with no probe in flight. No side effect."""
        state = self.state(now)
        return state == "closed" or (state == "half-open" and not self.probing)

    def begin(self, now: float | None = None) -> None:
        """A request is being sent; in half-open state it is the one probe."""
        if self.state(now) == "half-open":
            self.probing = True

    def success(self) -> None:
        self.failures, self.opened_at, self.probing = 0, None, False

    def failure(self, now: float | None = None) -> None:
        self.failures += 1
        self.probing = False
        if self.failures >= self.failures_to_open:
            if self.opened_at is None:
                self.trips += 1
            self.opened_at = time.monotonic() if now is None else now


@dataclass
class Breakers:
    failures_to_open: int
    cooldown_s: float
    by_backend: dict[str, Breaker] = field(default_factory=dict)

    def get(self, name: str) -> Breaker:
        if name not in self.by_backend:
            self.by_backend[name] = Breaker(self.failures_to_open, self.cooldown_s)
        return self.by_backend[name]


def plan(config: Config, active: Backend, breakers: Breakers | None = None) -> list[Backend]:
    """The backends to try for one request: the active one, then its fallback chain."""
    chain = [active]
    if config.router.fallback:
        for name in active.fallback:
            backend = config.resolve(name)
            if backend is not None and backend not in chain:
                chain.append(backend)
    if breakers is None:
        return chain
    allowed = [b for b in chain if breakers.get(b.name).available()]
    return allowed or [active]

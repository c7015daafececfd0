"""The exchange record: one immutable record per finished exchange, for whoever observes it.

An exchange is one client request and what became of it: committed (relayed to the end, or
broken mid-stream), given up (every attempt failed), or abandoned (the client went away).
When it ends, the router builds one `ExchangeRecord` and hands it to its observers (the
ledger, the live log, the dashboard) *off the hot path*: `Observers.publish` schedules each
observer with `loop.call_soon`, after the response is done, so an observer never delays a
byte to the client, and an observer that raises is logged and never breaks a request.

The record holds what a ledger or a dashboard needs and nothing of the conversation: no
prompt text, no key (its free text -- the error, each attempt's reason, which may quote
what a backend said -- is masked by `redacted` in RouterState.finished). Usage is as the
client saw it (after normalisation), in Anthropic's terms; `usage_from` maps other
vendors' spellings (DeepSeek's cache hit/miss counts, OpenAI's `cached_tokens`) onto them.

Stdlib only.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from hotswap.redact import Redactor

log = logging.getLogger("hotswap")


class ExchangeIds:
    """Ids for one router's exchanges: a random 64-bit `prefix` drawn once, then a counter.
    Unique across routers and restarts like a random id, without a getrandom() system
    call per exchange; the prefix tells this router's rows in the shared ledger apart
    (ledger/budgets.py leaves them out of what it reads)."""

    def __init__(self) -> None:
        self.prefix = os.urandom(8).hex()
        self._count = itertools.count()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        return f"{self.prefix}{next(self._count):08x}"


# What became of an exchange.
OK = "ok"  # committed and relayed to its end (a 2xx)
UPSTREAM_ERROR = "upstream_error"  # committed: the backend's own error passed through (a 4xx)
STREAM_ERROR = "stream_error"  # committed, then broke mid-stream (one SSE error event sent)
FAILED = "failed"  # every attempt failed: the router's error (or the one attempt's) sent
CLIENT_GONE = "client_gone"  # the client went away before the end
OUTCOMES = (OK, UPSTREAM_ERROR, STREAM_ERROR, FAILED, CLIENT_GONE)

# Why another backend answered.
STICKY = "sticky"  # the active backend refused (401/402/403, no credit): the switch sticks
TRANSIENT = "transient"  # a transient fault (429, 5xx, timeout): for this request only


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts in Anthropic's terms (input excludes cache reads and writes)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total(self) -> int:
        cache = self.cache_read_tokens + self.cache_write_tokens
        return self.input_tokens + self.output_tokens + cache


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def usage_from(usage: Mapping[str, Any] | None) -> Usage:
    """A vendor's usage object, in Anthropic's terms.

    - Anthropic: input_tokens, output_tokens, cache_read_input_tokens,
      cache_creation_input_tokens.
    - DeepSeek: prompt_cache_hit_tokens / prompt_cache_miss_tokens (when the Anthropic
      fields do not say it already): hits are cache reads; misses are the input.
    - OpenAI style: prompt_tokens (cached included), completion_tokens,
      prompt_tokens_details.cached_tokens (or input_tokens_details.cached_tokens).
    """
    if not isinstance(usage, Mapping):
        return Usage()
    read = _int(usage.get("cache_read_input_tokens"))
    write = _int(usage.get("cache_creation_input_tokens"))
    if "input_tokens" in usage or "output_tokens" in usage:
        inp, out = _int(usage.get("input_tokens")), _int(usage.get("output_tokens"))
        if not read and "prompt_cache_hit_tokens" in usage:
            read = _int(usage.get("prompt_cache_hit_tokens"))
            if "prompt_cache_miss_tokens" in usage:
                inp = _int(usage.get("prompt_cache_miss_tokens"))
        return Usage(inp, out, read, write)
    prompt = _int(usage.get("prompt_tokens"))
    details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details")
    cached = _int(details.get("cached_tokens")) if isinstance(details, Mapping) else 0
    if not cached:
        cached = _int(usage.get("prompt_cache_hit_tokens"))
    return Usage(max(prompt - cached, 0), _int(usage.get("completion_tokens")), cached, write)


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One backend tried for the exchange."""

    backend: str
    status: int  # HTTP status; 0: no HTTP answer (refused, timeout, missing key)
    verdict: str  # fallback.Verdict value: deliver | final | retry | switch
    reason: str = ""  # why it failed ("" when it answered)
    wire_model: str | None = None  # the model name sent to this backend
    ttfb_ms: float | None = None  # until its first byte (streams: its first real event)
    duration_ms: float = 0.0  # until its verdict


@dataclass(frozen=True, slots=True)
class ExchangeRecord:
    """One finished exchange. Times are Unix seconds; durations milliseconds."""

    id: str
    started: float
    session: str | None
    endpoint: str  # "messages" | "count_tokens"
    stream: bool
    client_model: str | None  # the model Claude Code asked for (a claude-* name, usually)
    active: str  # the backend the mode (or a route) named when the request came in
    # The backend whose answer the client got; when none answered, the last one the request
    # was sent to (None: it reached no backend, e.g. refused by the router).
    backend: str | None
    wire_model: str | None  # the model name sent to that backend
    response_model: str | None  # the model the answer said it came from
    status: int  # the HTTP status the client got
    outcome: str  # one of OUTCOMES
    error: str | None = None  # why it failed, when it did
    fell_back_from: str | None = None  # `active`, when another backend answered
    fallback_kind: str | None = None  # STICKY | TRANSIENT, when it fell back
    route: str | None = None  # the route that sent it to `active` (None: the mode)
    usage: Usage = field(default_factory=Usage)
    stop_reason: str | None = None
    ttfb_ms: float | None = None  # until the client's first byte
    duration_ms: float = 0.0  # until the client's last byte
    request_bytes: int = 0
    response_bytes: int = 0
    attempts: tuple[AttemptRecord, ...] = ()
    # Who in Claude Code spent it: its conversation (`x-claude-code-session-id`) and, for a
    # subagent's request, the agent (`x-claude-code-agent-id`); None when not sent.
    conversation: str | None = None
    agent: str | None = None

    @property
    def fell_back(self) -> bool:
        return self.fell_back_from is not None


Observer = Callable[[ExchangeRecord], None]


class ExchangeSink(Protocol):
    """The seam where finished exchanges are kept: the SQLite ledger today
    (ledger.attach.RouterLedger), another store for a gateway. It observes every record and
    adds its own part to the router's status."""

    def observe(self, record: ExchangeRecord) -> None: ...

    def status(self) -> dict[str, Any]: ...


def redacted(record: ExchangeRecord, redactor: Redactor) -> ExchangeRecord:
    """The record with every secret the redactor knows masked in its free text (the error,
    each attempt's reason: a backend's 401 may quote the key it got); itself when clean."""
    error = redactor.optional(record.error)
    attempts = tuple(_redacted_attempt(a, redactor) for a in record.attempts)
    same = all(a is b for a, b in zip(attempts, record.attempts, strict=True))
    if same and error is record.error:
        return record
    return replace(record, error=error, attempts=attempts)


def _redacted_attempt(attempt: AttemptRecord, redactor: Redactor) -> AttemptRecord:
    reason = redactor.text(attempt.reason)
    return attempt if reason is attempt.reason else replace(attempt, reason=reason)


class Observers:
    """Who is told of each finished exchange; each is called soon after, never inline."""

    def __init__(self) -> None:
        self._observers: list[Observer] = []
        self._sinks: list[ExchangeSink] = []

    def add(self, observer: Observer) -> None:
        self._observers.append(observer)

    def add_sink(self, sink: ExchangeSink) -> None:
        """A store of exchanges: observes each one, and reports in the router's status."""
        self._sinks.append(sink)
        self.add(sink.observe)

    def status(self) -> dict[str, Any]:
        """The sinks' parts of the router's status (the ledger's `ledger` and `spend`)."""
        merged: dict[str, Any] = {}
        for sink in self._sinks:
            merged.update(sink.status())
        return merged

    def remove(self, observer: Observer) -> None:
        self._observers.remove(observer)

    def __bool__(self) -> bool:
        return bool(self._observers)

    def publish(self, record: ExchangeRecord) -> None:
        """Schedule every observer with the record (inline when no loop runs: tests)."""
        if not self._observers:
            return
        import asyncio  # stdlib; here so that prices.py (via Usage) stays light for `ds`

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        for observer in list(self._observers):
            if loop is None:
                _deliver(observer, record)
            else:
                loop.call_soon(_deliver, observer, record)


def _deliver(observer: Observer, record: ExchangeRecord) -> None:
    try:
        observer(record)
    except Exception:  # an observer's bug never breaks the router
        log.exception("exchange observer %r failed", observer)

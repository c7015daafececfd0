"""A router's live state: which backend is active (from its mode file), counts, last error,
and everything the router keeps between requests (each cache is an attribute here, sized
and documented where its class is: body/caches.py, thinking.ThinkingOrigins,
fallback.Breakers).

The mode file is read on every request (a stat, while it has not changed: modefile.ModeReader).
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotswap import __version__
from hotswap.body.caches import WIRE_SHARE_PERCENT, BodyCaches
from hotswap.config.backends import Backend
from hotswap.config.loading import Config
from hotswap.config.routes import Route
from hotswap.config.tuning import IdleTrim
from hotswap.redact import Redactor
from hotswap.router.budget_gate import BudgetVerdict
from hotswap.router.exchange import (
    CLIENT_GONE,
    FAILED,
    STICKY,
    STREAM_ERROR,
    TRANSIENT,
    UPSTREAM_ERROR,
    ExchangeIds,
    ExchangeRecord,
    Observers,
    redacted,
)
from hotswap.router.fallback import Breakers
from hotswap.router.seams import ModeFile, ModeStore
from hotswap.rules.thinking import ThinkingOrigins
from hotswap.sessions.modefile import routes_off, split_mode
from hotswap.wire.registry import WireCaches

log = logging.getLogger("hotswap")

MAX_MODEL_BACKENDS = 32  # backends with a model from the mode file, kept (RouterState._models)


@dataclass(frozen=True, slots=True)
class ActiveMode:
    backend: Backend
    source: str  # "mode file" | "default" | "last good mode"
    problem: str | None = None  # why the mode file's backend is not the one used


@dataclass
class RouterState:
    """Shared by every request of one router."""

    config: Config
    mode_file: Path
    initial_backend: str
    session_id: str | None = None
    port: int = 0
    started: float = field(default_factory=time.time)
    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    last_error: str | None = None
    mode_problem: str | None = None  # the last request's (refresh_mode), logged once
    write_problem: str | None = None  # a sticky fallback could not write the mode file
    sticky_fallbacks: int = 0
    transient_via: Counter[str] = field(default_factory=Counter)  # by the backend that answered
    routed: Counter[str] = field(default_factory=Counter)  # exchanges each route sent
    routed_to: Counter[str] = field(default_factory=Counter)  # ...by the backend they went to
    last_fallback: dict[str, Any] | None = None
    fallback_note: str | None = None
    # The last answered request's input tokens (with cache reads and writes) and the model
    # the client asked for: what `ds` / `backend NAME` weigh against the target's window.
    last_input_tokens: int | None = None
    last_client_model: str | None = None
    _fallback_to: Backend | None = None  # the note holds while the mode names this backend
    _fallback_file: tuple[int, ...] | None = None  # ...in the mode file the fallback wrote
    _last_good: Backend | None = None
    thinking: ThinkingOrigins = field(default_factory=ThinkingOrigins)  # who made each block
    caches: BodyCaches = field(init=False)  # the body layer's (body/caches.py), cache_mb
    wire_caches: WireCaches = field(init=False)  # each wire adapter's, the rest of cache_mb
    idle_trim: IdleTrim = field(default_factory=IdleTrim)  # heap trimmed after a burst
    observers: Observers = field(default_factory=Observers)  # told of each finished exchange
    exchange_ids: ExchangeIds = field(default_factory=ExchangeIds)  # ExchangeRecord.id
    breakers: Breakers = field(init=False)
    modes: ModeStore = field(default=None)  # type: ignore[assignment]  # default: ModeFile
    redactor: Redactor = field(init=False)  # every key this router knows, masked (redact.py)
    # Each backend whose budget is spent -> what its requests get (router/budget_gate.py);
    # set only by the budget tracker (ledger/budgets.py), read once per request: while
    # no budget is spent it is empty, and the request path's check is one truth test.
    budget_reached: dict[str, BudgetVerdict] = field(default_factory=dict)
    # (backend, model) -> that backend sending every request to the model (`ollama qwen3`
    # in the mode file): built once, so a request never rebuilds it; MAX_MODEL_BACKENDS.
    _models: dict[tuple[str, str], Backend] = field(default_factory=dict)

    def __post_init__(self) -> None:
        settings = self.config.router
        self.breakers = Breakers(settings.breaker_failures, settings.breaker_cooldown_s)
        if self.modes is None:  # where the mode comes from (seams.ModeStore)
            self.modes = ModeFile(self.mode_file)
        self.caches = BodyCaches(settings.cache_bytes)
        self.wire_caches = WireCaches(settings.cache_bytes * WIRE_SHARE_PERCENT // 100)
        self.redactor = Redactor(self.config.keys.secrets())

    def _default(self) -> Backend:
        backend = self.config.resolve(self.initial_backend)
        assert backend is not None, "initial backend validated at start"
        return backend

    def read_mode(self) -> ActiveMode:
        """The backend the mode file names; on any problem, the last good one. A pure read:
        it changes nothing (the status and the count_tokens estimate call it freely)."""
        try:
            name = self.modes.read()
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            return self._last_good_mode(f"cannot read {self.modes.where}: {reason}")
        if name is None:
            return ActiveMode(self._default(), "default")
        name, model = split_mode(name)
        backend = self.config.resolve(name)
        if backend is None:
            return self._last_good_mode(f"{self.config.unknown_backend(name)} (in the mode file)")
        if model is not None:
            backend = self._with_model(backend, model)
        return ActiveMode(backend, "mode file")

    def refresh_mode(self) -> ActiveMode:
        """The mode for a new request (proxy.receive, once per request): read, then kept
        as the last good one; a new problem is logged once; a fallback note ends when the
        user has switched elsewhere since."""
        mode = self.read_mode()
        if mode.problem and mode.problem != self.mode_problem:
            log.warning("%s; keeping the last good backend", mode.problem)
        self.mode_problem = mode.problem
        if mode.problem is None:
            self._last_good = mode.backend
            if self._fallback_to is not None and not self._note_holds(mode):
                self.fallback_note = self._fallback_to = None  # the user has switched since
        return mode

    def routes(self) -> tuple[Route, ...]:
        """The routes for a new request: the config's, unless the session turned them off
        (`routes off`: a file beside the mode file, one stat; none when none configured)."""
        routes = self.config.routes
        return () if not routes or routes_off(self.mode_file) else routes

    def _with_model(self, backend: Backend, model: str) -> Backend:
        key = (backend.name, model)
        found = self._models.get(key)
        if found is None:
            if len(self._models) >= MAX_MODEL_BACKENDS:
                self._models.clear()
            found = self._models[key] = backend.with_model(model)
        return found

    def _note_holds(self, mode: ActiveMode) -> bool:
        """The fallback note is true while the mode is the fallback's and its mode file is
        the one the fallback wrote: a user's switch since (even back to the same backend,
        between two status reads) rewrote the file, so the note no longer explains it."""
        if self._fallback_to is None or mode.backend is not self._fallback_to:
            return False
        return self._fallback_file is None or self._fallback_file == _file_identity(self.mode_file)

    def _last_good_mode(self, problem: str) -> ActiveMode:
        return ActiveMode(self._last_good or self._default(), "last good mode", problem)

    def switch_to(self, backend: Backend, note: str) -> None:
        """Sticky fallback: later requests go straight to `backend`. A mode file that
        cannot be written costs the stickiness, never the answer already in hand."""
        try:
            self.modes.write(backend.name, self.redactor.text(note))  # (it may be stored)
            self.write_problem = None
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self.write_problem = f"cannot write {self.modes.where}: {reason}"
            log.warning("%s", self.write_problem)
            note += " (not saved: the mode file cannot be written)"
        self._last_good = backend
        self.fallback_note, self._fallback_to = note, backend
        self._fallback_file = _file_identity(self.mode_file)
        log.warning("%s", note)

    def budgets_changed(self, reached: dict[str, BudgetVerdict]) -> None:
        """The budget tracker's verdicts (ledger/budgets.py), handed over whole: what the
        next requests read (router/budget_gate.py)."""
        self.budget_reached = reached

    def finished(self, record: ExchangeRecord) -> None:
        """One exchange ended: the router's counters take it (the only place they change),
        then its observers are told, off the hot path. Its free text is masked first (a
        backend's error may quote the key it got): last_error, the ledger, the live log."""
        record = redacted(record, self.redactor)
        if record.backend is not None:
            self.requests[record.backend] += 1
        if record.route is not None:
            self.routed[record.route] += 1
            self.routed_to[record.active] += 1
        if record.outcome in (FAILED, STREAM_ERROR, UPSTREAM_ERROR):
            failed = record.backend or (record.attempts[-1].backend if record.attempts else None)
            if failed is not None:
                self.errors[failed] += 1
        if record.error is not None and record.outcome != CLIENT_GONE:
            self.last_error = record.error
        usage = record.usage
        if record.endpoint == "messages" and usage.total > usage.output_tokens:
            self.last_input_tokens = usage.total - usage.output_tokens
            self.last_client_model = record.client_model
        self.observers.publish(record)

    def record_fallback(self, kind: str, source: str, target: str, reason: str) -> None:
        """Another backend answered a request (exchange.STICKY or TRANSIENT): counted,
        logged, and shown in the status (`fallbacks`, `transient_note`)."""
        if kind == TRANSIENT:
            self.transient_via[target] += 1
        else:
            self.sticky_fallbacks += 1
        self.last_fallback = {
            "at": round(time.time(), 3),
            "kind": kind,
            "from": source,
            "to": target,
            "reason": reason,
        }
        scope = "from now on" if kind == STICKY else "for this request"
        log.info("fallback: %s -> %s %s (%s)", source, target, scope, reason)

    def transient_note(self) -> str | None:
        """`1 req via deepseek (anthropic HTTP 529)`: requests another backend
        answered for a transient fault of the active one, since the router started."""
        last = self.last_fallback
        if not self.transient_via or last is None:
            return None
        via = ", ".join(f"{n} req via {name}" for name, n in self.transient_via.most_common())
        if last["kind"] != TRANSIENT:
            return via
        return f"{via} ({last['from']} {_short(last['reason'])})"

    def routes_status(self) -> dict[str, Any]:
        """The routes' part of the status: on or off, and the exchanges each route sent
        (and to which backends) since the router started."""
        return {
            "configured": len(self.config.routes),
            "on": bool(self.config.routes) and not routes_off(self.mode_file),
            "routed": dict(self.routed),
            "routed_to": dict(self.routed_to),
        }

    def status(self) -> dict[str, Any]:
        """The router's state as `GET /_hotswap/status` answers it: a pure read."""
        mode = self.read_mode()
        return {
            "mode": mode.backend.name,
            "model": mode.backend.default_model,
            "mode_source": mode.source,
            "mode_file": str(self.mode_file),
            "mode_problem": mode.problem or self.write_problem,
            "fallback": self.fallback_note if self._note_holds(mode) else None,
            "fallbacks": {
                "sticky": self.sticky_fallbacks,
                "transient": sum(self.transient_via.values()),
                "last": self.last_fallback,
            },
            "transient_note": self.transient_note(),
            "routes": self.routes_status(),
            "session": self.session_id,
            "port": self.port,
            "pid": os.getpid(),
            "version": __version__,
            "uptime_s": round(time.time() - self.started, 1),
            "requests": dict(self.requests),
            "errors": dict(self.errors),
            "last_error": self.last_error,
            "last_input_tokens": self.last_input_tokens,
            "last_client_model": self.last_client_model,
            "breakers": {name: b.snapshot() for name, b in self.breakers.by_backend.items()},
            "body_caches": {
                **self.caches.snapshot(self.wire_caches.size),
                **self.wire_caches.snapshot(),
            },
            "heap_trims": self.idle_trim.trims,
            "missing_keys": self.config.missing_keys(),
            "backends": sorted(self.config.backends),
            **self.observers.status(),  # the exchange sinks' (the ledger: `ledger`, `spend`)
        }


def _file_identity(path: Path) -> tuple[int, ...] | None:
    """What changes when a file is written: inode (atomic replaces), size, times."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _short(reason: str) -> str:
    """`HTTP 529 overloaded_error: Overloaded` -> `HTTP 529`; other reasons, cut short."""
    if reason.startswith("HTTP "):
        return " ".join(reason.split()[:2])
    return reason[:40]

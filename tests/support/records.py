"""Exchange records for ledger tests, as the router builds them (without a router)."""

from __future__ import annotations

import itertools
import os
import time
from typing import Any

from hotswap.router.exchange import AttemptRecord, ExchangeRecord, Usage

_ids = itertools.count(1)
_PREFIX = os.urandom(4).hex()  # unique across the processes of one test, like real ids


def record(
    backend: str | None = "deepseek",
    *,
    session: str | None = "s1",
    client_model: str | None = "claude-opus-5-5",
    wire_model: str | None = "deepseek-v4-pro",
    usage: Usage | None = None,
    started: float | None = None,
    status: int = 200,
    outcome: str = "ok",
    fell_back_from: str | None = None,
    fallback_kind: str | None = None,
    attempts: tuple[AttemptRecord, ...] | None = None,
    **extra: Any,
) -> ExchangeRecord:
    if attempts is None:
        attempts = (AttemptRecord(backend or "anthropic", status, "deliver", "", wire_model),)
    return ExchangeRecord(
        id=f"x{_PREFIX}{next(_ids)}",
        started=time.time() if started is None else started,
        session=session,
        endpoint="messages",
        stream=True,
        client_model=client_model,
        active=fell_back_from or backend or "anthropic",
        backend=backend,
        wire_model=wire_model,
        response_model=wire_model,
        status=status,
        outcome=outcome,
        fell_back_from=fell_back_from,
        fallback_kind=fallback_kind,
        usage=usage or Usage(1000, 200, 5000, 100),
        ttfb_ms=120.0,
        duration_ms=900.0,
        request_bytes=4096,
        response_bytes=2048,
        attempts=attempts,
        **extra,
    )

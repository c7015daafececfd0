"""The request rules for one backend: pure functions over a plain dict. No I/O.

    request_changes(body, backend, origins)  map the model name, apply the backend's quirks
                                             (quirks.py), make thinking fit it (thinking.py)
    request_reads(backend)                   what those rules read of a body (reads.py)

The rules' contract, which the body layer relies on (body/lazy.py): they replace top-level
keys of `body` only, and copy a nested list or dict before changing it, never editing one in
place -- so a value still identical to what was decoded still matches the client's bytes,
and the original request can be rewritten afresh for a fallback backend. They import
nothing of the body layer: what they get is a dict (its values decoded as far as
request_reads declares; anything else is opaque and left alone).
"""

from __future__ import annotations

from typing import Any

from hotswap.config.backends import Backend
from hotswap.config.model_ids import mapped_model
from hotswap.rules import quirks as quirk_rules
from hotswap.rules import thinking
from hotswap.rules.reads import Reads
from hotswap.rules.thinking import Origins

MODEL_READS = Reads(top=frozenset(("model",)))


def map_model(model: str, backend: Backend) -> str:
    """The model name to send to `backend` (config/model_ids.mapped_model)."""
    return mapped_model(model, backend)


def request_reads(backend: Backend) -> Reads:
    """What request_changes reads of a body for `backend`."""
    return MODEL_READS | quirk_rules.reads(backend.quirks) | thinking.READS


def rewrite_request(
    body: dict[str, Any],
    backend: Backend,
    origins: Origins | None = None,
    *,
    count_tokens: bool = False,
) -> bool:
    """Rewrite a Messages request in place for `backend`; True if anything changed."""
    return bool(request_changes(body, backend, origins, count_tokens=count_tokens))


def request_changes(
    body: dict[str, Any],
    backend: Backend,
    origins: Origins | None = None,
    *,
    count_tokens: bool = False,
) -> list[str]:
    """rewrite_request, saying what it changed. Only top-level keys of `body` are replaced.

    `origins` maps a thinking block's key to the backend that produced it (the router's
    ThinkingOrigins.origin); without it every thinking block is of unknown provenance.
    """
    notes = []
    model = body.get("model")
    if isinstance(model, str):
        mapped = map_model(model, backend)
        if mapped != model:
            body["model"] = mapped
            notes.append(f"model -> {mapped}")
    notes += quirk_rules.apply_quirks(body, backend.quirks, count_tokens=count_tokens)
    notes += thinking.prepare_thinking(body, backend.name, backend.quirks, origins or no_origin)
    return notes


def no_origin(key: str) -> str | None:
    """Origins for a router that has seen no thinking block: every one is unknown."""
    return None

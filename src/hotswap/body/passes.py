"""The rules over a split body: one pass, or up to three with turn reuse (turns.py).

Earlier assistant turns are rewritten once per conversation: a pass hands the rules the
turns already rewritten for this backend as `Reused` objects. A second pass runs when
thinking ended up the other way from a reused turn's record (settle drops those records;
the pass records them anew); the last pass reuses nothing.
"""

from __future__ import annotations

from hotswap.body.caches import BodyCaches
from hotswap.body.lazy import LazyBody
from hotswap.body.split import Split
from hotswap.body.turns import TurnReuse
from hotswap.config.backends import Backend
from hotswap.rules.reads import Reads
from hotswap.rules.rewrite import no_origin, request_changes, request_reads
from hotswap.rules.thinking import Origins, thinking_on


def rewrite_split(
    raw: bytes,
    split: Split,
    backend: Backend,
    origins: Origins | None,
    caches: BodyCaches,
    *,
    count_tokens: bool = False,
) -> bytes:
    """The request for `backend` as bytes, `raw` itself when no rule changed anything.
    Raises one of jsoncodec.UNDECODABLE when a value the rules read cannot be decoded by
    msgspec (the facade then uses the full parser)."""
    origins = origins or no_origin
    kinds = reads_of(backend, caches).user_blocks
    passes: list[TurnReuse | None] = [None]
    if TurnReuse.applies(backend):
        passes = [
            TurnReuse(backend, origins, caches.turns),
            TurnReuse(backend, origins, caches.turns),
            None,
        ]
    for reuse in passes:
        body = LazyBody(split, kinds, caches, reuse)
        changed = bool(request_changes(body, backend, origins, count_tokens=count_tokens))
        if reuse is None:
            break
        if _settled(reuse, body, backend):
            changed = changed or reuse.changed
            break
    return body.encode() if changed else raw


def reads_of(backend: Backend, caches: BodyCaches) -> Reads:
    """rewrite.request_reads(backend), worked out once per backend (BodyCaches.reads)."""
    key = (backend.name, backend.quirks)
    found = caches.reads.get(key)
    if found is None:
        found = caches.reads[key] = request_reads(backend)
    return found


def _settled(reuse: TurnReuse, body: LazyBody, backend: Backend) -> bool:
    given, final = body.given_messages, dict.get(body, "messages")
    if not isinstance(given, list) or not isinstance(final, list):
        return not reuse.reused  # (the rules never read or replaced messages with a list)
    return reuse.settle(thinking_on(body, backend.quirks), given, final, body.recordable)

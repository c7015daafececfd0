"""Earlier assistant turns, rewritten once: what the rules made of a turn, kept for the next
request that repeats it.

Every request of a conversation repeats all its earlier turns, and the rules (quirks.py,
thinking.py) walk every assistant turn of every request: the quirk walk, the thinking
filter, the placeholders, then encoding, ~3 us a turn. What the rules make of one turn
depends only on

- the turn itself (its decoded content: one shared object per distinct turn, memo.Memo),
- the backend (its name and quirks),
- who produced each of its thinking blocks (the provenance LRU's answer for each key),
- whether thinking is on for the request, once the rules are done,
- and where it stands: the last message and the last assistant turn get rules of their
  own (prefill, Anthropic's last-turn requirement), so those two are never reused;

and on no other turn, with one exception: a backend that needs a thinking block in every
tool turn and has no placeholder turns thinking off for the whole request when one lacks
it, so for such backends nothing is reused. The rules keep every turn at its index, so the
rewritten turn `i` is the final message list's element `i`.

A reused turn is handed to the rules as a `Reused` object, which they leave alone (they
only act on dicts), and written out as the bytes recorded for it. After the rules,
`settle` checks that thinking ended up as it was when each reused turn was recorded (if
not, it drops those records and the request is rewritten again, recording them anew) and
records the turns seen for the first time.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import msgspec

from hotswap.config.backends import Backend
from hotswap.rules.thinking import THINKING_TYPES, Origins, block_key

MAX_TURNS = 4096  # recorded turns kept (each holds its rewritten bytes: ~1-4 KB)
ENTRY_BYTES = 700  # a record's own objects (Rewritten, its tuples, Raw), measured roughly
_ENCODER = msgspec.json.Encoder()


class TurnRecords:
    """The recorded rewrites of one router, by the identity of the decoded content they
    were made from (a memo.Memo value, shared by every request that repeats the
    turn), least recently used first out, at most `max_turns` and `max_bytes` (each
    counted as its rewritten bytes plus ENTRY_BYTES)."""

    def __init__(self, max_turns: int = MAX_TURNS, max_bytes: int = 8 * 1024 * 1024) -> None:
        self.max_turns = max_turns
        self.max_bytes = max_bytes
        self.size = 0
        self.by_content: OrderedDict[int, Rewritten] = OrderedDict()

    def __len__(self) -> int:
        return len(self.by_content)

    def add(self, key: int, entry: Rewritten) -> None:
        old = self.by_content.pop(key, None)
        if old is not None:
            self.size -= _cost(old)
        self.by_content[key] = entry
        self.size += _cost(entry)

    def discard(self, key: int) -> None:
        old = self.by_content.pop(key, None)
        if old is not None:
            self.size -= _cost(old)

    def trim(self) -> None:
        while self.by_content and (
            len(self.by_content) > self.max_turns or self.size > self.max_bytes
        ):
            _, old = self.by_content.popitem(last=False)
            self.size -= _cost(old)


def _cost(entry: Rewritten) -> int:
    return len(entry.output) + ENTRY_BYTES


@dataclass(frozen=True, slots=True)
class Rewritten:
    """One assistant turn as the rules left it, and what that depended on."""

    content: Any  # the decoded content the rules were given (identity is the key)
    backend: tuple[str, Any]  # name, quirks
    keys: tuple[str, ...]  # its thinking blocks' keys
    verdicts: tuple[str | None, ...]  # who produced each, when recorded
    thinking_on: bool
    output: msgspec.Raw  # the rewritten turn, encoded
    changed: bool  # the rules changed it


class Reused:
    """A turn the rules skip: its recorded rewrite stands (`source`: the turn as split)."""

    __slots__ = ("entry", "source")  # a plain class: one is made per turn per request

    def __init__(self, entry: Rewritten, source: Any) -> None:
        self.entry = entry
        self.source = source

    def written(self) -> Any:
        """What to encode: the recorded rewrite, or the request's own turn if unchanged."""
        return self.entry.output if self.entry.changed else self.source


class TurnReuse:
    """The reuse of one request: which turns were reused, and recording the others."""

    def __init__(self, backend: Backend, origins: Origins, records: TurnRecords) -> None:
        self._backend = (backend.name, backend.quirks)
        self._origins = origins
        self._recorded = records.by_content
        self._records = records
        self.reused: list[Rewritten] = []

    @staticmethod
    def applies(backend: Backend) -> bool:
        quirks = backend.quirks
        return quirks.thinking_required != "tool_turns" or quirks.thinking_placeholder is not None

    def reuse(self, content: Any, source: Any) -> Reused | None:
        """The recorded rewrite of an assistant turn with this content, if it still holds."""
        entry = self._recorded.get(id(content))
        if entry is None or entry.content is not content or entry.backend != self._backend:
            return None
        origins = self._origins
        for key, verdict in zip(entry.keys, entry.verdicts, strict=True):
            if origins(key) != verdict:
                return None
        self._recorded.move_to_end(id(content))
        self.reused.append(entry)
        return Reused(entry, source)

    @property
    def backend(self) -> tuple[str, Any]:
        """What a recorded turn must have been recorded for: the backend and its quirks."""
        return self._backend

    def take(self, entries: list[Rewritten], checks: list[tuple[str, str | None]]) -> bool:
        """Reuse these recorded turns together (body.lazy.Run), if every one still holds: still
        recorded, for this backend, each thinking block's maker unchanged (`checks`)."""
        recorded = self._recorded
        for entry in entries:
            if recorded.get(id(entry.content)) is not entry or entry.backend != self._backend:
                return False
        origins = self._origins
        for key, verdict in checks:
            if origins(key) != verdict:
                return False
        for entry in entries:
            recorded.move_to_end(id(entry.content))
        self.reused.extend(entries)
        return True

    @property
    def changed(self) -> bool:
        """A reused turn differs from the request's: the body must be encoded."""
        return any(entry.changed for entry in self.reused)

    def settle(
        self, thinking_on: bool, given: list[Any], final: list[Any], eligible: list[int]
    ) -> bool:
        """After the rules: False when a reused turn was recorded with thinking the other
        way (those records are dropped, and the request must be rewritten again); else
        record the turns at `eligible` indexes (`given`: what the rules got, `final`: what
        they made)."""
        stale = [entry for entry in self.reused if entry.thinking_on != thinking_on]
        if stale:  # recorded with thinking the other way: forget them, to be recorded anew
            for entry in stale:
                self._records.discard(id(entry.content))
            return False
        if len(final) != len(given):  # the rules keep every turn at its index; if not, skip
            return True
        for i in eligible:
            turn = given[i]
            if isinstance(turn, Reused) or not isinstance(turn, dict):
                continue
            content = turn.get("content")
            keys = _thinking_keys(content)
            entry = Rewritten(
                content=content,
                backend=self._backend,
                keys=keys,
                verdicts=tuple(self._origins(key) for key in keys),
                thinking_on=thinking_on,
                output=msgspec.Raw(_ENCODER.encode(final[i])),
                changed=final[i] is not turn,
            )
            self._records.add(id(content), entry)
        self._records.trim()
        return True


def _thinking_keys(content: Any) -> tuple[str, ...]:
    if not isinstance(content, list):
        return ()
    keys = []
    for block in content:
        if isinstance(block, dict) and block.get("type") in THINKING_TYPES:
            key = block_key(block)
            if key:
                keys.append(key)
    return tuple(keys)

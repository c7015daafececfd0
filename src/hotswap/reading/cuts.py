"""Requests cut at their messages' ends, kept so the next request of the conversation is
read only from where it differs. Shared by the body layer's split (body/prefix.py) and
the Chat Completions translation (wire/openai_prefix.py).

Every request of a Claude Code conversation repeats the previous one byte for byte up to
the end of one of its messages, then adds one or two. A layer that recorded the previous
request cut at its messages' ends finds the shared part by comparing bytes (memcmp) and
reads only the rest, as the JSON text TAIL_START + rest: the same document with the keys
before `messages` and the shared messages left out, a 0 standing in for them. What each
layer records with a cut differs (the body layer's decoded turns, the wire's translated
messages); the store that keeps the last few, within a count and a byte budget, is this.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar

TAIL_START = b'{"messages":[0'  # a document's tail: a 0 for the messages a cut has


def tail_document(raw: bytes, pos: int, end: int, close: bytes = b"}") -> bytes:
    """The rest of `raw` from the end of a shared message (`pos`) to `end`, as a document
    whose `messages` array starts with a 0 in place of what the cut already has."""
    return TAIL_START + raw[pos:end] + close


class Costed(Protocol):
    @property
    def cost(self) -> int:
        """The bytes a record holds, estimated: what the budget counts."""
        ...


C = TypeVar("C", bound=Costed)


class CutStore(Generic[C]):
    """The last `max_records` cuts (one per conversation), least recently used out first,
    within `max_bytes`; a cut larger than the whole budget is not kept (its conversation
    is read whole each time: slower, never different)."""

    def __init__(self, max_records: int, max_bytes: int) -> None:
        self.max_records = max_records
        self.max_bytes = max_bytes
        self.size = 0
        self._cuts: OrderedDict[int, C] = OrderedDict()
        self._next = 0

    def __len__(self) -> int:
        return len(self._cuts)

    def recent(self) -> Iterator[tuple[int, C]]:
        """Each kept cut with its key, most recently used first."""
        for key in reversed(self._cuts):
            yield key, self._cuts[key]

    def used(self, key: int) -> None:
        """The cut under `key` was found again: it is the last to go."""
        self._cuts.move_to_end(key)

    def keep(self, cut: C, replaces: int | None = None) -> None:
        """Keep `cut`; the one it was found by (`replaces`) makes way: its conversation
        has moved on."""
        if replaces is not None:
            old = self._cuts.pop(replaces, None)
            if old is not None:
                self.size -= old.cost
        if cut.cost > self.max_bytes:
            return
        self._next += 1
        self._cuts[self._next] = cut
        self.size += cut.cost
        while len(self._cuts) > self.max_records or self.size > self.max_bytes:
            _, gone = self._cuts.popitem(last=False)
            self.size -= gone.cost

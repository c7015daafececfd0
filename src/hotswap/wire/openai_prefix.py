"""The last few translated requests, cut at their messages' ends, so the next request of a
conversation is scanned only from where it differs.

Cutting a 150 KB body into its spans is one msgspec pass over every byte (~75 us), and
looking each message up by its bytes hashes every byte again. But a request of a
conversation starts with the bytes of an earlier one, up to the end of one of its messages:
`startswith` (memcmp, ~3 us for 150 KB) finds which, and only the rest is scanned, as the
JSON text `{"messages":[0` + rest (the same document with the keys before `messages` and the
shared messages left out, a 0 standing in for them), the way body/prefix.py does for the
body layer, kept in the same store (reading/cuts.py). When the request also ends as the cut does,
from the `]` after its last message (`system`, `tools` and the rest: tens of KB, the same in
every request of a session), only its new messages are read: those keys are the cut's.

A cut is recorded only when its layout is the one it can be found again by: `"messages":[`
found where a parse of the head puts it, and the messages separated by single commas (what
Claude Code and every JSON encoder without indentation write). Anything else is scanned
whole each time: slower, never different.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec
from msgspec import Raw

from hotswap.reading.cuts import CutStore

MAX_CUTS = 4  # conversations at once: a session's main thread, its subagents, titles
TRIES = 4  # how many cut points of a record are tried, from its last message back
MESSAGES_KEY = b'"messages":['
PART_BYTES = 64  # what a cut holds per message beyond the body: a list slot, an int


class Cut(NamedTuple):
    """One request, cut at the end of each message (see the module doc)."""

    raw: bytes
    ends: list[int]  # ends[j]: where message j ends in raw
    parts: list[bytes]  # message j's translation
    head: Any  # the keys given before `messages` (the spans decoder's type)
    # every key but `messages`, when known: they hold for a body that ends as this one
    # does from the `]` after its last message (None: read the rest of such a body)
    spans: Any = None

    @property
    def cost(self) -> int:
        """What it holds: the body, and what `spans` may keep alive of the previous one."""
        return 2 * len(self.raw) + PART_BYTES * len(self.parts)


class Found(NamedTuple):
    """A recorded cut a request starts with, and how many of its messages it shares."""

    cut: Cut
    shared: int
    key: int  # its key in the store


def message_ends(raw: bytes, start: int, messages: list[Raw], first: bool) -> list[int] | None:
    """Where each of `messages` ends in `raw`, the first found at `start` (after a comma
    unless it is the array's first); None when they are not laid out that way."""
    out = []
    pos = start
    for i, message in enumerate(messages):
        if i or not first:
            if raw[pos : pos + 1] != b",":
                return None
            pos += 1
        if not raw.startswith(message, pos):
            return None
        pos += len(message)
        out.append(pos)
    return out


def head_of(raw: bytes, decoder: msgspec.json.Decoder[Any]) -> tuple[Any, int] | None:
    """The keys before `messages`, decoded, and where its array's first message starts;
    None when the head cannot be read that way."""
    at = raw.find(MESSAGES_KEY)
    if at < 0:
        return None
    start = at + len(MESSAGES_KEY)
    try:
        head = decoder.decode(raw[:start] + b"]}")
    except msgspec.DecodeError:  # ValidationError included
        return None
    return (head, start) if head.messages == [] else None


class Cuts(CutStore[Cut]):
    """The last MAX_CUTS requests' cuts (a CutStore, as the body layer's PrefixSplitter is),
    most recent first, within `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(MAX_CUTS, max_bytes)

    def find(self, raw: bytes) -> Found | None:
        """The most recent cut `raw` starts with, up to the end of one of its last TRIES
        messages (at least one shared)."""
        for key, cut in self.recent():
            ends = cut.ends
            view = memoryview(cut.raw)
            if not ends or not raw.startswith(view[: ends[0]]):
                continue
            for shared in range(len(ends), max(len(ends) - TRIES, 1) - 1, -1):
                end = ends[shared - 1]
                if len(raw) > end and raw.startswith(view[:end]):
                    self.used(key)
                    return Found(cut, shared, key)
        return None

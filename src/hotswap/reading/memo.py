"""Values made from bytes, kept by those bytes, so a value every request repeats is made
once: decoded (the body layer's turns, `tools`, `system`) or translated (the openai wire's
messages: wire/openai_spans.py). `decode` is whatever function makes the value.

Values are shared between requests, which is safe under the rules' contract (they never
edit a value in place: rewrite.py), and each is made from its key, a copy of the bytes:
no entry keeps a request body alive.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import msgspec
from msgspec import Raw

_MISSING: Any = object()
_OBJECTS = msgspec.json.Decoder(list[dict[str, Raw]])
_ANY = msgspec.json.Decoder()


def decode_any(raw: bytes | Raw) -> Any:
    return _ANY.decode(raw)


def decode_objects(raw: bytes | Raw) -> Any:
    """A list of objects with raw values (each object's keys decoded), else all of it."""
    try:
        return _OBJECTS.decode(raw)
    except msgspec.ValidationError:
        return _ANY.decode(raw)


# What an entry costs: its key, its decoded value (measured: ~4x the JSON for the text and
# tool-use blocks of an assistant turn), and the entry's own objects.
DECODED_PER_BYTE = 4
ENTRY_BYTES = 600


class Memo:
    """Decoded values by their bytes, least recently used first out, bounded by what they
    hold (`size`: each entry's bytes and decoded objects, estimated by _cost).

    Each request of a conversation repeats every earlier assistant turn: decoding each
    once per conversation instead of once per request saves ~1.3 us per KB (turns a
    prefix record holds are not even looked up here: their memo has them)."""

    def __init__(
        self,
        max_bytes: int,
        decode: Callable[[bytes], Any] = decode_any,
        per_byte: int = DECODED_PER_BYTE,
    ) -> None:
        self._decode = decode
        self._per_byte = per_byte  # what a value holds per byte of its key (see _cost)
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[bytes, Any] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def decode(self, raw: Raw) -> Any:
        key = bytes(raw)
        value = self._entries.get(key, _MISSING)
        if value is not _MISSING:
            self._entries.move_to_end(key)
            return value
        value = self._decode(key)
        cost = _cost(key, self._per_byte)
        if cost > self.max_bytes:
            return value  # larger than the whole memo: decoded, not kept
        self._entries[key] = value
        self.size += cost
        while self.size > self.max_bytes:
            old, _ = self._entries.popitem(last=False)
            self.size -= _cost(old, self._per_byte)
        return value


def _cost(key: bytes, per_byte: int = DECODED_PER_BYTE) -> int:
    return (1 + per_byte) * len(key) + ENTRY_BYTES


class Recent:
    """The last few values of one top-level key, found by comparing bytes (memcmp) rather
    than hashing them: `tools` (tens of KB) is the same in every request of a session, and
    hashing it cost 8 us a request where the comparison costs 1.5."""

    def __init__(
        self,
        decode: Callable[[bytes], Any] = decode_any,
        size: int = 4,
        max_bytes: int = 4 * 1024 * 1024,
        per_byte: int = DECODED_PER_BYTE,
    ) -> None:
        self._decode = decode
        self._per_byte = per_byte
        self._size = size
        self.max_bytes = max_bytes  # a value costing more (_cost) is decoded, not kept
        self._entries: list[tuple[bytes, Any]] = []

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """What the kept values hold, estimated as Memo's are."""
        return sum(_cost(key, self._per_byte) for key, _ in self._entries)

    def decode(self, raw: Raw) -> Any:
        key = bytes(raw)
        for i, (seen, value) in enumerate(self._entries):
            if seen == key:
                if i:
                    self._entries.insert(0, self._entries.pop(i))
                return value
        value = self._decode(key)
        if _cost(key, self._per_byte) * self._size <= self.max_bytes:
            self._entries.insert(0, (key, value))
            del self._entries[self._size :]
        return value

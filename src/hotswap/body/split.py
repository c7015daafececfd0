"""The split: a request body cut into raw JSON spans, one typed msgspec pass.

Two ways to split: one typed pass for the shape Claude Code sends (shape.py: the turns'
roles and user blocks' types come with it), else a generic one (top-level keys, then each
turn's keys, then user blocks' types when they matter: lazy.py), for bodies with keys the
typed shape does not know. The turns an earlier request of the conversation had are not
split again (prefix.py).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec

from hotswap.body.prefix import PrefixSplitter
from hotswap.body.shape import REQUEST, TOP_LEVEL, fields_in_order


class NotAnObject(ValueError):
    """The body is JSON, but not a JSON object."""


class Split(NamedTuple):
    """A split body: its top-level values, raw, in order (the typed pass: Claude Code's),
    but `messages`, when the typed pass split it, is the list of its turns."""

    top: dict[str, Any]
    typed: bool = False
    memo: list[Any] | None = None  # per typed turn, kept with it for later requests
    raws: list[msgspec.Raw] | None = None  # per typed turn, its bytes (prefix.py)
    carry: dict[str, Any] | None = None  # kept for the conversation's next request

    @property
    def stream(self) -> bool:
        """`stream` is the JSON literal true (read without decoding)."""
        value = self.top.get("stream")
        return value is not None and bytes(value) == b"true"


def split(raw: bytes, prefix: PrefixSplitter | None = None) -> Split:
    """Split a request body; validates the whole body's syntax.

    NotAnObject for JSON that is not an object; msgspec.DecodeError for anything else it
    refuses (malformed JSON, or JSON it cannot take, such as lone surrogates). With
    `prefix`, the turns an earlier request of the conversation had are not split again.
    """
    found = prefix.split(raw) if prefix is not None else None
    if found is not None:
        return Split(found.top, True, found.memo, found.raws, found.carry)
    return split_whole(raw)


def split_whole(raw: bytes) -> Split:
    """split, scanning every byte of `raw` (no conversation's record helps)."""
    try:
        request = REQUEST.decode(raw)
    except msgspec.ValidationError:  # not Claude Code's shape (or not an object)
        try:
            return Split(TOP_LEVEL.decode(raw))
        except msgspec.ValidationError:
            raise NotAnObject("the request body must be a JSON object") from None
    return Split(fields_in_order(request), typed=True)

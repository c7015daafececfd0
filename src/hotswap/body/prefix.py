"""Split only what a conversation's previous request did not have.

Every request of a Claude Code conversation repeats the previous request's turns byte for
byte and appends one or two; the typed split (body.split.split) scans every byte of each,
~0.4 ms per MB. Here the turns a recorded request shares with this one are recognised by
comparing bytes (memcmp: an order of magnitude faster than scanning JSON) and taken over
already split; only the rest of the body is split.

A record is its body cut at each turn's end. Segment 0 runs from the start of the body to
the end of the first turn (every key before `messages`, then the first turn), each later
segment from the end of one turn to the end of the next (the separator included). A body
that starts with a record's first k segments is, at that point, exactly where the recorded
body was: inside the top-level `messages` array, right after its k-th turn. The rest of it
is split as the JSON text `{"messages":[0` + rest (cuts.tail_document): the same document
with the keys before `messages` and the first k turns left out (the record has them) and a 0
standing in for them. Each new turn is then found where it must be (after a comma, at the
next byte that is not blank), cut out as its own segment and decoded from that copy, so
records never keep a request's whole body alive.

The values after `messages` (`system`, `tools`: tens of KB, the same in every request of
a session) are kept too, as segments `,"name":value` counted back from the closing brace:
those the body still ends with are taken over, and only what lies between the last turn
and them is decoded (as `{"messages":[0` + that + `}`). Only Claude Code's layout (no
blanks, shape.Request's order) is recorded this way; other layouts decode it all.

Anything unexpected (a key the typed shape does not know, a key before `messages` given
twice, a turn not where it should be) gives None: the caller splits the whole body as
before. Records are kept for the last MAX_RECORDS conversations, least recently used out,
in the store the Chat Completions translation keeps its cuts in too (cuts.CutStore).
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

import msgspec
from msgspec import UNSET, Raw, UnsetType

from hotswap.body.shape import (
    FIELDS,
    TOP_LEVEL,
    AssistantTurn,
    Request,
    SystemTurn,
    UserTurn,
    fields_in_order,
)
from hotswap.reading.cuts import CutStore, tail_document

MAX_RECORDS = 8  # conversations at once: a session's main thread, its subagents, titles
# What a record costs beyond its bytes, per turn: the split turn, its Raw view, its memo
# slot, what LazyBody keeps of it (measured: ~900 bytes for a one-word turn).
TURN_BYTES = 900

Turn = UserTurn | SystemTurn | AssistantTurn


class _TurnsRaw(Request):
    """Claude Code's request with each turn left raw (to find the turns' bytes)."""

    messages: list[Raw] | UnsetType = UNSET  # type: ignore[assignment]


_TURNS_RAW = msgspec.json.Decoder(_TurnsRaw)
_TURN: msgspec.json.Decoder[Turn] = msgspec.json.Decoder(Turn)
_SEPARATOR = re.compile(rb"[ \t\n\r]*,[ \t\n\r]*")
_ARRAY_END = re.compile(rb"[ \t\n\r]*\]")
_BLANK_LIST = re.compile(rb"\[[ \t\n\r]*\]")
_FIELD_SET = frozenset(FIELDS)
_SPLIT_FAILED = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)


class Record(NamedTuple):
    """One request's body, cut at its turns' ends (see the module doc)."""

    cost: int  # bytes it holds, estimated: the body, plus TURN_BYTES a turn
    segments: list[bytes]
    head: dict[str, Raw]  # the top-level values before `messages`
    turns: list[Turn]  # each decoded from its own segment
    raws: list[Raw]  # each turn's bytes, as the client wrote them (views into segments)
    memo: list[Any]  # per turn: what body.lazy.LazyBody learnt about it (kept with the turn)
    carry: dict[str, Any]  # what body.lazy.LazyBody keeps for the conversation's next request
    suffix: list[Ending]  # the top-level values after `messages`, from the last one back


class Ending(NamedTuple):
    """A top-level value at the end of a recorded body: `,"name":value` as written."""

    name: str
    segment: bytes
    value: Raw  # a view into `segment`


class Found(NamedTuple):
    """A body split with a record's help: its top-level values and its turns' memo."""

    top: dict[str, Any]
    raws: list[Raw]
    memo: list[Any]
    carry: dict[str, Any]


class PrefixSplitter(CutStore[Record]):
    """The records of the last few conversations (a CutStore), and the split that uses them."""

    def __init__(self, max_records: int = MAX_RECORDS, max_bytes: int = 32 * 1024 * 1024) -> None:
        super().__init__(max_records, max_bytes)

    def split(self, raw: bytes) -> Found | None:
        """`raw` split (typed, as body.split.split would), or None when this cannot do it."""
        for key, record in self.recent():
            if raw.startswith(record.segments[0]):
                found = self._continue(raw, key, record)
                if found is not None:
                    return found
                break
        return self._fresh(raw)

    def _continue(self, raw: bytes, key: int, record: Record) -> Found | None:
        """Split `raw` past the turns it shares with `record`; the record follows it."""
        segments, pos, k = record.segments, len(record.segments[0]), 1
        for segment in segments[1:]:
            if not raw.startswith(segment, pos):
                break
            pos += len(segment)
            k += 1
        end = _body_end(raw)
        if end < pos:
            return None
        end, ending, kept = _kept_endings(raw, record.suffix, pos, end)
        try:
            rest = _TURNS_RAW.decode(tail_document(raw, pos, end))
        except _SPLIT_FAILED:
            return None
        messages = rest.messages
        if not isinstance(messages, list) or not messages or bytes(messages[0]) != b"0":
            return None
        if any(getattr(rest, name) is not UNSET or name in ending for name in record.head):
            return None  # a key before `messages` given again after it
        new = _cut_turns(raw, pos, messages[1:])
        if new is None:
            return None
        new_segments, new_turns, new_raws, array_end = new
        if not _no_messages_key(raw, array_end, end):
            return None  # `messages` given twice: the whole-body split decides
        turns = record.turns[:k] + new_turns
        raws = record.raws[:k] + new_raws
        top = fields_in_order(record.head, ending, rest, messages=turns)
        memo = record.memo[:k] + [None] * len(new_turns)
        suffix = kept + _endings(raw, array_end, end, rest)
        carry, head = record.carry, record.head
        segments = segments[:k] + new_segments
        new_record = Record(_cost(raw, turns), segments, head, turns, raws, memo, carry, suffix)
        self.keep(new_record, replaces=key)
        return Found(top, raws, memo, carry)

    def _fresh(self, raw: bytes) -> Found | None:
        """Split `raw` whole and record it (no record shares its first turn)."""
        try:
            whole = _TURNS_RAW.decode(raw)
        except _SPLIT_FAILED:
            return None
        messages = whole.messages
        if not isinstance(messages, list) or not messages:
            return None
        start = raw.find(bytes(messages[0]))
        head = _head(raw[:start]) if start > 0 else None
        if head is None:
            return None
        cut = _cut_turns(raw, start, messages, first=True)
        if cut is None:
            return None
        segments, turns, raws, array_end = cut
        end = _body_end(raw)
        if not _no_messages_key(raw, array_end, end):
            return None
        top = fields_in_order(whole, messages=turns)
        memo: list[Any] = [None] * len(turns)
        carry: dict[str, Any] = {}
        if all(bytes(top[name]) == value for name, value in head.items()):
            # (else a key before `messages` is given again after it: no record)
            head_values = {k: Raw(v) for k, v in head.items()}
            suffix = _endings(raw, array_end, end, whole)
            record = Record(
                _cost(raw, turns), segments, head_values, turns, raws, memo, carry, suffix
            )
            self.keep(record)
        return Found(top, raws, memo, carry)


def _kept_endings(
    raw: bytes, suffix: list[Ending], pos: int, end: int
) -> tuple[int, dict[str, Raw], list[Ending]]:
    """The recorded values at the end of the body `raw` still ends with (not before
    `pos`), as the record has them, and where the rest ends."""
    ending: dict[str, Raw] = {}
    kept: list[Ending] = []
    for last in suffix:
        if end - len(last.segment) < pos or not raw.endswith(last.segment, pos, end):
            break
        end -= len(last.segment)
        ending.setdefault(last.name, last.value)  # the last of a key given twice counts
        kept.append(last)
    return end, ending, kept


def _cost(raw: bytes, turns: list[Turn]) -> int:
    return len(raw) + TURN_BYTES * len(turns)


def _no_messages_key(raw: bytes, lo: int, end: int) -> bool:
    """No top-level `messages` key (however spelled) from `lo`, just after the turns'
    array, to `end`: msgspec keeps the last of a key given twice, so a second `messages`
    would stand in for the turns this split found."""
    try:
        return "messages" not in TOP_LEVEL.decode(b'{"_":0' + raw[lo:end] + b"}")
    except _SPLIT_FAILED:
        return False


def _head(text: bytes) -> dict[str, bytes] | None:
    """The values before `messages`, if `text` is exactly `{...,"messages":[` (and blanks),
    each key given once."""
    try:
        head = TOP_LEVEL.decode(text + b"]}")
        pairs = json.loads(text + b"]}", object_pairs_hook=list)  # (its keys, twice or not)
    except (*_SPLIT_FAILED, ValueError):
        return None
    if len(pairs) != len(head):
        return None
    names = list(head)
    if not names or names[-1] != "messages" or not _BLANK_LIST.fullmatch(bytes(head["messages"])):
        return None
    if not _FIELD_SET.issuperset(names):
        return None
    return {name: bytes(head[name]) for name in names[:-1]}


def _body_end(raw: bytes) -> int:
    """Where the body's last character is, if it is a closing brace (else -1). Valid JSON
    then ends there: the text before it is checked by decoding it with a brace added."""
    end = len(raw.rstrip(b" \t\r\n")) - 1
    return end if end > 0 and raw[end] == 0x7D else -1


def _endings(raw: bytes, lo: int, end: int, values: Any) -> list[Ending]:
    """The top-level values just before `end`, from the last one back, for a record: only
    where they are written as `,"name":value` (no blanks; Claude Code's layout) in the
    order of shape.Request, as far as that goes back, and never before `lo`."""
    found: list[Ending] = []
    for name in reversed(FIELDS):
        if name == "messages":
            break
        value = getattr(values, name)
        if value is UNSET:
            continue
        data = bytes(value)
        segment = b',"' + name.encode() + b'":' + data
        if end - len(segment) < lo or not raw.endswith(segment, lo, end):
            break
        found.append(Ending(name, segment, Raw(memoryview(segment)[len(segment) - len(data) :])))
        end -= len(segment)
    return found


def _cut_turns(
    raw: bytes, pos: int, turns: list[Raw], first: bool = False
) -> tuple[list[bytes], list[Turn], list[Raw], int] | None:
    """Each turn's segment, decoded form and bytes, and where the array ends, checking that
    the turns follow each other from `pos` as the JSON array's elements, and that the array
    ends after the last one. `first`: `pos` is where the first element starts, and its
    segment starts at 0."""
    segments: list[bytes] = []
    decoded: list[Turn] = []
    raws: list[Raw] = []
    seg_start = 0 if first else pos
    for i, turn in enumerate(turns):
        if not (first and i == 0):
            sep = _SEPARATOR.match(raw, pos)
            if sep is None:
                return None
            pos = sep.end()
        if not raw.startswith(turn, pos):
            return None
        end = pos + len(turn)
        segment = raw[seg_start:end]
        view = memoryview(segment)[pos - seg_start :]
        try:
            decoded.append(_TURN.decode(view))
        except _SPLIT_FAILED:
            return None
        segments.append(segment)
        raws.append(Raw(view))
        pos = seg_start = end
    closing = _ARRAY_END.match(raw, pos)
    if closing is None:
        return None
    return segments, decoded, raws, closing.end()

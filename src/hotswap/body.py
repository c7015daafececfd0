"""A request body decoded only as deep as the rewrite rules look, and written back by splicing.

Claude Code's request is mostly conversation history, and most of the history is tool
results the rules never read. Parsing all of it into Python objects and serialising it back
is what made a router cost milliseconds per MB of body. Here msgspec splits the body into
raw JSON spans (`msgspec.Raw`, views into the request bytes, nothing copied):

- a top-level value stays raw until a rule reads it (`LazyBody.get`), then is decoded;
- in `messages`, assistant turns are decoded (the thinking rules read every one; each
  distinct one once, as later requests repeat it); any
  other turn stays opaque to the rules -- they only act on dicts whose `content` is a
  list -- unless it holds a block type the backend's rules rewrite (an image for a
  text-only backend);
- `tools` is decoded one level (each tool's keys, raw values): the rules only drop keys;
  `tools` and `system`, the same in every request of a conversation, are decoded once;
- encoding writes every value no rule replaced from its original bytes.

Two ways to split: one typed pass for the shape Claude Code sends (request_shape.py: the
turns' roles and user blocks' types come with it), else a generic one (top-level keys,
then each turn's keys, then user blocks' types when they matter), for bodies with keys
the typed shape does not know.

This relies on the rules' contract (quirks.py, thinking.py): they replace top-level keys
and copy nested values before changing them, never edit in place, so a value still
identical to what was decoded still matches its bytes.

A body msgspec cannot take (escaped lone UTF-16 surrogates, nesting deeper than Python's
recursion limit; out-of-range numbers and bad UTF-8 in a value a rule reads) raises one of
NEEDS_FULL_PARSE; the caller uses the full parser (rewrite.parse_request_body) instead.
Values no rule reads are not decoded, so not checked: invalid UTF-8 or a number out of
range there (`1e400`) reaches the backend as the client wrote it, and the backend decides
(the full parser would have turned the number into null); duplicate keys inside them are
kept as written.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

import msgspec
from msgspec import UNSET, Raw

from hotswap.prefix_split import PrefixSplitter
from hotswap.request_shape import (
    BLOCKS,
    OTHER_TURNS,
    REQUEST,
    TAG_OF,
    TOP_LEVEL,
    AssistantTurn,
    SystemTurn,
    UserTurn,
    fields_in_order,
)
from hotswap.thinking import UNDECODABLE
from hotswap.turn_reuse import Reused, TurnReuse

# What msgspec cannot take (lone surrogates, out-of-range numbers and bad UTF-8 in a value
# it decodes, nesting past the recursion limit): the caller uses the full parser instead.
NEEDS_FULL_PARSE = UNDECODABLE

_MISSING: Any = object()
_ASSISTANT = b'"assistant"'
_SIMPLE_ROLES = (_ASSISTANT, b'"user"')
_OBJECTS = msgspec.json.Decoder(list[dict[str, Raw]])
_ANY = msgspec.json.Decoder()
_ENCODER = msgspec.json.Encoder()
_PREFIX = PrefixSplitter()


class NotAnObject(ValueError):
    """The body is JSON, but not a JSON object."""


class Split(NamedTuple):
    """A split body: its top-level values, raw, in order (the typed pass: Claude Code's),
    but `messages`, when the typed pass split it, is the list of its turns."""

    top: dict[str, Any]
    typed: bool = False
    memo: list[Any] | None = None  # per typed turn, kept with it for later requests
    raws: list[Raw] | None = None  # per typed turn, its bytes (prefix_split.py)
    carry: dict[str, Any] | None = None  # kept for the conversation's next request

    @property
    def turns(self) -> list[UserTurn | SystemTurn | AssistantTurn] | None:
        """The turns the typed pass split, if it did."""
        turns = self.top.get("messages") if self.typed else None
        return turns if isinstance(turns, list) else None

    @property
    def stream(self) -> bool:
        """`stream` is the JSON literal true (read without decoding)."""
        value = self.top.get("stream")
        return value is not None and bytes(value) == b"true"


def split(raw: bytes) -> Split:
    """Split a request body; validates the whole body's syntax.

    NotAnObject for JSON that is not an object; msgspec.DecodeError for anything else it
    refuses (malformed JSON, or JSON it cannot take, such as lone surrogates).
    The turns an earlier request of the conversation had are not split again
    (prefix_split.py).
    """
    found = _PREFIX.split(raw)
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


class LazyBody(dict[str, Any]):
    """A request's top-level keys for the rules to read and replace; see the module doc.

    `rewritten` is the set of content block types the backend's rules rewrite in any
    message (quirks.rewritten_block_types): turns holding one are decoded for them.
    """

    def __init__(
        self, body: Split, rewritten: frozenset[str], reuse: TurnReuse | None = None
    ) -> None:
        super().__init__(body.top)
        self._source: dict[str, Any] = body.top  # key -> what the request had (never changed)
        self._memo = body.memo  # per typed turn: its decoded content, or what it holds
        self._raws = body.raws  # per typed turn: its bytes, for a turn the rules never read
        self._carry = body.carry
        self._rewritten = rewritten
        self._decoded: dict[str, Any] = {}  # key -> what the rules were given
        self._turn_source: dict[int, Any] = {}  # id(decoded turn) -> the turn as split
        self.reuse = reuse
        self.recordable: list[int] = []  # turns the rules rewrite that reuse may record

    def __getitem__(self, key: str) -> Any:
        value = dict.__getitem__(self, key)
        if key not in self._decoded and self._source.get(key, _MISSING) is value:  # first read
            value = self._decode(key, value)
            self._decoded[key] = value
            dict.__setitem__(self, key, value)
        return value

    @property
    def given_messages(self) -> Any:
        """`messages` as the rules were given it (reused turns as turn_reuse.Reused)."""
        return self._decoded.get("messages")

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def _decode(self, key: str, value: Any) -> Any:
        if key == "messages":
            return self._messages(value)
        if key in _STABLE:
            return _STABLE[key].decode(value)
        return _ANY.decode(value)

    def _messages(self, value: Raw | list[Any]) -> Any:
        """The turns as the rules get them: decoded where a rule may read, else opaque.

        Runs over every turn of every request, so written as one tight loop: the typed
        assistant turns before the last one are offered to turn reuse, the others are
        decoded or left opaque by _decode_turn; a typed turn's memo and bytes come from
        prefix_split's record when the split had one. The run of turns at the start that
        came out reused or opaque is kept for the conversation's next request, which takes
        it whole if every reused turn still holds (_Run)."""
        memo = raws = None
        if isinstance(value, Raw):
            try:
                turns: list[Any] = _OBJECTS.decode(value)
            except msgspec.ValidationError:  # not a list of objects: the rules get it all
                return _ANY.decode(value)
        else:
            turns, memo, raws = value, self._memo, self._raws
        reuse = self.reuse
        last = -1  # the last typed assistant turn: never reused (turn_reuse.py)
        if reuse is not None:
            for i in range(len(turns) - 1, -1, -1):
                if type(turns[i]) is AssistantTurn:
                    last = i
                    break
        carry = self._carry if memo is not None and reuse is not None else None
        out: list[Any] = []
        run = _Run.take(carry, reuse, self._rewritten, turns, last)
        if run is not None:
            out = list(run.out)
        start = len(out)
        run_end = -1  # where the run of reused or opaque turns stops
        append = out.append
        for i in range(start, len(turns)):
            turn = turns[i]
            kind = type(turn)
            if kind is AssistantTurn and i < last and turn.content is not UNSET:
                content = _content(turn, i, memo)
                reused = reuse.reuse(content, turn)  # type: ignore[union-attr]
                if reused is not None:
                    append(reused)
                    continue
                decoded: dict[str, Any] | None = {"role": "assistant", "content": content}
                self.recordable.append(i)
            elif memo is not None and kind in OTHER_TURNS:
                known = memo[i]  # (block types, holds one of them), kept with the turn
                if known is None or known[0] is not self._rewritten:
                    known = memo[i] = (self._rewritten, self._holds_rewritten(turn))
                if not known[1]:
                    append(raws[i])  # type: ignore[index]
                    continue
                decoded = _ANY.decode(_ENCODER.encode(turn))
            else:
                decoded = self._decode_turn(turn, i, memo)
            if decoded is None:  # opaque to the rules: written as it came
                append(turn if raws is None else raws[i])
            else:
                if run_end < 0:
                    run_end = i
                self._turn_source[id(decoded)] = turn
                append(decoded)
        if carry is not None:
            end = len(out) if run_end < 0 else run_end
            _Run.keep(carry, run, reuse, self._rewritten, turns, out, end)
        return out

    def _decode_turn(self, turn: Any, i: int, memo: list[Any] | None) -> dict[str, Any] | None:
        """The turn decoded, if any rule may read into it; None leaves it opaque."""
        kind = type(turn)
        if kind is AssistantTurn:
            if turn.content is UNSET:
                return {"role": "assistant"}
            return {"role": "assistant", "content": _content(turn, i, memo)}
        if kind in OTHER_TURNS:
            if self._holds_rewritten(turn):
                return _ANY.decode(_ENCODER.encode(turn))
            return None
        if _is_assistant(turn.get("role")) or (
            self._rewritten and _holds(turn.get("content"), self._rewritten)
        ):
            return {k: _ANY.decode(v) for k, v in turn.items()}
        return None

    def _holds_rewritten(self, turn: Any) -> bool:
        """A typed user (or system) turn holds a block type this backend's rules rewrite."""
        return bool(self._rewritten) and _user_holds(turn.content, self._rewritten)

    def encode(self) -> bytes:
        """The body as JSON: values no rule replaced written from the request's bytes."""
        out: dict[str, Any] = {}
        reused_changed = self.reuse is not None and self.reuse.changed
        for key, value in dict.items(self):
            if (
                key == "messages"
                and isinstance(value, list)
                and (reused_changed or not self._unchanged(key, value))
            ):
                sources = self._turn_source
                out[key] = [
                    turn.written() if type(turn) is Reused else sources.get(id(turn), turn)
                    for turn in value
                ]
            elif self._unchanged(key, value):
                out[key] = self._source[key]
            else:
                out[key] = value
        return _ENCODER.encode(out)

    def _unchanged(self, key: str, value: Any) -> bool:
        """The value is what the request had, decoded or not."""
        if key in self._decoded:
            return self._decoded[key] is value
        return self._source.get(key, _MISSING) is value


class _Run(NamedTuple):
    """The first turns of a request as the rules were given them, all reused or opaque: the
    next request of the conversation starts with the same turn objects (prefix_split.py),
    so it takes them whole, after one check of every reused turn (TurnReuse.take)
    instead of a pass over each."""

    context: tuple[Any, frozenset[str]]  # turn reuse's backend, the block types rewritten
    sources: list[Any]  # the split turns these were made from (identity is the check)
    out: list[Any]
    entries: list[Any]  # turn_reuse.Rewritten of the reused turns
    checks: list[tuple[str, str | None]]  # each of their thinking blocks, and its maker

    @staticmethod
    def take(
        carry: dict[str, Any] | None,
        reuse: TurnReuse | None,
        kinds: frozenset[str],
        turns: list[Any],
        last: int,
    ) -> _Run | None:
        """The run kept for this conversation, if it still holds for `turns`: made from
        these very turn objects (the conversation's record may have moved on since, or
        another request of it been rewritten in between), for the same backend and block
        types, before the last assistant turn, every reused turn still recorded and its
        blocks' makers unchanged."""
        if carry is None or reuse is None:
            return None
        run: _Run | None = carry.get("run")
        if run is None or len(run.sources) > last or run.context != (reuse.backend, kinds):
            return None
        if not all(map(operator.is_, run.sources, turns)):
            return None
        return run if reuse.take(run.entries, run.checks) else None

    @staticmethod
    def keep(
        carry: dict[str, Any],
        taken: _Run | None,
        reuse: Any,
        kinds: frozenset[str],
        turns: list[Any],
        out: list[Any],
        end: int,
    ) -> None:
        """Keep `out[:end]` (all reused or opaque) as the run, growing `taken` if it was
        one: a reused turn's entry and checks are worked out once."""
        start = 0 if taken is None else len(taken.out)
        if taken is not None and end == start and carry.get("run") is taken:
            return
        entries = [] if taken is None else list(taken.entries)
        checks = [] if taken is None else list(taken.checks)
        for turn in out[start:end]:
            if type(turn) is Reused:
                entries.append(turn.entry)
                checks.extend(zip(turn.entry.keys, turn.entry.verdicts, strict=True))
        carry["run"] = _Run((reuse.backend, kinds), turns[:end], out[:end], entries, checks)


def _content(turn: Any, i: int, memo: list[Any] | None) -> Any:
    """A typed assistant turn's content, decoded: remembered with the turn when it has a
    memo (prefix_split.py), else by its bytes; one shared object either way, which is
    what turn_reuse.py recognises."""
    if memo is None:
        return _ASSISTANT_CONTENT.decode(turn.content)
    content = memo[i]
    if content is None:
        content = memo[i] = _ASSISTANT_CONTENT.decode(turn.content)
    return content


def _objects(raw: bytes | Raw) -> Any:
    """A list of objects with raw values (each object's keys decoded), else all of it."""
    try:
        return _OBJECTS.decode(raw)
    except msgspec.ValidationError:
        return _ANY.decode(raw)


class _Memo:
    """Decoded values by their bytes, least recently used first out, bounded by bytes.

    Each request of a conversation repeats every earlier assistant turn: decoding each
    once per conversation instead of once per request saves ~1.3 us per KB (turns a
    prefix_split record holds are not even looked up here: LazyBody's memo has them).
    Values are shared between requests, safe under the rules' contract (never edited in
    place), and decoded from the key, a copy: they keep no request body alive."""

    def __init__(self, max_bytes: int, decode: Callable[[bytes], Any] = _ANY.decode) -> None:
        self._decode = decode
        self._max = max_bytes
        self._size = 0
        self._entries: OrderedDict[bytes, Any] = OrderedDict()

    def decode(self, raw: Raw) -> Any:
        key = bytes(raw)
        value = self._entries.get(key, _MISSING)
        if value is not _MISSING:
            self._entries.move_to_end(key)
            return value
        value = self._decode(key)
        self._entries[key] = value
        self._size += len(key)
        while self._size > self._max:
            old, _ = self._entries.popitem(last=False)
            self._size -= len(old)
        return value


# Of JSON. A 200K-token conversation's assistant turns are ~0.3 MB; a full memo holds
# ~10 MB of decoded objects.
ASSISTANT_MEMO_BYTES = 2 * 1024 * 1024
_ASSISTANT_CONTENT = _Memo(ASSISTANT_MEMO_BYTES)


class _Recent:
    """The last few values of one top-level key, found by comparing bytes (memcmp) rather
    than hashing them: `tools` (tens of KB) is the same in every request of a session, and
    hashing it cost 8 us a request where the comparison costs 1.5."""

    def __init__(self, decode: Callable[[bytes], Any] = _ANY.decode, size: int = 4) -> None:
        self._decode = decode
        self._size = size
        self._entries: list[tuple[bytes, Any]] = []

    def decode(self, raw: Raw) -> Any:
        key = bytes(raw)
        for i, (seen, value) in enumerate(self._entries):
            if seen == key:
                if i:
                    self._entries.insert(0, self._entries.pop(i))
                return value
        value = self._decode(key)
        self._entries.insert(0, (key, value))
        del self._entries[self._size :]
        return value


# `tools` is decoded one level (each tool's keys, raw values): the rules only drop keys.
_STABLE = {"tools": _Recent(_objects), "system": _Recent()}


def _is_assistant(role: Raw | None) -> bool:
    if role is None:
        return False
    text = bytes(role)
    if text in _SIMPLE_ROLES:
        return text == _ASSISTANT
    return bool(_ANY.decode(role) == "assistant")  # spelled with escapes


def _user_holds(content: Any, kinds: frozenset[str]) -> bool:
    """A typed user turn's content holds a block of one of these types, at the top or
    inside a tool_result (as deep as quirks._rewrite_list looks)."""
    if not isinstance(content, list):
        return False
    for block in content:
        tag = TAG_OF[type(block)]
        if tag in kinds:
            return True
        if tag == "tool_result" and block.content is not UNSET and _holds(block.content, kinds):
            return True
    return False


def _holds(content: Raw | None, kinds: frozenset[str]) -> bool:
    """Raw content holds a block of one of these types (see _user_holds). Content that
    does not read as a list of known blocks counts as holding one: the rules then see it
    decoded, and decide."""
    if content is None or memoryview(content)[:1] != b"[":
        return False  # a string, or null: no blocks
    try:
        blocks = BLOCKS.decode(content)
    except msgspec.ValidationError:
        return True
    return _user_holds(blocks, kinds)

"""A split request body decoded only as deep as the rules read, and written back by splicing.

Claude Code's request is mostly conversation history, and most of the history is tool
results the rules never read. Parsing all of it into Python objects and serialising it back
is what made a router cost milliseconds per MB of body. Here msgspec splits the body into
raw JSON spans (`msgspec.Raw`, views into the request bytes, nothing copied):

- a top-level value stays raw until a rule reads it (`LazyBody.__getitem__`), then is
  decoded;
- in `messages`, assistant turns are decoded (the thinking rules read every one; each
  distinct one once, as later requests repeat it); any
  other turn stays opaque to the rules -- they only act on dicts whose `content` is a
  list -- unless it holds a block type the backend's rules read (an image for a
  text-only backend);
- `tools` is decoded one level (each tool's keys, raw values): the rules only drop keys;
  `tools` and `system`, the same in every request of a conversation, are decoded once;
- encoding writes every value no rule replaced from its original bytes.

What is decoded is what the rules declare they read (rewrite.Reads): top-level keys on
first read, assistant turns whole, user and system turns only when they hold a block type
the backend's rules read. This relies on the rules' contract (rewrite.py): they replace
top-level keys and copy nested values before changing them, never edit in place, so a
value still identical to what was decoded still matches its bytes.

A value msgspec cannot take (out-of-range numbers and bad UTF-8 in a value a rule reads)
raises one of jsoncodec.UNDECODABLE; the facade (body/__init__.py) then uses the full
parser. Values no rule reads are not decoded, so not checked: invalid UTF-8 or a number out of
range there (`1e400`) reaches the backend as the client wrote it, and the backend decides
(the full parser would have turned the number into null); duplicate keys inside them are
kept as written.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from typing import Any, NamedTuple

import msgspec
from msgspec import UNSET, Raw

from hotswap.body.caches import BodyCaches
from hotswap.body.shape import BLOCKS, OTHER_TURNS, TAG_OF, AssistantTurn
from hotswap.body.split import Split
from hotswap.body.turns import Reused, TurnReuse
from hotswap.reading.memo import Memo

_MISSING: Any = object()
_ASSISTANT = b'"assistant"'
_SIMPLE_ROLES = (_ASSISTANT, b'"user"')
_OBJECTS = msgspec.json.Decoder(list[dict[str, Raw]])
_ANY = msgspec.json.Decoder()
_ENCODER = msgspec.json.Encoder()


class LazyBody(dict[str, Any]):
    """A request's top-level keys for the rules to read and replace; see the module doc.

    `rewritten` is the set of content block types the backend's rules read in user and
    system turns (rewrite.Reads.user_blocks): turns holding one are decoded for them.
    """

    def __init__(
        self,
        body: Split,
        rewritten: frozenset[str],
        caches: BodyCaches,
        reuse: TurnReuse | None = None,
    ) -> None:
        super().__init__(body.top)
        self._caches = caches
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
        """`messages` as the rules were given it (reused turns as turns.Reused)."""
        return self._decoded.get("messages")

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    # Every other way a rule can read a value goes through __getitem__, so no rule ever
    # sees a raw span: `{**body}` and dict(body) too, since a dict subclass with its own
    # __iter__ is copied by keys() and __getitem__ (the body layer's own code reads the
    # raw values with dict.items(self), explicitly).
    def __iter__(self) -> Iterator[str]:
        return iter(list(dict.keys(self)))

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        return [(key, self[key]) for key in list(dict.keys(self))]

    def values(self) -> list[Any]:  # type: ignore[override]
        return [self[key] for key in list(dict.keys(self))]

    def pop(self, key: str, *default: Any) -> Any:
        if key not in self:
            if default:
                return default[0]
            raise KeyError(key)
        value = self[key]
        del self[key]
        return value

    def popitem(self) -> tuple[str, Any]:
        key = next(reversed(list(dict.keys(self))))
        return key, self.pop(key)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def copy(self) -> dict[str, Any]:  # a plain dict of decoded values
        return dict(self.items())

    def __or__(self, other: Any) -> dict[str, Any]:  # type: ignore[override]
        return dict(self.items()) | dict(other)

    def __eq__(self, other: object) -> bool:
        return dict(self.items()) == other

    __hash__ = None

    def _decode(self, key: str, value: Any) -> Any:
        if key == "messages":
            return self._messages(value)
        stable = self._caches.stable(key)
        if stable is not None:
            return stable.decode(value)
        return _ANY.decode(value)

    def _messages(self, value: Raw | list[Any]) -> Any:
        """The turns as the rules get them: decoded where a rule may read, else opaque. One
        tight loop (it runs over every turn of every request); Run: what is kept of it."""
        memo = raws = None
        if isinstance(value, Raw):
            try:
                turns: list[Any] = _OBJECTS.decode(value)
            except msgspec.ValidationError:  # not a list of objects: the rules get it all
                return _ANY.decode(value)
        else:
            turns, memo, raws = value, self._memo, self._raws
        reuse = self.reuse
        last = _last_typed_assistant(turns) if reuse is not None else -1  # never reused
        carry = self._carry if memo is not None and reuse is not None else None
        run = Run.take(carry, reuse, self._rewritten, turns, last)
        out: list[Any] = [] if run is None else list(run.out)
        assistant = self._caches.assistant
        start = len(out)
        run_end = -1  # where the run of reused or opaque turns stops
        append = out.append
        for i in range(start, len(turns)):
            turn = turns[i]
            kind = type(turn)
            if kind is AssistantTurn and i < last and turn.content is not UNSET:
                content = _content(turn, i, memo, assistant)
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
                continue
            run_end = i if run_end < 0 else run_end
            self._turn_source[id(decoded)] = turn
            append(decoded)
        if carry is not None:  # the run ends where the first decoded turn stands
            Run.keep(carry, run, reuse, self._rewritten, turns, out, run_end)
        return out

    def _decode_turn(self, turn: Any, i: int, memo: list[Any] | None) -> dict[str, Any] | None:
        """The turn decoded, if any rule may read into it; None leaves it opaque."""
        kind = type(turn)
        if kind is AssistantTurn:
            if turn.content is UNSET:
                return {"role": "assistant"}
            return {"role": "assistant", "content": _content(turn, i, memo, self._caches.assistant)}
        if kind in OTHER_TURNS:
            if self._holds_rewritten(turn):
                decoded: dict[str, Any] = _ANY.decode(_ENCODER.encode(turn))
                return decoded
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


class Run(NamedTuple):
    """The first turns of a request as the rules were given them, all reused or opaque (the
    typed assistant turns before the last one are offered to turn reuse, a typed turn's
    memo and bytes come from prefix.py's record when the split had one): the
    next request of the conversation starts with the same turn objects (prefix.py),
    so it takes them whole, after one check of every reused turn (TurnReuse.take)
    instead of a pass over each."""

    context: tuple[Any, frozenset[str]]  # turn reuse's backend, the block types rewritten
    sources: list[Any]  # the split turns these were made from (identity is the check)
    out: list[Any]
    entries: list[Any]  # turns.Rewritten of the reused turns
    checks: list[tuple[str, str | None]]  # each of their thinking blocks, and its maker

    @staticmethod
    def take(
        carry: dict[str, Any] | None,
        reuse: TurnReuse | None,
        kinds: frozenset[str],
        turns: list[Any],
        last: int,
    ) -> Run | None:
        """The run kept for this conversation, if it still holds for `turns`: made from
        these very turn objects (the conversation's record may have moved on since, or
        another request of it been rewritten in between), for the same backend and block
        types, before the last assistant turn, every reused turn still recorded and its
        blocks' makers unchanged."""
        if carry is None or reuse is None:
            return None
        run: Run | None = carry.get("run")
        if run is None or len(run.sources) > last or run.context != (reuse.backend, kinds):
            return None
        if not all(map(operator.is_, run.sources, turns)):
            return None
        return run if reuse.take(run.entries, run.checks) else None

    @staticmethod
    def keep(
        carry: dict[str, Any],
        taken: Run | None,
        reuse: Any,
        kinds: frozenset[str],
        turns: list[Any],
        out: list[Any],
        end: int,
    ) -> None:
        """Keep `out[:end]` (all reused or opaque) as the run, growing `taken` if it was
        one: a reused turn's entry and checks are worked out once."""
        end = len(out) if end < 0 else end  # -1: every turn was reused or opaque
        start = 0 if taken is None else len(taken.out)
        if taken is not None and end == start and carry.get("run") is taken:
            return
        entries = [] if taken is None else list(taken.entries)
        checks = [] if taken is None else list(taken.checks)
        for turn in out[start:end]:
            if type(turn) is Reused:
                entries.append(turn.entry)
                checks.extend(zip(turn.entry.keys, turn.entry.verdicts, strict=True))
        carry["run"] = Run((reuse.backend, kinds), turns[:end], out[:end], entries, checks)


def _last_typed_assistant(turns: list[Any]) -> int:
    """The index of the last typed assistant turn (turn reuse never takes it), or -1."""
    for i in range(len(turns) - 1, -1, -1):
        if type(turns[i]) is AssistantTurn:
            return i
    return -1


def _content(turn: Any, i: int, memo: list[Any] | None, assistant: Memo) -> Any:
    """A typed assistant turn's content, decoded: remembered with the turn when it has a
    memo (prefix.py), else by its bytes; one shared object either way, which is what
    turns.py recognises."""
    if memo is None:
        return assistant.decode(turn.content)
    content = memo[i]
    if content is None:
        content = memo[i] = assistant.decode(turn.content)
    return content


def _is_assistant(role: Raw | None) -> bool:
    if role is None:
        return False
    text = bytes(role)
    if text in _SIMPLE_ROLES:
        return text == _ASSISTANT
    return bool(_ANY.decode(role) == "assistant")  # spelled with escapes


def new_turns_hold(turns: list[Any], kinds: frozenset[str]) -> bool:
    """A block of one of these types in the turns after the last assistant turn: typed
    turns (the split's) or decoded ones (a generic split's, the full parser's)."""
    for turn in reversed(turns):
        if type(turn) is AssistantTurn:
            return False
        if isinstance(turn, OTHER_TURNS):
            if _user_holds(turn.content, kinds):
                return True
            continue
        if not isinstance(turn, dict) or turn.get("role") == "assistant":
            return False
        if _plain_holds(turn.get("content"), kinds):
            return True
    return False


def _plain_holds(content: Any, kinds: frozenset[str]) -> bool:
    """_user_holds for decoded content."""
    if not isinstance(content, list):
        return False
    for block in content:
        if not isinstance(block, dict):
            continue
        if block.get("type") in kinds:
            return True
        if block.get("type") == "tool_result" and _plain_holds(block.get("content"), kinds):
            return True
    return False


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
    if content is None or memoryview(content)[:1] != b"[":  # type: ignore[comparison-overlap]
        return False  # a string, or null: no blocks
    try:
        blocks = BLOCKS.decode(content)
    except msgspec.ValidationError:
        return True
    return _user_holds(blocks, kinds)

"""An Anthropic request as Chat Completions bytes, translated span by span.

Every request of a Claude Code conversation repeats the previous one and appends a turn or
two. Translating the whole body each time (decode it all, walk it, encode it all) cost about
as much as everything else the router does for a request. Here the body is cut once into
raw spans (one msgspec pass: the top-level keys translation reads, each message, `system`,
`tools`), and each span is translated on its own into the JSON it becomes, kept by its
bytes in ChatTranslations (the openai adapter's cache for one router): the next request of the
conversation translates only its new turns and copies the rest.

The translation of a span is openai_request's, the reference (to_chat_request): the same
value, not a re-implementation, so the two cannot drift; a unit test holds the bytes this
module makes to that reference over recorded and generated bodies. A body this pass cannot
take (a key of an unexpected type, invalid UTF-8) raises, and the caller falls back to the
reference on the whole body.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec
from msgspec import UNSET, Raw, UnsetType

from hotswap.reading.cuts import tail_document
from hotswap.reading.memo import Memo, Recent
from hotswap.wire.openai_prefix import Cut, Cuts, Found, head_of, message_ends
from hotswap.wire.openai_request import chat_fields, chat_tools, message_to_chat, system_text

_ANY = msgspec.json.Decoder()
_ENCODE = msgspec.json.Encoder().encode
NO_SPAN = b""  # a span that translates to nothing (an empty system prompt, no tools)


class _Spans(msgspec.Struct):
    """The keys translation reads; the rest of the body is skipped unread."""

    model: Any = UNSET
    max_tokens: Any = UNSET
    temperature: Any = UNSET
    top_p: Any = UNSET
    stop_sequences: Any = UNSET
    tool_choice: Any = UNSET
    thinking: Any = UNSET
    output_config: Any = UNSET
    stream: Any = UNSET
    system: Raw | UnsetType = UNSET
    tools: Raw | UnsetType = UNSET
    messages: list[Raw] | None = None


_SPANS = msgspec.json.Decoder(_Spans)
_PLACEHOLDER = Raw(b"0")  # what stands for the shared messages in a cut's rest
_SCALARS = (
    "model",
    "max_tokens",
    "temperature",
    "top_p",
    "stop_sequences",
    "tool_choice",
    "thinking",
    "output_config",
    "stream",
)


def translate_message(raw: bytes) -> bytes:
    """One Anthropic message as the Chat Completions messages it becomes, comma-joined."""
    message = _ANY.decode(raw)
    if not isinstance(message, dict):
        return NO_SPAN
    return _ENCODE(message_to_chat(message))[1:-1]


def translate_system(raw: bytes) -> bytes:
    text = system_text(_ANY.decode(raw))
    return _ENCODE({"role": "system", "content": text}) if text else NO_SPAN


def translate_tools(raw: bytes) -> bytes:
    tools = chat_tools(_ANY.decode(raw))
    return _ENCODE(tools) if tools else NO_SPAN


# What an entry costs: its key, the translated bytes (about as long) and the entry itself.
TRANSLATED_PER_BYTE = 1


class ChatTranslations:
    """Translated spans by their bytes, least recently used first out, within `max_bytes`:
    each message's (Memo), and the last few `system` and `tools` values (Recent: the same in
    every request of a session, compared rather than hashed)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        stable = max_bytes // 10
        self.cuts = Cuts(max_bytes * 4 // 10)
        self.messages = Memo(max_bytes * 4 // 10, translate_message, TRANSLATED_PER_BYTE)
        self.system = Recent(translate_system, max_bytes=stable, per_byte=TRANSLATED_PER_BYTE)
        self.tools = Recent(translate_tools, max_bytes=stable, per_byte=TRANSLATED_PER_BYTE)

    @property
    def size(self) -> int:
        return self.cuts.size + self.messages.size + self.system.size + self.tools.size

    def snapshot(self) -> dict[str, int]:
        """What the router's status shows of it (in `body_caches`)."""
        return {"translated_messages": len(self.messages)}


class ChatBytes(NamedTuple):
    """A translated request: its bytes, and what the adapter needs to send it."""

    body: bytes
    model: str
    stream: bool


def chat_bytes(
    raw: bytes,
    memo: ChatTranslations,
    *,
    max_completion_tokens: bool = False,
    reasoning_effort: bool = False,
) -> ChatBytes:
    """The Chat Completions request for Anthropic request `raw`, equal in value to
    encode(to_chat_request(decode(raw))). Raises msgspec.DecodeError or ValidationError for
    a body it cannot take (see the module doc)."""
    spans, parts = _cut(raw, memo)
    top = {key: value for key in _SCALARS if (value := getattr(spans, key)) is not UNSET}
    if spans.system is not UNSET:
        parts = [memo.system.decode(spans.system), *parts]
    tools = memo.tools.decode(spans.tools) if spans.tools is not UNSET else NO_SPAN
    messages = Raw(b"[" + b",".join([part for part in parts if part]) + b"]")
    chat = chat_fields(
        top,
        messages,
        Raw(tools) if tools else None,
        max_completion_tokens=max_completion_tokens,
        reasoning_effort=reasoning_effort,
    )
    return ChatBytes(_ENCODE(chat), str(chat.get("model") or ""), chat.get("stream") is True)


def _cut(raw: bytes, memo: ChatTranslations) -> tuple[_Spans, list[bytes]]:
    """The body's spans (the keys translation reads) and each message's translation:
    from the recorded cut it starts with, when there is one (openai_prefix)."""
    found = memo.cuts.find(raw)
    if found is not None:
        taken = _continue(raw, memo, found)
        if taken is not None:
            return taken
    spans = _SPANS.decode(raw)
    messages = spans.messages or []
    parts = [memo.messages.decode(message) for message in messages]
    head = head_of(raw, _SPANS) if messages else None
    if head is not None:
        ends = message_ends(raw, head[1], messages, first=True)
        if ends is not None:
            memo.cuts.keep(Cut(raw, ends, parts, head[0]))
    return spans, parts


def _continue(
    raw: bytes, memo: ChatTranslations, found: Found
) -> tuple[_Spans, list[bytes]] | None:
    """The spans of a body that starts with `found`'s first messages: only the rest read,
    and of that only its new messages when it ends as the cut does (its keys after
    `messages`: `system`, `tools`... the same bytes, so the same values)."""
    cut, shared, _ = found
    end = cut.ends[shared - 1]
    stop = len(raw) - (len(cut.raw) - cut.ends[-1])  # where the cut's suffix would start
    same_end = (
        cut.spans is not None and stop >= end and raw.endswith(memoryview(cut.raw)[cut.ends[-1] :])
    )
    rest = (
        tail_document(raw, end, stop, b"]}") if same_end else tail_document(raw, end, len(raw), b"")
    )
    tail = _SPANS.decode(rest)
    if not tail.messages or tail.messages[0] != _PLACEHOLDER:
        return None  # `messages` given twice: read it whole
    new = tail.messages[1:]
    spans = cut.spans if same_end else _merged(cut.head, tail)
    ends = message_ends(raw, end, new, first=False)
    parts = cut.parts[:shared] + [memo.messages.decode(message) for message in new]
    if ends is not None:
        last = ends[-1] if ends else end
        kept = spans if raw[last : last + 1] == b"]" else None  # `]`: where the suffix starts
        grown = Cut(raw, cut.ends[:shared] + ends, parts, cut.head, kept)
        memo.cuts.keep(grown, replaces=found.key)
    return spans, parts


def _merged(head: _Spans, tail: _Spans) -> _Spans:
    """The keys given after `messages` (`tail`), and before it (`head`) where not again."""
    out = msgspec.structs.replace(tail, messages=None)
    for key in (*_SCALARS, "system", "tools"):
        if getattr(out, key) is UNSET:
            setattr(out, key, getattr(head, key))
    return out

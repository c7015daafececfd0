"""Thinking blocks across backends: who produced each one, and what each backend gets to see.

A thinking block is only valid on the backend that produced it (Anthropic checks its
signatures; DeepSeek and Kimi want their own reasoning back in tool loops). The router
sees every response it relays, so it keeps, per router, a bounded map from a hash of each
block's identity (its signature; for unsigned blocks, its text; for redacted blocks, their
data) to the backend that produced it.

Policy, applied to a copy of each request before it goes to backend B (`prepare_thinking`):

1. In assistant messages, a thinking/redacted_thinking block produced by B is kept
   verbatim; one produced by another backend is removed; one of unknown provenance (no
   signature and no text, or produced before this router started) is removed unless B's
   quirks say `unknown_thinking = "keep"`.
2. Whether thinking is on for this request: `thinking.type` enabled/adaptive, or no
   `thinking` key on a backend whose thinking is on by default.
3. Adaptive thinking becomes `enabled` with a budget where the backend lacks `adaptive`.
4. A forced tool_choice (any/tool) with thinking on: keep it, turn thinking off, or relax
   tool_choice to auto (quirk `forced_tool_choice`).
5. If B requires thinking blocks (Anthropic: the final assistant turn of a tool loop starts
   with one; DeepSeek/Kimi: every assistant turn with tool_use has one) and one is missing,
   B's `thinking_placeholder` is inserted at the start of that turn, or, without a
   placeholder, thinking is turned off for this request -- which also drops
   `clear_thinking_*` context edits, `output_config.effort` where the backend rejects it
   without thinking, and thinking blocks from a trailing (prefill) assistant message.

Pure: no I/O. The request body's nested structures are never mutated; changed messages
are copied (the proxy may retry the original body on another backend). What the request
rules read is declared in READS (reads.py): the body layer decodes exactly that.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hotswap.config.backends import Quirks
from hotswap.reading.jsoncodec import loads_or_none
from hotswap.rules.reads import Reads

THINKING_TYPES = ("thinking", "redacted_thinking")
REGISTRY_SIZE = 4096
ADAPTIVE_BUDGET_TOKENS = 16000
MIN_BUDGET_TOKENS = 1024
EMPTY_TURN_NOTE = "(reasoning from another model omitted)"

Origins = Callable[[str], str | None]

# The request rules below read these top-level keys, and every assistant turn whole; user
# turns only for their role (a turn the body layer leaves opaque is not a dict, which
# reads as "not an assistant turn": right for a user or system turn).
READS = Reads(
    top=frozenset(
        ("messages", "thinking", "max_tokens", "tool_choice", "context_management", "output_config")
    ),
    assistant_turns=True,
)


def block_key(block: dict[str, Any]) -> str | None:
    """The identity of a thinking block: its signature, else its text; None if it has neither."""
    kind = block.get("type")
    if kind == "redacted_thinking":
        data = block.get("data")
        return f"r:{data}" if isinstance(data, str) and data else None
    if kind != "thinking":
        return None
    signature = block.get("signature")
    if isinstance(signature, str) and signature:
        return f"s:{signature}"
    text = block.get("thinking")
    return f"t:{text}" if isinstance(text, str) and text else None


class ThinkingOrigins:
    """Which backend produced a thinking block: an LRU of hashed block keys, per router.

    The hash is Python's own (64 bits, salted per process): two of 4,096 keys colliding
    is a ~1e-12 event, and it is ~30x cheaper than a cryptographic digest on every
    thinking block of every request."""

    def __init__(self, capacity: int = REGISTRY_SIZE) -> None:
        self.capacity = capacity
        self._by_hash: OrderedDict[int, str] = OrderedDict()

    def record(self, backend: str, keys: Iterable[str]) -> None:
        for key in keys:
            digest = hash(key)
            self._by_hash[digest] = backend
            self._by_hash.move_to_end(digest)
        while len(self._by_hash) > self.capacity:
            self._by_hash.popitem(last=False)

    def origin(self, key: str) -> str | None:
        digest = hash(key)
        backend = self._by_hash.get(digest)
        if backend is not None:
            self._by_hash.move_to_end(digest)
        return backend

    def __len__(self) -> int:
        return len(self._by_hash)


@dataclass
class ThinkingTracker:
    """Collects the keys of the thinking blocks of one response while it is relayed.

    A block's key is its signature when it gets one (Anthropic signs every block, at its
    end), else its text: thinking_delta events are kept raw and decoded only if their
    block ends unsigned."""

    keys: list[str] = field(default_factory=list)
    _open: dict[int, str] = field(default_factory=dict)  # index -> text it started with
    _deltas: list[bytes] = field(default_factory=list)  # thinking_delta data, undecoded
    _decoded: dict[int, list[str]] = field(default_factory=dict)  # their text, by block

    @property
    def open(self) -> bool:
        """A thinking block of the stream has started and not ended: its deltas count."""
        return bool(self._open)

    def add_block(self, block: Any) -> None:
        """A complete block (non-streaming body)."""
        if isinstance(block, dict):
            key = block_key(block)
            if key:
                self.keys.append(key)

    def feed(self, name: str, data: bytes) -> None:
        """One SSE event; only thinking-related events are parsed."""
        if name == "content_block_start" and b"thinking" in data:
            obj = loads_or_none(data)
            block = obj.get("content_block") if isinstance(obj, dict) else None
            if isinstance(block, dict) and block.get("type") == "thinking":
                self._open[_index(obj)] = str(block.get("thinking") or "")
                self._signed(obj, block.get("signature"))
            elif isinstance(block, dict):
                self.add_block(block)
        elif name == "content_block_delta" and self._open:
            if b'"signature_delta"' in data:
                obj = loads_or_none(data)
                delta = obj.get("delta") if isinstance(obj, dict) else None
                if isinstance(delta, dict) and delta.get("type") == "signature_delta":
                    self._signed(obj, delta.get("signature"))
            elif b'"thinking_delta"' in data:
                self._deltas.append(data)
        elif name == "content_block_stop" and self._open:
            index = _index(loads_or_none(data))
            start = self._open.pop(index, None)
            if start is not None:
                text = start + "".join(self._texts(index))
                if text:
                    self.keys.append("t:" + text)
            if not self._open:
                self._forget()

    def _texts(self, index: int) -> list[str]:
        """The text of the kept thinking_delta events of block `index`. Each kept event is
        decoded once, into its block's list: interleaved blocks stay linear."""
        for data in self._deltas:
            obj = loads_or_none(data)
            delta = obj.get("delta") if isinstance(obj, dict) else None
            if isinstance(delta, dict) and delta.get("type") == "thinking_delta":
                self._decoded.setdefault(_index(obj), []).append(str(delta.get("thinking") or ""))
        self._deltas.clear()
        return self._decoded.pop(index, [])

    def _signed(self, obj: dict[str, Any], signature: Any) -> None:
        if isinstance(signature, str) and signature:
            self._open.pop(_index(obj), None)
            self.keys.append(f"s:{signature}")
            if not self._open:
                self._forget()

    def _forget(self) -> None:
        """No thinking block is open: no kept delta can count any more."""
        self._deltas.clear()
        self._decoded.clear()


def _index(obj: Any) -> int:
    index = obj.get("index") if isinstance(obj, dict) else None
    return index if isinstance(index, int) else -1


# -- the request side ---------------------------------------------------------------------


def prepare_thinking(
    body: dict[str, Any], backend: str, quirks: Quirks, origins: Origins
) -> list[str]:
    """Make `body` valid for `backend` as far as thinking goes; notes say what changed.

    Replaces top-level keys of `body` only; nested values are copied before a change.
    """
    notes: list[str] = []
    messages = body.get("messages")
    if isinstance(messages, list):
        kept, dropped = _filter_messages(messages, backend, quirks, origins)
        if dropped:
            body["messages"] = kept
            notes.append(f"dropped {dropped} thinking block(s) not produced by {backend}")
    if not thinking_on(body, quirks):
        return notes
    notes += _adapt_type(body, quirks)
    notes += _forced_tool_choice(body, quirks)
    if thinking_on(body, quirks):
        notes += _required_blocks(body, quirks)
    return notes


def thinking_on(body: dict[str, Any], quirks: Quirks) -> bool:
    thinking = body.get("thinking")
    if not isinstance(thinking, dict):
        return quirks.thinking_default_on
    return thinking.get("type") in ("enabled", "adaptive")


def _filter_messages(
    messages: list[Any], backend: str, quirks: Quirks, origins: Origins
) -> tuple[list[Any], int]:
    out, dropped = [], 0
    for message in messages:  # plain loops and few calls: this runs for every turn
        if not isinstance(message, dict) or message.get("role") != "assistant":
            out.append(message)
            continue
        content = message.get("content")
        if not isinstance(content, list):
            out.append(message)
            continue
        for block in content:  # most turns have none: skip the per-block verdicts
            if isinstance(block, dict) and block.get("type") in THINKING_TYPES:
                break
        else:
            out.append(message)
            continue
        blocks = [
            b
            for b in content
            if not (isinstance(b, dict) and b.get("type") in THINKING_TYPES)
            or _keep(b, backend, quirks, origins)
        ]
        if len(blocks) == len(content):
            out.append(message)
            continue
        dropped += len(content) - len(blocks)
        out.append({**message, "content": blocks or [{"type": "text", "text": EMPTY_TURN_NOTE}]})
    return out, dropped


def message_role(message: Any) -> str | None:
    return message.get("role") if isinstance(message, dict) else None


def _keep(block: dict[str, Any], backend: str, quirks: Quirks, origins: Origins) -> bool:
    """A thinking block stays if `backend` produced it (unknown: per quirks)."""
    key = block_key(block)
    origin = origins(key) if key else None
    if origin is None:
        return quirks.unknown_thinking == "keep"
    return origin == backend


def _adapt_type(body: dict[str, Any], quirks: Quirks) -> list[str]:
    thinking = body.get("thinking")
    if quirks.adaptive_thinking or not isinstance(thinking, dict):
        return []
    if thinking.get("type") != "adaptive":
        return []
    max_tokens = body.get("max_tokens")
    budget = ADAPTIVE_BUDGET_TOKENS
    if isinstance(max_tokens, int):
        budget = min(budget, max_tokens - 1)
    if budget < MIN_BUDGET_TOKENS:
        return disable_thinking(body, quirks, "max_tokens too small for a thinking budget")
    body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    return [f"adaptive thinking -> enabled, budget_tokens {budget}"]


def _forced_tool_choice(body: dict[str, Any], quirks: Quirks) -> list[str]:
    choice = body.get("tool_choice")
    if not isinstance(choice, dict) or choice.get("type") not in ("any", "tool"):
        return []
    if quirks.forced_tool_choice == "disable_thinking":
        return disable_thinking(body, quirks, "tool_choice forces a tool")
    if quirks.forced_tool_choice == "auto":
        body["tool_choice"] = {k: v for k, v in choice.items() if k != "name"} | {"type": "auto"}
        return ["forced tool_choice -> auto (thinking stays on)"]
    return []


def _required_blocks(body: dict[str, Any], quirks: Quirks) -> list[str]:
    messages = body.get("messages")
    if quirks.thinking_required == "none" or not isinstance(messages, list):
        return []
    missing = [i for i in _needing_thinking(messages, quirks) if not _has_thinking(messages[i])]
    if not missing:
        return []
    if quirks.thinking_placeholder is None:
        return disable_thinking(body, quirks, f"{len(missing)} tool turn(s) lack thinking")
    placeholder = {"type": "thinking", "thinking": quirks.thinking_placeholder, "signature": ""}
    fixed = list(messages)
    for i in missing:
        fixed[i] = {**messages[i], "content": [placeholder, *messages[i]["content"]]}
    body["messages"] = fixed
    return [f"placeholder thinking added to {len(missing)} tool turn(s)"]


def _needing_thinking(messages: list[Any], quirks: Quirks) -> list[int]:
    """The assistant turns with tool_use (not the final message) that need a thinking block:
    all of them, or (Anthropic's rule) only the last assistant turn, so only it is read."""
    if quirks.thinking_required == "tool_turns":
        return [
            i
            for i, m in enumerate(messages[:-1])
            if isinstance(m, dict) and m.get("role") == "assistant" and _has_tool_use(m)
        ]
    last = _last_assistant(messages)
    if last is None or last == len(messages) - 1 or not _has_tool_use(messages[last]):
        return []
    return [last]


def _last_assistant(messages: list[Any]) -> int | None:
    for i in range(len(messages) - 1, -1, -1):
        if message_role(messages[i]) == "assistant":
            return i
    return None


def _has_tool_use(message: dict[str, Any]) -> bool:
    content = message.get("content")
    if not isinstance(content, list):
        return False
    for block in content:  # noqa: SIM110 (any(genexpr) is slower; runs for every turn)
        if isinstance(block, dict) and block.get("type") == "tool_use":
            return True
    return False


def _has_thinking(message: dict[str, Any]) -> bool:
    """The turn starts with a thinking block (Anthropic's rule, satisfies every backend)."""
    content = message.get("content")
    first = content[0] if isinstance(content, list) and content else None
    return isinstance(first, dict) and first.get("type") in THINKING_TYPES


def disable_thinking(body: dict[str, Any], quirks: Quirks, why: str) -> list[str]:
    """Thinking off for this request, and whatever depends on it."""
    body["thinking"] = {"type": "disabled"}
    notes = [f"thinking off ({why})"]
    cm = body.get("context_management")
    if isinstance(cm, dict) and isinstance(cm.get("edits"), list):
        edits = [e for e in cm["edits"] if not _is_clear_thinking(e)]
        if len(edits) != len(cm["edits"]):
            if edits:
                body["context_management"] = {**cm, "edits": edits}
            else:
                del body["context_management"]
            notes.append("clear_thinking edit dropped")
    config = body.get("output_config")
    if quirks.effort_needs_thinking and isinstance(config, dict) and "effort" in config:
        rest = {k: v for k, v in config.items() if k != "effort"}
        if rest:
            body["output_config"] = rest
        else:
            del body["output_config"]
        notes.append("effort dropped")
    notes += _strip_prefill_thinking(body)
    return notes


def _is_clear_thinking(edit: Any) -> bool:
    return isinstance(edit, dict) and str(edit.get("type", "")).startswith("clear_thinking")


def _strip_prefill_thinking(body: dict[str, Any]) -> list[str]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return []
    last = messages[-1]
    content = last.get("content") if message_role(last) == "assistant" else None
    if not isinstance(content, list):
        return []
    blocks = [b for b in content if not (isinstance(b, dict) and b.get("type") in THINKING_TYPES)]
    if len(blocks) == len(content):
        return []
    body["messages"] = [*messages[:-1], {**last, "content": blocks}]
    return ["thinking removed from the final assistant message"]

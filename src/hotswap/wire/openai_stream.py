"""A Chat Completions stream as an Anthropic Messages stream. Sans-IO: bytes in, bytes out.

    t = ChatStreamTranslator(model="gpt-5")
    out = t.feed(chunk)      # complete Anthropic SSE events for what the chunk completed
    out = t.finish()         # at the upstream's end: whatever closes the message

The output is always a valid Anthropic event sequence, whatever the upstream sends (empty
deltas, a usage-only last chunk, no `[DONE]` after a finish_reason): `message_start` first;
each content block started, given its deltas and stopped once, one at a time; one
`message_delta` (stop reason, usage); `message_stop`. An upstream `error` chunk becomes one
`error` event, and the stream says nothing after it.

A broken answer is never made to look whole: a stream that ends with neither `[DONE]` nor a
finish_reason, a `data:` line that is not a JSON object, an SSE line past MAX_LINE_BYTES,
or a tool call whose arguments are not a JSON object once the call is complete raise
BrokenStream (the adapter reports it as an upstream failure: wire/openai.py).

Blocks: reasoning (`reasoning_content` / `reasoning`) becomes an unsigned thinking block,
text a text block, each tool call a tool_use block. Tool calls are numbered by the upstream
and their argument fragments may interleave across parallel calls; the first call's
fragments are relayed as they come, and the others' are held and sent whole, each as its own
block, when the message ends (a block cannot be reopened once another has started).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
from msgspec import UNSET, Raw

from hotswap.wire.openai_chunk import (
    CHUNK,
    DELTA_EVENT,
    DELTA_FIELD,
    NULL,
    Chunk,
    Delta,
    as_chunk,
    text_of,
)
from hotswap.wire.openai_response import (
    anthropic_usage,
    message_id,
    new_id,
    stop_reason,
    translate_error,
)

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
MAX_LINE_BYTES = 16 * 1024 * 1024  # one SSE line; a longer one is a broken upstream


class BrokenStream(ValueError):
    """The upstream's stream cannot be an answer (see the module doc); says why."""


def event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + _encode(data) + b"\n\n"


@dataclass
class _Call:
    """One upstream tool call, by its index."""

    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)  # held fragments
    sent: list[str] = field(default_factory=list)  # fragments relayed (checked at the end)
    block: int | None = None  # its Anthropic block index, once started


@dataclass
class ChatStreamTranslator:
    model: str = ""
    _buffer: bytes = b""
    _started: bool = False
    _ended: bool = False
    _next_block: int = 0
    _open: str | None = None  # "thinking" | "text" | "tool" (the relayed call)
    _live_call: int | None = None  # the upstream index of the call relayed as it comes
    _calls: dict[int, _Call] = field(default_factory=dict)
    _late_text: list[str] = field(default_factory=list)  # text after a tool call began
    _finish: Any = None
    _usage: Any = None
    _id: str = ""
    _delta_head: bytes = b""  # the open text or thinking block's delta event, up to the text

    def feed(self, chunk: bytes) -> bytes:
        """The Anthropic events for the complete lines in `chunk` (and before)."""
        if self._ended:
            return b""
        data = self._buffer + chunk if self._buffer else chunk
        end = data.rfind(b"\n")
        if end < 0:
            self._buffer = data
            if len(data) > MAX_LINE_BYTES:
                raise self._broken(f"an SSE line of over {MAX_LINE_BYTES} bytes")
            return b""
        self._buffer = data[end + 1 :]
        out = []
        for line in data[:end].split(b"\n"):
            if not line or line == b"\r":
                continue  # the blank line after each event
            piece = self._line(line.rstrip(b"\r"))
            if piece:
                out.append(piece)
            if self._ended:
                break
        return b"".join(out)

    def finish(self) -> bytes:
        """The events that end the message, at the end of the upstream's stream (a last
        line without its newline included). Nothing once it has ended."""
        tail = self._line(self._buffer.rstrip(b"\r")) if self._buffer else b""
        self._buffer = b""
        if self._ended:
            return tail
        if self._finish is None:
            raise self._broken("the stream ended without [DONE] or a finish_reason")
        return tail + self._end()

    @property
    def ended(self) -> bool:
        return self._ended

    # -- one SSE line -----------------------------------------------------------------------

    def _line(self, line: bytes) -> bytes:
        if not line.startswith(b"data:") or self._ended:
            return b""  # comments (": keep-alive"), event:/id: fields, blank lines
        payload = line[5:].strip()
        if payload == b"[DONE]":
            return self._end()
        if not payload:
            return b""
        if self._started:
            try:
                fast = CHUNK.decode(payload)
            except msgspec.ValidationError:
                pass  # another shape: read whole, below
            except msgspec.DecodeError:
                raise self._broken(_not_a_chunk(payload)) from None
            else:
                if fast.error is UNSET:
                    return self._choices(fast)
        try:
            chunk = _decode(payload)
        except msgspec.DecodeError:
            chunk = None
        if not isinstance(chunk, dict):
            raise self._broken(_not_a_chunk(payload))
        if "error" in chunk and "choices" not in chunk:
            status = _status_of(chunk["error"])
            return self._error(status, payload)
        return self._chunk(chunk)

    def _chunk(self, chunk: dict[str, Any]) -> bytes:
        """A chunk CHUNK could not read (the first, or one of another shape), read as its
        typed view: what is not of the expected type is left out."""
        return self._start(chunk) + self._choices(as_chunk(chunk))

    def _choices(self, chunk: Chunk) -> bytes:
        """The events for a chunk's first choice (the usual one-delta chunk in one step)."""
        out = b""
        if chunk.usage:
            self._usage = chunk.usage
        choices = chunk.choices
        if choices and len(choices) == 1 and not self._calls:
            choice = choices[0]  # the usual chunk: one choice, one text or reasoning delta
            delta = choice.delta
            if choice.index == 0 and delta is not None and delta.tool_calls is None:
                if choice.finish_reason:
                    self._finish = choice.finish_reason
                if delta.content is NULL:
                    kind, text = "thinking", text_of(delta.reasoning_content)
                    text = text or text_of(delta.reasoning)
                elif delta.reasoning_content is NULL and delta.reasoning is NULL:
                    kind, text = "text", text_of(delta.content)
                else:
                    return self._delta(delta)
                if text is None:
                    return b""
                if self._open == kind:
                    return b"".join((self._delta_head, text, b"}}\n\n"))
                return self._text_like(kind, text)
        for choice in choices or ():
            if choice.index != 0:
                continue
            if choice.delta is not None:
                out += self._delta(choice.delta)
            if choice.finish_reason:
                self._finish = choice.finish_reason
        return out

    def _delta(self, delta: Delta) -> bytes:
        """Reasoning, text (strings passed on as raw JSON), then tool-call fragments."""
        out = b""
        reasoning = text_of(delta.reasoning_content) or text_of(delta.reasoning)
        if reasoning is not None:
            out = self._text_like("thinking", reasoning)
        text = text_of(delta.content)
        if text is not None:
            if self._calls:
                self._late_text.append(_decode(text))
            else:
                out += self._text_like("text", text)
        for call in delta.tool_calls or ():
            if isinstance(call, dict):
                out += self._tool_fragment(call)
        return out

    def _start(self, chunk: dict[str, Any]) -> bytes:
        if self._started:
            return b""
        self._started = True
        self._id = message_id(chunk.get("id"))
        if isinstance(chunk.get("model"), str) and chunk["model"]:
            self.model = chunk["model"]
        message: dict[str, Any] = {
            "id": self._id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return event("message_start", {"type": "message_start", "message": message})

    # -- blocks -----------------------------------------------------------------------------

    def _text_like(self, kind: str, text: bytes | Raw) -> bytes:
        """A thinking or text delta (`text`: a JSON string), opening its block if needed."""
        if self._open == kind:
            return b"".join((self._delta_head, text, b"}}\n\n"))
        if self._open == "tool":
            return b""  # reasoning after a tool call began: nowhere valid to put it
        out = self._close()
        block = (
            {"type": "thinking", "thinking": "", "signature": ""}
            if kind == "thinking"
            else {"type": "text", "text": ""}
        )
        out += self._open_block(kind, block)
        self._delta_head = DELTA_EVENT + str(self._next_block).encode() + DELTA_FIELD[kind]
        return b"".join((out, self._delta_head, text, b"}}\n\n"))

    def _tool_fragment(self, fragment: dict[str, Any]) -> bytes:
        index = self._index_of(fragment)
        call = self._calls.setdefault(index, _Call())
        function = fragment.get("function") if isinstance(fragment.get("function"), dict) else {}
        assert isinstance(function, dict)
        if isinstance(fragment.get("id"), str) and fragment["id"] and not call.id:
            call.id = fragment["id"]
        if isinstance(function.get("name"), str) and function["name"]:
            call.name = call.name or function["name"]
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            call.arguments.append(arguments)
        if self._live_call is None and call.name and self._open != "tool":
            self._live_call = index
            out = self._close()
            call.block = self._next_block
            out += self._open_block("tool", _tool_block(call))
            return out + self._flush_arguments(call)
        if self._live_call == index and call.block is not None:
            return self._flush_arguments(call)
        return b""

    def _index_of(self, fragment: dict[str, Any]) -> int:
        """The call a fragment belongs to: its `index`. Some endpoints (Gemini's) send each
        call whole without one: a fragment naming an id other than its index's call's is a
        new call."""
        index = fragment.get("index")
        new_id = fragment.get("id")
        if not isinstance(index, int):
            index = max(self._calls, default=0)
            if new_id and index in self._calls and self._calls[index].id not in ("", new_id):
                index += 1
        return index

    def _flush_arguments(self, call: _Call) -> bytes:
        if not call.arguments:
            return b""
        partial = "".join(call.arguments)
        call.arguments.clear()
        call.sent.append(partial)
        return self._block_delta({"type": "input_json_delta", "partial_json": partial})

    def _open_block(self, kind: str, block: dict[str, Any]) -> bytes:
        self._open = kind
        start = {"type": "content_block_start", "index": self._next_block, "content_block": block}
        return event("content_block_start", start)

    def _block_delta(self, delta: dict[str, Any]) -> bytes:
        data = {"type": "content_block_delta", "index": self._next_block, "delta": delta}
        return event("content_block_delta", data)

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        self._open = None
        index, self._next_block = self._next_block, self._next_block + 1
        return event("content_block_stop", {"type": "content_block_stop", "index": index})

    # -- the end ----------------------------------------------------------------------------

    def _end(self) -> bytes:
        if self._ended:
            return b""
        for index in sorted(self._calls):
            call = self._calls[index]
            if not _is_object("".join(call.sent) + "".join(call.arguments)):
                raise self._broken(
                    f"tool call {call.name or index!r} has arguments that are not a JSON object"
                )
        out = [self._start({}), self._close()]
        if self._late_text:
            out.append(self._text_like("text", _encode("".join(self._late_text))))
            out.append(self._close())
        for index in sorted(self._calls):
            call = self._calls[index]
            if index == self._live_call:
                continue
            out.append(self._open_block("tool", _tool_block(call)))
            out.append(self._flush_arguments(call))
            out.append(self._close())
        self._ended = True
        delta = {
            "type": "message_delta",
            "delta": {
                "stop_reason": stop_reason(self._finish, bool(self._calls)),
                "stop_sequence": None,
            },
            "usage": anthropic_usage(self._usage),
        }
        out += [event("message_delta", delta), event("message_stop", {"type": "message_stop"})]
        return b"".join(out)

    def _broken(self, why: str) -> BrokenStream:
        """The stream cannot be an answer: it says nothing more."""
        self._ended = True
        return BrokenStream(why)

    def _error(self, status: int, payload: bytes) -> bytes:
        """One `error` event; the stream says nothing after it."""
        self._ended = True
        _, body = translate_error(status, payload)
        return b"event: error\ndata: " + body + b"\n\n"


def _tool_block(call: _Call) -> dict[str, Any]:
    call.id = call.id or new_id("toolu_")
    return {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}


_ARGUMENTS = msgspec.json.Decoder(dict[str, Raw])  # an object; its values checked, not built


def _is_object(arguments: str) -> bool:
    """Tool-call arguments Anthropic's `input` can be: a JSON object ("" stands for {})."""
    if not arguments:
        return True
    try:
        _ARGUMENTS.decode(arguments)
    except msgspec.DecodeError:
        return False
    return True


def _not_a_chunk(payload: bytes) -> str:
    return f"a stream chunk that is not a JSON object: {payload[:60]!r}"


def _status_of(error: Any) -> int:
    """The HTTP status an in-stream error stands for (500 when it does not say)."""
    if isinstance(error, dict):
        for key in ("status", "code"):
            value = error.get(key)
            if isinstance(value, int) and 400 <= value < 600:
                return value
            if isinstance(value, str) and value.isdigit() and 400 <= int(value) < 600:
                return int(value)
        if "insufficient_quota" in str(error.get("code", "")) + str(error.get("type", "")):
            return 429
    return 500

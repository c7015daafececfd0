"""An Anthropic Messages request as an OpenAI Chat Completions request. Pure: plain values in,
plain values out, no I/O.

    to_chat_request(body, max_completion_tokens=..., reasoning_effort=...) -> dict

What Chat Completions has no field for is dropped, never forwarded: Claude Code's
context_management, output_config (but its effort, see below), metadata, cache_control,
defer_loading and the other tool extras, top_k, thinking blocks in the history (their
signatures mean nothing to another vendor). Mapped:

    system (string or text blocks)      -> a leading `system` message
    text, image (base64 or URL)         -> content parts (image_url with a data: URL)
    tool_use                            -> the assistant message's tool_calls
    tool_result (text, error, images)   -> `tool` messages (images follow in a user message)
    tools, tool_choice                  -> function tools, "auto"/"required"/"none"/{function}
    stop_sequences, temperature, top_p  -> stop, temperature, top_p
    max_tokens                          -> max_tokens, or max_completion_tokens
    thinking (+ output_config.effort)   -> reasoning_effort, where the endpoint takes it
"""

from __future__ import annotations

from typing import Any

import msgspec

# thinking.budget_tokens below each bound -> that reasoning_effort (else "high")
EFFORT_BOUNDS: tuple[tuple[int, str], ...] = ((4096, "low"), (16384, "medium"))
EFFORTS = ("low", "medium", "high")
ERROR_PREFIX = "[tool error] "
TOOL_IMAGE_NOTE = "(image returned by tool call {id})"
DOCUMENT_NOTE = "[document omitted: this backend cannot read it]"

Message = dict[str, Any]

_ENCODE = msgspec.json.Encoder().encode


def to_chat_request(
    body: dict[str, Any],
    *,
    max_completion_tokens: bool = False,
    reasoning_effort: bool = False,
) -> dict[str, Any]:
    """The Chat Completions request for Anthropic request `body` (already rewritten for
    the backend: model mapped, quirks applied)."""
    return chat_fields(
        body,
        chat_messages(body),
        chat_tools(body.get("tools")) or None,
        max_completion_tokens=max_completion_tokens,
        reasoning_effort=reasoning_effort,
    )


def chat_fields(
    body: dict[str, Any],
    messages: Any,
    tools: Any,
    *,
    max_completion_tokens: bool = False,
    reasoning_effort: bool = False,
) -> dict[str, Any]:
    """The request around its `messages` and `tools` (None: no tools), already translated
    (as values, or as raw JSON: openai_spans), from the body's other keys."""
    out: dict[str, Any] = {"model": body.get("model"), "messages": messages}
    if isinstance(body.get("max_tokens"), int):
        key = "max_completion_tokens" if max_completion_tokens else "max_tokens"
        out[key] = body["max_tokens"]
    for key in ("temperature", "top_p"):
        if isinstance(body.get(key), int | float) and not isinstance(body.get(key), bool):
            out[key] = body[key]
    stop = body.get("stop_sequences")
    if isinstance(stop, list) and stop:
        out["stop"] = [s for s in stop if isinstance(s, str)]
    if tools is not None:
        out["tools"] = tools
        out.update(chat_tool_choice(body.get("tool_choice")))
    if reasoning_effort:
        effort = effort_of(body)
        if effort is not None:
            out["reasoning_effort"] = effort
    if body.get("stream") is True:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


def chat_messages(body: dict[str, Any]) -> list[Message]:
    """`system` and `messages` as Chat Completions messages, in order."""
    out: list[Message] = []
    system = system_text(body.get("system"))
    if system:
        out.append({"role": "system", "content": system})
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            out += message_to_chat(message)
    return out


def system_text(system: Any) -> str:
    """A system prompt (a string, or a list of text blocks) as one string."""
    if isinstance(system, str):
        return system
    if isinstance(system, list):
        return "\n\n".join(_texts(system))
    return ""


def _texts(blocks: list[Any]) -> list[str]:
    return [
        b["text"]
        for b in blocks
        if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
    ]


def message_to_chat(message: dict[str, Any]) -> list[Message]:
    """One Anthropic message as the Chat Completions messages it becomes (one, or a
    turn's tool results and then the rest of it)."""
    role, content = message.get("role"), message.get("content")
    if role == "assistant":
        return [_assistant(content)]
    if role == "system":
        text = content if isinstance(content, str) else system_text(content)
        return [{"role": "system", "content": text}]
    return _user(content)


def _assistant(content: Any) -> Message:
    """Text blocks -> content; tool_use -> tool_calls; thinking blocks dropped."""
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "tool_use":
            calls.append(_tool_call(block))
    out: Message = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        out["tool_calls"] = calls
    elif out["content"] is None:
        out["content"] = ""
    return out


def _tool_call(block: dict[str, Any]) -> dict[str, Any]:
    arguments = _ENCODE(block.get("input") or {}).decode()  # compact, UTF-8 as is
    function = {"name": str(block.get("name", "")), "arguments": arguments}
    return {"id": str(block.get("id", "")), "type": "function", "function": function}


def _user(content: Any) -> list[Message]:
    """Tool results first (each a `tool` message, answering the previous assistant turn's
    tool_calls in order), then the rest of the turn as one user message."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    tools: list[Message] = []
    parts: list[dict[str, Any]] = []
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "tool_result":
            message, images = _tool_result(block)
            tools.append(message)
            parts += images
        else:
            part = content_part(block)
            if part is not None:
                parts.append(part)
    if parts:
        tools.append({"role": "user", "content": _simplify(parts)})
    return tools


def _simplify(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """Text-only content as a plain string (every endpoint takes that form)."""
    if all(p["type"] == "text" for p in parts):
        return "\n\n".join(p["text"] for p in parts)
    return parts


def content_part(block: dict[str, Any]) -> dict[str, Any] | None:
    """One content block as a Chat Completions content part (None: nothing to send)."""
    kind = block.get("type")
    if kind == "text" and isinstance(block.get("text"), str):
        return {"type": "text", "text": block["text"]}
    if kind == "image":
        url = image_url(block.get("source"))
        return {"type": "image_url", "image_url": {"url": url}} if url else None
    if kind == "document":
        source = block.get("source")
        if isinstance(source, dict) and source.get("type") == "text":
            return {"type": "text", "text": str(source.get("data", ""))}
        return {"type": "text", "text": DOCUMENT_NOTE}
    return None  # thinking, redacted_thinking, server tool blocks...


def image_url(source: Any) -> str | None:
    """An image source as the URL image_url takes: a data: URL for base64 data."""
    if not isinstance(source, dict):
        return None
    if source.get("type") == "base64":
        media = source.get("media_type") or "image/png"
        return f"data:{media};base64,{source.get('data', '')}"
    if source.get("type") == "url" and isinstance(source.get("url"), str):
        return str(source["url"])
    return None


def _tool_result(block: dict[str, Any]) -> tuple[Message, list[dict[str, Any]]]:
    """A tool_result as a `tool` message (its text), and its images as content parts for
    the user message that follows (a `tool` message holds text only)."""
    call_id = str(block.get("tool_use_id", ""))
    content = block.get("content")
    texts: list[str] = []
    images: list[dict[str, Any]] = []
    if isinstance(content, str):
        texts.append(content)
    for sub in content if isinstance(content, list) else []:
        part = content_part(sub) if isinstance(sub, dict) else None
        if part is None:
            continue
        if part["type"] == "text":
            texts.append(part["text"])
        else:
            images.append(part)
    text = "\n\n".join(texts)
    if block.get("is_error") is True:
        text = ERROR_PREFIX + text
    if images:
        note = TOOL_IMAGE_NOTE.format(id=call_id)
        images.insert(0, {"type": "text", "text": note})
        text = text or note
    return {"role": "tool", "tool_call_id": call_id, "content": text}, images


def chat_tools(tools: Any) -> list[dict[str, Any]]:
    """Client tools as function tools. Anthropic's server tools (web_search_..., a `type`
    other than "custom") have no Chat Completions form and are left out."""
    out = []
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, dict) or tool.get("type", "custom") != "custom":
            continue
        function: dict[str, Any] = {"name": str(tool.get("name", ""))}
        if isinstance(tool.get("description"), str):
            function["description"] = tool["description"]
        schema = tool.get("input_schema")
        function["parameters"] = schema if isinstance(schema, dict) else {"type": "object"}
        out.append({"type": "function", "function": function})
    return out


def chat_tool_choice(choice: Any) -> dict[str, Any]:
    """tool_choice (and disable_parallel_tool_use) as Chat Completions fields."""
    if not isinstance(choice, dict):
        return {}
    kind = choice.get("type")
    out: dict[str, Any] = {}
    if kind == "auto":
        out["tool_choice"] = "auto"
    elif kind == "any":
        out["tool_choice"] = "required"
    elif kind == "none":
        out["tool_choice"] = "none"
    elif kind == "tool":
        out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    if choice.get("disable_parallel_tool_use") is True and kind != "none":
        out["parallel_tool_calls"] = False
    return out


def effort_of(body: dict[str, Any]) -> str | None:
    """The reasoning_effort for the request's thinking: Claude Code's own effort when it
    names one, else by the thinking budget; None when thinking is off or absent."""
    thinking = body.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "adaptive"):
        return None
    config = body.get("output_config")
    effort = config.get("effort") if isinstance(config, dict) else None
    if effort in EFFORTS:
        return str(effort)
    if effort == "max":
        return "high"
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int):
        return "medium"
    return next((name for bound, name in EFFORT_BOUNDS if budget < bound), "high")

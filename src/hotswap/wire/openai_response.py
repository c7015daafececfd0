"""An OpenAI Chat Completions answer as Anthropic's: the message, its stop reason and usage,
and errors. Pure: plain values in, plain values out, no I/O.

    to_anthropic_message(completion, model)    a ChatCompletion -> an Anthropic message
    stop_reason(finish_reason, has_tool_calls) finish reasons -> stop reasons
    anthropic_usage(usage)                     usage (cached tokens too) -> Anthropic usage
    translate_error(status, body)           an error body -> (status, Anthropic error JSON)
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from hotswap.errors import ERROR_TYPES, error_body
from hotswap.router.exchange import usage_from

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
# Error codes and types whose words the fallback classifier reads (fallback.BODY_HINTS):
# kept in the message so a translated error is classified like the original.
KEPT_CODES = ("insufficient_quota", "spend_limit", "insufficient balance")
MAX_ERROR_MESSAGE = 2000


def stop_reason(finish_reason: Any, has_tool_calls: bool) -> str:
    """Anthropic's stop_reason for a Chat Completions finish_reason. A turn that made tool
    calls stops for them whatever the endpoint said (some say "stop")."""
    if has_tool_calls and finish_reason in (None, "stop", "tool_calls", "function_call"):
        return "tool_use"
    return STOP_REASONS.get(str(finish_reason), "end_turn")


def anthropic_usage(usage: Any) -> dict[str, int]:
    """Chat Completions usage (prompt tokens include cached ones) in Anthropic's terms."""
    u = usage_from(usage if isinstance(usage, dict) else None)
    return {
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cache_read_input_tokens": u.cache_read_tokens,
        "cache_creation_input_tokens": u.cache_write_tokens,
    }


def message_id(completion_id: Any) -> str:
    return f"msg_{completion_id}" if isinstance(completion_id, str) and completion_id else new_id()


def new_id(prefix: str = "msg_") -> str:
    return prefix + uuid.uuid4().hex[:24]


def reasoning_of(message: dict[str, Any]) -> str:
    """The reasoning text a message or delta carries: `reasoning_content` (DeepSeek, vLLM,
    Qwen) or `reasoning` (OpenRouter, Groq, Ollama)."""
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def tool_input(arguments: Any) -> dict[str, Any]:
    """A tool call's JSON arguments as the tool_use block's input (none: {}). ValueError
    when they are not a JSON object: a broken answer, never a call with other input."""
    if isinstance(arguments, dict):
        return arguments
    if arguments is None or arguments == "":
        return {}
    try:
        value = json.loads(arguments) if isinstance(arguments, str) else None
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise ValueError("a tool call has arguments that are not a JSON object")
    return value


def to_anthropic_message(completion: dict[str, Any], model: str | None = None) -> dict[str, Any]:
    """A ChatCompletion as an Anthropic Messages response."""
    choices = completion.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    assert isinstance(message, dict)
    content: list[dict[str, Any]] = []
    reasoning = reasoning_of(message)
    if reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    text = message.get("content")
    if isinstance(text, str) and text:
        content.append({"type": "text", "text": text})
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        content.append({"type": "text", "text": refusal})
    calls = [c for c in message.get("tool_calls") or [] if isinstance(c, dict)]
    for call in calls:
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        assert isinstance(function, dict)
        content.append(
            {
                "type": "tool_use",
                "id": str(call.get("id") or new_id("toolu_")),
                "name": str(function.get("name", "")),
                "input": tool_input(function.get("arguments")),
            }
        )
    return {
        "id": message_id(completion.get("id")),
        "type": "message",
        "role": "assistant",
        "model": str(completion.get("model") or model or ""),
        "content": content,
        "stop_reason": stop_reason(choice.get("finish_reason"), bool(calls)),
        "stop_sequence": None,
        "usage": anthropic_usage(completion.get("usage")),
    }


def error_fields(body: bytes) -> tuple[str, str]:
    """(code or type, message) of an OpenAI-style error body (`{"error": {...}}`, or a
    list of those, as Gemini sends); the raw text when it is not one."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "", body[:MAX_ERROR_MESSAGE].decode("utf-8", "replace").strip()
    if isinstance(parsed, list) and parsed:
        parsed = parsed[0]
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, str):
        return "", error
    if not isinstance(error, dict):
        return "", json.dumps(parsed)[:MAX_ERROR_MESSAGE]
    code = error.get("code") or error.get("type") or error.get("status") or ""
    return str(code), str(error.get("message", ""))[:MAX_ERROR_MESSAGE]


def translate_error(status: int, body: bytes) -> tuple[int, bytes]:
    """An upstream error response in Anthropic's shape, with the same status (so fallback
    classifies it as it would Anthropic's: 401/402/403 refusals, 429/5xx transient). A
    code the classifier reads (insufficient_quota) stays in the message. Rendered, as
    every error hotswap sends, by errors.error_body (errors.render_error renders
    hotswap's own errors; this translates a backend's)."""
    code, message = error_fields(body)
    if code and code.lower() not in message.lower():
        message = f"{message} ({code})" if message else code
    kind = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return status, error_body(kind, message or f"HTTP {status}")

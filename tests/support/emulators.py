"""Strict backend emulators: each rejects what its real backend is documented to reject,
with the documented status and error text (the vendors' docs, cited per rule;
docs/compatibility.md), and answers valid requests with its own signed thinking blocks.

The rules are pure functions (`check(name, body)`), so the conformance matrix can run both
through a real router (tests/test_conformance.py) and in-process (tests/gen_compat.py).
Rules marked ASSUMED reject something the docs list as unsupported without quoting the
error text; the text is ours.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from fakes import FakeUpstream, Received, block_events, encode_events, json_reply, sse_reply
from hotswap.router.sse import SSEParser

SHAPES_DIR = Path(__file__).resolve().parents[1] / "data" / "shapes"
CLOUD = ("anthropic", "deepseek", "openrouter", "fireworks", "kimi", "glm", "qwen", "minimax")
LOCAL = ("ollama", "llamacpp", "vllm", "sglang", "lmstudio")
BACKENDS = (*CLOUD, *LOCAL)
THINKING = ("thinking", "redacted_thinking")
MEDIA = ("image", "document")


@dataclass
class Rejection:
    status: int
    body: dict[str, Any]

    @property
    def message(self) -> str:
        err = self.body.get("error", {})
        return str(err.get("message", err))


Rule = Callable[[dict[str, Any]], Rejection | None]


# -- error envelopes, as each backend shapes them ------------------------------------------


def anthropic_error(
    message: str, status: int = 400, kind: str = "invalid_request_error"
) -> Rejection:
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_emu"}
    return Rejection(status, body)


def openai_style_error(message: str) -> Rejection:
    """DeepSeek / Moonshot: `{"error": {message, type, param, code}}`, no top-level type."""
    err = {"message": message, "type": "invalid_request_error", "param": None}
    return Rejection(400, {"error": {**err, "code": "invalid_request_error"}})


def zhipu_error(code: str, message: str, status: int = 400) -> Rejection:
    return Rejection(status, {"error": {"code": code, "message": message}})


# -- signatures: every emulator mints its own, only Anthropic checks them -----------------


def _mac(backend: str, text: str) -> str:
    key = f"emulator-key-{backend}".encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]


# Return thinking without a signature (exercises text provenance). The local servers too:
# Ollama's ToMessagesResponse sets no signature; vLLM's and llama.cpp's come from a
# Chat Completions reasoning field, which has none.
UNSIGNED = ("kimi", *LOCAL)


def mint_thinking(backend: str, text: str) -> dict[str, Any]:
    signature = "" if backend in UNSIGNED else f"{backend}:{_mac(backend, text)}"
    return {"type": "thinking", "thinking": text, "signature": signature}


def mint_redacted(backend: str, nonce: str) -> dict[str, Any]:
    return {"type": "redacted_thinking", "data": f"{nonce}.{_mac(backend, 'redacted' + nonce)}"}


def valid_thinking(backend: str, block: dict[str, Any]) -> bool:
    if block.get("type") == "redacted_thinking":
        nonce, _, mac = str(block.get("data", "")).partition(".")
        return hmac.compare_digest(mac, _mac(backend, "redacted" + nonce))
    expected = f"{backend}:{_mac(backend, str(block.get('thinking', '')))}"
    return hmac.compare_digest(str(block.get("signature", "")), expected)


# -- helpers over a request body ----------------------------------------------------------


def blocks(message: Any) -> list[dict[str, Any]]:
    content = message.get("content") if isinstance(message, dict) else None
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def each_block(body: dict[str, Any]) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """(message index, block index, block), looking inside tool_result contents too."""
    for i, message in enumerate(body.get("messages") or []):
        for j, block in enumerate(blocks(message)):
            yield i, j, block
            inner = block.get("content")
            if block.get("type") == "tool_result" and isinstance(inner, list):
                for sub in inner:
                    if isinstance(sub, dict):
                        yield i, j, sub


def thinking_type(body: dict[str, Any]) -> str | None:
    thinking = body.get("thinking")
    return thinking.get("type") if isinstance(thinking, dict) else None


def thinking_on(body: dict[str, Any], default_on: bool) -> bool:
    kind = thinking_type(body)
    return default_on if kind is None else kind in ("enabled", "adaptive")


def forced_tool_choice(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    kind = choice.get("type") if isinstance(choice, dict) else None
    return kind if kind in ("any", "tool") else None


def tool_turns(body: dict[str, Any]) -> list[int]:
    """Assistant turns with tool_use that are history (not a trailing prefill)."""
    messages = body.get("messages") or []
    return [
        i
        for i, m in enumerate(messages[:-1])
        if m.get("role") == "assistant" and any(b.get("type") == "tool_use" for b in blocks(m))
    ]


def tool_turn_without_thinking(body: dict[str, Any], nonempty: bool) -> int | None:
    """The first tool turn with no thinking block (`nonempty`: none with text), if thinking
    is on for a backend whose thinking is on by default; None otherwise."""
    if not thinking_on(body, True):
        return None
    messages = body.get("messages") or []
    for i in tool_turns(body):
        found = [b for b in blocks(messages[i]) if b.get("type") == "thinking"]
        if not (any(b.get("thinking") for b in found) if nonempty else found):
            return i
    return None


# -- rules shared by every Anthropic-compatible endpoint ----------------------------------


def rule_nonempty(body: dict[str, Any]) -> Rejection | None:
    messages = body.get("messages") or []
    for i, m in enumerate(messages):
        content = m.get("content")
        if not content and not (i == len(messages) - 1 and m.get("role") == "assistant"):
            return anthropic_error(
                f"messages.{i}: all messages must have non-empty content except for the "
                "optional final assistant message"
            )
    return None


def rule_tool_pairing(body: dict[str, Any]) -> Rejection | None:
    messages = body.get("messages") or []
    for i, m in enumerate(messages):
        previous = messages[i - 1] if i else {}
        ids = {b.get("id") for b in blocks(previous) if b.get("type") == "tool_use"}
        for j, b in enumerate(blocks(m)):
            if b.get("type") == "tool_result" and b.get("tool_use_id") not in ids:
                return anthropic_error(
                    f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` "
                    f"blocks: {b.get('tool_use_id')}. Each `tool_result` block must have a "
                    "corresponding `tool_use` block in the previous message."
                )
    return None


COMMON: tuple[Rule, ...] = (rule_nonempty, rule_tool_pairing)


# -- Anthropic ------------------------------------------------------------------------------

FINAL_TURN_RULE = (
    "messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{found}`. "
    "When `thinking` is enabled, a final `assistant` message must start with a thinking block "
    "(preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you "
    "include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. "
    "Please consult our documentation at "
    "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
)


def ant_signatures(body: dict[str, Any]) -> Rejection | None:
    """anthropics/claude-code#10627, anomalyco/opencode#25005."""
    for i, m in enumerate(body.get("messages") or []):
        for j, b in enumerate(blocks(m)):
            if b.get("type") == "thinking" and "signature" not in b:
                return anthropic_error(
                    f"messages.{i}.content.{j}.thinking.signature: Field required"
                )
            if b.get("type") in THINKING and not valid_thinking("anthropic", b):
                field_name = "signature" if b["type"] == "thinking" else "data"
                return anthropic_error(
                    f"messages.{i}.content.{j}: Invalid `{field_name}` in `{b['type']}` block"
                )
    return None


def ant_final_turn(body: dict[str, Any]) -> Rejection | None:
    """n8n-io/n8n#22550, OpenRouterTeam/ai-sdk-provider#162 (verbatim, typo included)."""
    if not thinking_on(body, False):
        return None
    messages = body.get("messages") or []
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
    if last is None or last not in tool_turns(body):
        return None
    first = blocks(messages[last])[0]["type"] if blocks(messages[last]) else "nothing"
    if first not in THINKING:
        return anthropic_error(FINAL_TURN_RULE.format(i=last, found=first))
    return None


def ant_disabled_prefill(body: dict[str, Any]) -> Rejection | None:
    """tailcallhq/forgecode#1853."""
    messages = body.get("messages") or []
    if thinking_on(body, False) or not messages or messages[-1].get("role") != "assistant":
        return None
    if any(b.get("type") in THINKING for b in blocks(messages[-1])):
        return anthropic_error(
            f"messages.{len(messages) - 1}.content.0: When thinking is disabled, an `assistant` "
            "message in the final position cannot contain `thinking`. To use thinking blocks, "
            "enable `thinking` in your request."
        )
    return None


def ant_thinking_last(body: dict[str, Any]) -> Rejection | None:
    """tailcallhq/forgecode#2107."""
    for i, m in enumerate(body.get("messages") or []):
        content = blocks(m)
        if m.get("role") == "assistant" and content and content[-1].get("type") == "thinking":
            return anthropic_error(
                f"messages.{i}: The final block in an assistant message cannot be `thinking`."
            )
    return None


def ant_clear_thinking(body: dict[str, Any]) -> Rejection | None:
    """anthropics/claude-code#11971."""
    cm = body.get("context_management")
    edits = cm.get("edits") if isinstance(cm, dict) else None
    for edit in edits or []:
        kind = str(edit.get("type", ""))
        if kind.startswith("clear_thinking") and not thinking_on(body, False):
            return anthropic_error(f"`{kind}` strategy requires `thinking` to be enabled")
    return None


def ant_forced_tool(body: dict[str, Any]) -> Rejection | None:
    """mastra-ai/mastra#7507."""
    if forced_tool_choice(body) and thinking_on(body, False):
        return anthropic_error("Thinking may not be enabled when tool_choice forces tool use.")
    return None


# -- DeepSeek ---------------------------------------------------------------------------------


def ds_thinking_passback(body: dict[str, Any]) -> Rejection | None:
    """OEvortex/aether#31, QwenLM/qwen-code#3788: an empty thinking block is accepted."""
    if tool_turn_without_thinking(body, nonempty=False) is not None:
        return openai_style_error(
            "The `content[].thinking` in the thinking mode must be passed back to the API."
        )
    return None


def ds_unsupported_blocks(body: dict[str, Any]) -> Rejection | None:
    """ASSUMED text: the compat table lists image/document/redacted_thinking as not supported."""
    for i, j, b in each_block(body):
        if b.get("type") in (*MEDIA, "redacted_thinking"):
            return openai_style_error(f"messages[{i}].content[{j}]: unsupported type `{b['type']}`")
    return None


# -- OpenRouter / Fireworks -------------------------------------------------------------------


def extra_inputs(allowed: set[str]) -> Rule:
    """Pydantic-style strict schemas: `<field>: Extra inputs are not permitted`."""

    def rule(body: dict[str, Any]) -> Rejection | None:
        for key in body:
            if key not in allowed:
                return anthropic_error(f"{key}: Extra inputs are not permitted")
        return None

    return rule


def no_context_management(body: dict[str, Any]) -> Rejection | None:
    """anthropics/claude-code#14135 (relays, OpenRouter-style gateways)."""
    return extra_inputs(set(body) - {"context_management"})(body)


FIREWORKS_KEYS = {
    "model",
    "messages",
    "system",
    "max_tokens",
    "metadata",
    "stop_sequences",
    "stream",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
    "thinking",
    "output_config",
    "service_tier",
}
FIREWORKS_TOOL_KEYS = {"name", "description", "input_schema", "type"}


def fw_tools(body: dict[str, Any]) -> Rejection | None:
    """docs.fireworks.ai anthropic-compatibility: no cache_control/eager_input_streaming on
    tools; unknown fields -> "Extra inputs are not permitted"."""
    for i, tool in enumerate(body.get("tools") or []):
        for key in tool:
            if key not in FIREWORKS_TOOL_KEYS:
                return anthropic_error(f"tools.{i}.{key}: Extra inputs are not permitted")
    for i, j, b in each_block(body):
        if b.get("type") == "tool_reference":
            return anthropic_error(f"messages.{i}.content.{j}: Input tag 'tool_reference' found")
    return None


def fw_adaptive(body: dict[str, Any]) -> Rejection | None:
    """ASSUMED text: "`adaptive` thinking type is not supported yet" (Fireworks docs)."""
    if thinking_type(body) == "adaptive":
        return anthropic_error("thinking.type: `adaptive` is not supported yet")
    return None


# -- Kimi ---------------------------------------------------------------------------------------

ALWAYS_THINKING = ("kimi-k3", "kimi-k2.7-code")


def kimi_thinking_type(body: dict[str, Any]) -> Rejection | None:
    """MoonshotAI/Kimi-K2#141."""
    always = str(body.get("model", "")).startswith(ALWAYS_THINKING)
    if always and thinking_type(body) not in (None, "enabled"):
        return openai_style_error("invalid thinking: only type=enabled is allowed for this model")
    return None


def kimi_reasoning(body: dict[str, Any]) -> Rejection | None:
    """farion1231/cc-switch#3351: every tool-call turn needs (non-empty) reasoning."""
    i = tool_turn_without_thinking(body, nonempty=True)
    if i is not None:
        return openai_style_error(
            "thinking is enabled but reasoning_content is missing in assistant tool call "
            f"message at index {i}"
        )
    return None


def kimi_forced_tool(body: dict[str, Any]) -> Rejection | None:
    """can1357/oh-my-pi#1077, AstrBotDevs/AstrBot#7805."""
    kind = forced_tool_choice(body)
    if kind and thinking_on(body, True):
        what = "'required'" if kind == "any" else "specified"
        return openai_style_error(f"tool_choice {what} is incompatible with thinking enabled")
    return None


# -- GLM, Qwen, MiniMax ---------------------------------------------------------------------

GLM_KEYS = {
    "model",
    "messages",
    "system",
    "max_tokens",
    "metadata",
    "stop_sequences",
    "stream",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
    "thinking",
}


def glm_max_tokens(body: dict[str, Any]) -> Rejection | None:
    """zai-org/zai-coding-plugins#15 (a 500, verbatim)."""
    if body.get("max_tokens") is None:
        message = "[500]['>' not supported between instances of 'int' and 'NoneType']"
        err = {"type": "api_error", "code": "500", "message": message}
        return Rejection(500, {"type": "error", "error": err})
    return None


def glm_params(body: dict[str, Any]) -> Rejection | None:
    """cline/cline#9939: unsupported parameters -> code 1210."""
    if set(body) - GLM_KEYS:
        return zhipu_error("1210", "Invalid API parameter, please check the documentation.")
    return None


def qwen_forced_tool(body: dict[str, Any]) -> Rejection | None:
    """cloudwego/eino#994."""
    if forced_tool_choice(body) and thinking_on(body, False):
        return anthropic_error(
            "<400> InternalError.Algo.InvalidParameter: The tool_choice parameter does not "
            "support being set to required or object in thinking mode"
        )
    return None


def no_media(body: dict[str, Any]) -> Rejection | None:
    """ASSUMED text: MiniMax "no image/document input" (compat table)."""
    for i, j, b in each_block(body):
        if b.get("type") in MEDIA:
            return anthropic_error(f"messages.{i}.content.{j}: {b['type']} input is not supported")
    return None


# -- local servers (docs/compatibility.md, "Local servers") ----------------------------------


def ollama_image_source(body: dict[str, Any]) -> Rejection | None:
    """ollama/ollama anthropic/anthropic.go, resolveImageSource (verbatim); the docs list
    "Image content (base64)" only."""
    for _, _, b in each_block(body):
        source = b.get("source") if b.get("type") == "image" else None
        if isinstance(source, dict) and source.get("type") != "base64":
            return anthropic_error(
                f"invalid image source type: {source.get('type')}. Only base64 images are "
                "supported."
            )
    return None


def ollama_tool_use_fields(body: dict[str, Any]) -> Rejection | None:
    """ollama/ollama anthropic/anthropic.go, convertMessage (verbatim)."""
    for _, _, b in each_block(body):
        if b.get("type") == "tool_use":
            for field_name in ("id", "name"):
                if not b.get(field_name):
                    return anthropic_error(f"tool_use block missing required '{field_name}' field")
    return None


VLLM_BLOCKS = ("text", "image", "tool_use", "tool_result", "thinking")
VLLM_TOOL_CHOICES = ("auto", "any", "tool")


def vllm_schema(body: dict[str, Any]) -> Rejection | None:
    """vllm/entrypoints/anthropic/protocol.py: AnthropicContentBlock.type, AnthropicTool
    (input_schema required) and AnthropicToolChoice.type are closed pydantic fields; the
    message is pydantic's (the text around it is ours)."""
    for i, m in enumerate(body.get("messages") or []):
        for j, b in enumerate(blocks(m)):
            if b.get("type") not in VLLM_BLOCKS:
                allowed = ", ".join(f"'{t}'" for t in VLLM_BLOCKS)
                return anthropic_error(f"messages.{i}.content.{j}.type: Input should be {allowed}")
    for i, tool in enumerate(body.get("tools") or []):
        if "input_schema" not in tool:
            return anthropic_error(f"tools.{i}.input_schema: Field required")
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") not in VLLM_TOOL_CHOICES:
        return anthropic_error("tool_choice.type: Input should be 'auto', 'any' or 'tool'")
    return None


@dataclass(frozen=True)
class Profile:
    rules: tuple[Rule, ...]
    thinking_default_on: bool = False


PROFILES: dict[str, Profile] = {
    "anthropic": Profile(
        (
            ant_signatures,
            ant_final_turn,
            ant_disabled_prefill,
            ant_thinking_last,
            ant_clear_thinking,
            ant_forced_tool,
        )
    ),
    "deepseek": Profile((ds_thinking_passback, ds_unsupported_blocks), thinking_default_on=True),
    "openrouter": Profile((no_context_management,)),
    "fireworks": Profile((extra_inputs(FIREWORKS_KEYS), fw_tools, fw_adaptive)),
    "kimi": Profile(
        (kimi_thinking_type, kimi_reasoning, kimi_forced_tool), thinking_default_on=True
    ),
    "glm": Profile((glm_max_tokens, glm_params), thinking_default_on=True),
    "qwen": Profile((qwen_forced_tool,)),
    "minimax": Profile((no_media,)),
    "ollama": Profile((ollama_image_source, ollama_tool_use_fields)),
    "llamacpp": Profile(()),  # documents no refusal of what Claude Code sends
    "vllm": Profile((vllm_schema,)),
    "sglang": Profile(()),  # documents no refusal of what Claude Code sends
    "lmstudio": Profile(()),  # documents no refusal of what Claude Code sends
}
# Emulators that take Claude Code's requests unchanged (no documented refusal of them).
ACCEPT_RAW = ("llamacpp", "sglang", "lmstudio", "ollama")


def check(backend: str, body: dict[str, Any]) -> Rejection | None:
    """The first rule `body` breaks on `backend`, or None if the backend would accept it."""
    for rule in (*COMMON, *PROFILES[backend].rules):
        rejection = rule(body)
        if rejection is not None:
            return rejection
    return None


# -- replies ------------------------------------------------------------------------------------

_counter = itertools.count(1)


def reply_message(backend: str, body: dict[str, Any], turn: list[dict[str, Any]]) -> dict[str, Any]:
    """What `backend` answers: its own thinking (when on) and then `turn`'s blocks."""
    content: list[dict[str, Any]] = []
    n = next(_counter)
    if thinking_on(body, PROFILES[backend].thinking_default_on):
        content.append(mint_thinking(backend, f"{backend} reasoning #{n}"))
        if backend == "anthropic":
            content.append(mint_redacted(backend, f"n{n}"))
    content += copy.deepcopy(turn)
    stop = "tool_use" if any(b["type"] == "tool_use" for b in turn) else "end_turn"
    return {
        "id": f"msg_{backend}_{n}",  # unique: Claude Code merges turns sharing an id
        "type": "message",
        "role": "assistant",
        "model": str(body.get("model", backend)),
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }


def message_to_events(message: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """An Anthropic stream for `message` (the deltas Claude Code reassembles)."""
    start = {**message, "content": [], "stop_reason": None}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start})
    ]
    for i, block in enumerate(message["content"]):
        events += block_events(i, block)
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    events += [
        ("message_delta", {"type": "message_delta", "delta": delta, "usage": {"output_tokens": 5}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


def collect_stream(raw: bytes) -> dict[str, Any]:
    """Reassemble a streamed message the way Claude Code does (for the history)."""
    message: dict[str, Any] = {}
    partial: dict[int, str] = {}
    for event in SSEParser().feed(raw):
        if not event.data:
            continue
        obj = json.loads(event.data)
        if event.name == "message_start":
            message = obj["message"]
            message["content"] = []
        elif event.name == "content_block_start":
            message["content"].append(dict(obj["content_block"]))
        elif event.name == "content_block_delta":
            _apply_delta(message["content"][obj["index"]], obj["delta"], partial, obj["index"])
        elif event.name == "content_block_stop" and obj["index"] in partial:
            message["content"][obj["index"]]["input"] = json.loads(
                partial.pop(obj["index"]) or "{}"
            )
        elif event.name == "error":
            raise AssertionError(f"stream carried an error: {obj}")
    return message


def _apply_delta(
    block: dict[str, Any], delta: dict[str, Any], partial: dict[int, str], i: int
) -> None:
    kind = delta["type"]
    if kind == "thinking_delta":
        block["thinking"] += delta["thinking"]
    elif kind == "signature_delta":
        block["signature"] = block.get("signature", "") + delta["signature"]
    elif kind == "text_delta":
        block["text"] += delta["text"]
    elif kind == "input_json_delta":
        partial[i] = partial.get(i, "") + delta["partial_json"]


# -- the emulator server --------------------------------------------------------------------


@dataclass
class Emulator(FakeUpstream):
    """A FakeUpstream that enforces PROFILES[name] and answers with its own thinking.

    `turns` scripts what the model says (blocks without thinking); default: a short text.
    `rejections` lists every request it refused.
    """

    turns: list[list[dict[str, Any]]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self.received.append(
            Received(request.method, request.path_qs, CIMultiDict(request.headers), raw)
        )
        body = json.loads(raw)
        if request.path.endswith("/count_tokens"):
            return await json_reply(200, {"input_tokens": 42})(request)
        rejection = check(self.name, body)
        if rejection is not None:
            self.rejections.append(rejection)
            return await json_reply(rejection.status, rejection.body)(request)
        turn = (
            self.turns.pop(0) if self.turns else [{"type": "text", "text": f"ok from {self.name}"}]
        )
        message = reply_message(self.name, body, turn)
        if body.get("stream"):
            return await sse_reply(encode_events(message_to_events(message)))(request)
        return await json_reply(200, message)(request)


# -- shapes and origins -------------------------------------------------------------------------


def load_shapes() -> dict[str, dict[str, Any]]:
    """Recorded Claude Code requests (tests/record_shapes.py), plus derived variants."""
    shapes = {p.stem: json.loads(p.read_text()) for p in sorted(SHAPES_DIR.glob("*.json"))}
    plain = copy.deepcopy(shapes["plain"])
    plain["name"] = "forced_tool_choice"
    plain["description"] = "derived from plain: tool_choice forces the Bash tool"
    plain["body"]["tool_choice"] = {"type": "tool", "name": "Bash"}
    shapes["forced_tool_choice"] = plain
    return shapes


def has_thinking(body: dict[str, Any]) -> bool:
    return any(b.get("type") in THINKING for _, _, b in each_block(body))


def with_origin(body: dict[str, Any], origin: str | None) -> dict[str, Any]:
    """A copy of `body` whose thinking blocks were produced by `origin` (None: as recorded,
    i.e. of unknown provenance)."""
    body = copy.deepcopy(body)
    if origin is None:
        return body
    for message in body.get("messages") or []:
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for j, block in enumerate(content):
            if isinstance(block, dict) and block.get("type") == "thinking":
                content[j] = mint_thinking(origin, block["thinking"])
            elif isinstance(block, dict) and block.get("type") == "redacted_thinking":
                content[j] = (
                    mint_redacted(origin, block["data"])
                    if origin == "anthropic"
                    else mint_thinking(origin, "(was redacted) " + block["data"])
                )
    return body


def thinking_keys(body: dict[str, Any]) -> list[str]:
    from hotswap.rules.thinking import block_key

    keys = [block_key(b) for _, _, b in each_block(body) if b.get("type") in THINKING]
    return [k for k in keys if k]


# Mid-conversation switches: each step answers a tool call (the last one a text).
SEQUENCES: tuple[tuple[str, ...], ...] = (
    ("anthropic", "deepseek", "anthropic", "kimi", "anthropic"),
    ("deepseek", "anthropic", "deepseek", "kimi", "deepseek"),
    ("kimi", "anthropic", "kimi", "glm", "anthropic"),
    ("anthropic", "glm", "qwen", "minimax", "fireworks", "openrouter", "anthropic"),
    ("openrouter", "fireworks", "anthropic", "deepseek", "anthropic", "anthropic"),
    ("anthropic", "ollama", "anthropic", "vllm", "llamacpp", "sglang", "lmstudio", "anthropic"),
)


def tool_turn(step: int) -> list[dict[str, Any]]:
    call = {"command": f"echo step {step}", "description": "step"}
    return [
        {"type": "text", "text": f"Step {step}."},
        {"type": "tool_use", "id": f"toolu_seq{step}", "name": "Bash", "input": call},
    ]


def tool_result(step: int) -> dict[str, Any]:
    result = {"type": "tool_result", "tool_use_id": f"toolu_seq{step}", "content": f"step {step}"}
    return {"role": "user", "content": [result]}


# -- the matrix, in-process (the router's pure rewrite + the emulator's rules) ------------------


@dataclass
class Cell:
    shape: str
    backend: str
    origin: str  # "-" (no thinking in history), "unknown", or the backend that produced it
    rejection: Rejection | None
    notes: list[str]


def origins_for(shape: dict[str, Any], backend: str) -> list[str | None]:
    if not has_thinking(shape["body"]):
        return [None]
    return [None, "anthropic"] + ([backend] if backend != "anthropic" else [])


def origin_label(shape: dict[str, Any], origin: str | None) -> str:
    if not has_thinking(shape["body"]):
        return "-"
    return origin or "unknown"


def run_cell(shape: dict[str, Any], backend: str, origin: str | None) -> Cell:
    """One request: history from `origin`, sent to `backend` (pure, no router)."""
    from hotswap.config.backends import PRESETS
    from hotswap.rules.rewrite import request_changes
    from hotswap.rules.thinking import ThinkingOrigins

    body = with_origin(shape["body"], origin)
    registry = ThinkingOrigins()
    if origin:
        registry.record(origin, thinking_keys(body))
    payload = json.loads(json.dumps(body))
    notes = request_changes(payload, PRESETS[backend], registry.origin)
    label = origin_label(shape, origin)
    return Cell(shape["name"], backend, label, check(backend, payload), notes)


@dataclass
class Step:
    backend: str
    rejection: Rejection | None
    notes: list[str]
    kept_own: int  # thinking blocks of this backend's own that reached it


def sequence_template(shapes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A tool-loop request of Claude Code's, history emptied down to the first prompt."""
    body = copy.deepcopy(shapes["tool_loop"]["body"])
    body["messages"] = [m for m in body["messages"] if m["role"] != "assistant"][:2]
    return body


def run_sequence(template: dict[str, Any], sequence: tuple[str, ...]) -> list[Step]:
    """A conversation switching backends at every step (pure, no router)."""
    from hotswap.config.backends import PRESETS
    from hotswap.rules.rewrite import request_changes
    from hotswap.rules.thinking import ThinkingOrigins

    registry, history, steps = ThinkingOrigins(), list(template["messages"]), []
    for n, backend in enumerate(sequence):
        payload = json.loads(json.dumps({**template, "messages": history}))
        notes = request_changes(payload, PRESETS[backend], registry.origin)
        rejection = check(backend, payload)
        steps.append(Step(backend, rejection, notes, own_blocks(backend, payload)))
        last = n == len(sequence) - 1
        turn = [{"type": "text", "text": "Done."}] if last else tool_turn(n)
        message = reply_message(backend, payload, turn)
        registry.record(backend, thinking_keys({"messages": [message]}))
        history = append_turn(history, message, n, last)
    return steps


def append_turn(
    history: list[dict[str, Any]], message: dict[str, Any], n: int, last: bool
) -> list[dict[str, Any]]:
    """The history as Claude Code keeps it after a reply (and the tool's result)."""
    turn = {"role": "assistant", "content": message["content"]}
    return [*history, turn] if last else [*history, turn, tool_result(n)]


def own_blocks(backend: str, body: dict[str, Any]) -> int:
    """How many thinking blocks in `body` this backend itself minted."""
    count = 0
    for _, _, b in each_block(body):
        if b.get("type") == "redacted_thinking" and backend == "anthropic":
            count += valid_thinking(backend, b)
        elif b.get("type") == "thinking" and b.get("thinking", "").startswith(f"{backend} "):
            count += 1
    return count

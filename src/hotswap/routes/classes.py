"""Request classes: what kind of request this is, decided from what it carries, cheaply.

Each class is one predicate over the request, evaluated only when a route asks for it
(`Facts` keeps what it has read), from the body layer's split (undecoded JSON spans) and
the headers; nothing here decodes the conversation. The signals are those the pinned
Claude Code (2.1.332) really sends, recorded in tests/data/routes/ and described with
their evidence in docs/claude-code.md:

- subagent      the `x-claude-code-agent-id` header: Claude Code sends it on every
                request of an Agent (Task) subagent, and on no main-conversation request.
- background    a request Claude Code makes on its own, not a turn of the agent loop: it
                offers no tools (`tools` absent or `[]`: the session title, summaries of
                its own) or asks for at most one token (a quota check); a subagent is never
                background. Every agent turn, main or subagent, carries its tool list.
- haiku, sonnet, opus   the tier named in the requested model (`claude-haiku-5-5`...).
- long_context  the input estimated from the body's size (bytes / BYTES_PER_TOKEN) above the
                route's `above_tokens`.
- image         an image block in the turns after the last assistant turn (the user's new
                message, or a tool_result the Read tool filled with an image).
- web_search    an Anthropic server tool (`web_search_*`, `web_fetch_*` types) in `tools`.
- thinking      `thinking` present and not `{"type": "disabled"}`.
"""

from __future__ import annotations

from collections.abc import Mapping

from hotswap.body import RequestBody
from hotswap.config.routes import CLASSES
from hotswap.config.windows import BYTES_PER_TOKEN

AGENT_HEADER = "x-claude-code-agent-id"
_SERVER_TOOLS = (b'"web_search_', b'"web_fetch_')
_TIERS = ("haiku", "sonnet", "opus")


class Facts:
    """One request's classes, each read the first time a route asks."""

    __slots__ = ("_body", "_headers", "_known", "_tools")

    def __init__(self, body: RequestBody, headers: Mapping[str, str]) -> None:
        self._body = body
        self._headers = headers
        self._known: dict[str, bool] = {}
        self._tools: bytes | bool | None = False  # False: not read yet

    def tools(self) -> bytes | None:
        """`tools` as the client wrote it (tens of KB in Claude Code's requests), read once."""
        if self._tools is False:
            self._tools = self._body.raw_value("tools")
        return self._tools  # type: ignore[return-value]

    def is_(self, when: str, above_tokens: int = 0) -> bool:
        """Whether the request is of class `when` (long_context: above `above_tokens`)."""
        if when == "long_context":
            return self._body.size // BYTES_PER_TOKEN > above_tokens
        found = self._known.get(when)
        if found is None:
            found = self._known[when] = _TESTS[when](self)
        return found

    def subagent(self) -> bool:
        return AGENT_HEADER in self._headers

    def background(self) -> bool:
        if self.is_("subagent"):
            return False
        tools = self.tools()
        if tools is None or (len(tools) < 64 and _blank_list(tools.strip())):
            return True
        max_tokens = self._body.raw_value("max_tokens")
        return max_tokens is not None and max_tokens.strip() in (b"0", b"1")

    def tier(self) -> str | None:
        model = (self._body.model or "").lower()
        return next((t for t in _TIERS if t in model), None)

    def image(self) -> bool:
        return self._body.new_turns_hold("image")

    def web_search(self) -> bool:
        tools = self.tools()
        return tools is not None and any(t in tools for t in _SERVER_TOOLS)

    def thinking(self) -> bool:
        value = self._body.raw_value("thinking")
        if value is None or value.strip() == b"null":
            return False
        return b'"disabled"' not in value


def _blank_list(raw: bytes) -> bool:
    """`[]`, or `[ ]` spelt with whitespace inside."""
    return raw.startswith(b"[") and raw.endswith(b"]") and not raw[1:-1].strip()


_TESTS = {
    "subagent": Facts.subagent,
    "background": Facts.background,
    "haiku": lambda f: f.tier() == "haiku",
    "sonnet": lambda f: f.tier() == "sonnet",
    "opus": lambda f: f.tier() == "opus",
    "image": Facts.image,
    "web_search": Facts.web_search,
    "thinking": Facts.thinking,
}


def classes(body: RequestBody, headers: Mapping[str, str], above_tokens: int) -> list[str]:
    """Every class the request is of (for tests, docs and `hotswap routes`; the router asks
    `Facts.is_` one route at a time instead)."""
    facts = Facts(body, headers)
    return [c for c in CLASSES if facts.is_(c, above_tokens)]

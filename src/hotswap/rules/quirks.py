"""Apply a backend's Quirks (backends.py) to a request body. Pure, table-driven.

Every rule reads one Quirks field; none asks which backend this is. Like thinking.py,
only top-level keys of the body are replaced: nested lists and dicts are copied before a
change, never edited, because the proxy may retry the original body elsewhere.

What the rules read is declared by `reads` (reads.py): the body layer decodes exactly that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hotswap.config.backends import Quirks
from hotswap.rules.reads import Reads

BILLING_PREFIX = "x-anthropic-billing-header:"
MEDIA_TYPES = ("image", "document")
MEDIA_NOTE = "[{kind} omitted: the active model cannot read it; switch backends to see it]"

BlockFn = Callable[[dict[str, Any]], dict[str, Any]]
BlockRule = tuple[BlockFn, str]  # the rewrite of one block type, and its note


def apply_quirks(body: dict[str, Any], quirks: Quirks, *, count_tokens: bool = False) -> list[str]:
    """Rewrite `body` for a backend with these quirks; the notes say what changed."""
    notes: list[str] = []
    for key in quirks.drop_fields:
        if key in body:
            del body[key]
            notes.append(f"{key} dropped")
    notes += _max_tokens(body, quirks, count_tokens)
    notes += _tools(body, quirks.drop_tool_fields)
    if quirks.drop_billing_header:
        notes += _billing_header(body)
    rules = _block_rules(quirks)
    if rules:
        notes += _rewrite_blocks(body, rules)
    return notes


def reads(quirks: Quirks) -> Reads:
    """What apply_quirks reads, for these quirks: the keys it drops or clamps, `tools` when
    it drops tool fields, `system` for the billing line, and the block types it rewrites
    wherever they are (every message: assistant turns whole, user turns by block type)."""
    top = {*quirks.drop_fields, "max_tokens"}
    if quirks.drop_tool_fields:
        top.add("tools")
    if quirks.drop_billing_header:
        top.add("system")
    kinds = rewritten_block_types(quirks)
    if kinds:
        top.add("messages")
    return Reads(frozenset(top), bool(kinds), kinds)


def rewritten_block_types(quirks: Quirks) -> frozenset[str]:
    """The content block types these quirks rewrite wherever they are, in any message."""
    return frozenset(_block_rules(quirks))


def _block_rules(quirks: Quirks) -> dict[str, BlockRule]:
    """The block rules these quirks turn on (a constant table: never changed)."""
    return _BLOCK_RULES[quirks.text_only, quirks.tool_reference_as_text]


def _max_tokens(body: dict[str, Any], quirks: Quirks, count_tokens: bool) -> list[str]:
    max_tokens = body.get("max_tokens")
    if max_tokens is None and quirks.max_tokens_default and not count_tokens:
        body["max_tokens"] = quirks.max_tokens_default
        return [f"max_tokens set to {quirks.max_tokens_default}"]
    cap = quirks.max_tokens_cap
    if cap and isinstance(max_tokens, int) and max_tokens > cap:
        body["max_tokens"] = cap
        return [f"max_tokens clamped to {cap}"]
    return []


def _tools(body: dict[str, Any], drop: tuple[str, ...]) -> list[str]:
    if not drop:  # before reading `tools`: a read decodes it (body.LazyBody)
        return []
    tools = body.get("tools")
    if not isinstance(tools, list):
        return []
    fixed: list[Any] = []
    hits: set[str] = set()
    for tool in tools:
        if isinstance(tool, dict) and any(k in tool for k in drop):
            hits.update(k for k in drop if k in tool)
            tool = {k: v for k, v in tool.items() if k not in drop}
        fixed.append(tool)
    if not hits:
        return []
    body["tools"] = fixed
    return [f"tools: {', '.join(sorted(hits))} dropped"]


def _billing_header(body: dict[str, Any]) -> list[str]:
    """Claude Code's first system block changes every request; cache prefixes need it gone."""
    system = body.get("system")
    if isinstance(system, str) and system.startswith(BILLING_PREFIX):
        body["system"] = system.partition("\n")[2]
        return ["billing header dropped"]
    if not isinstance(system, list) or not system:
        return []
    first = system[0]
    if isinstance(first, dict) and str(first.get("text", "")).startswith(BILLING_PREFIX):
        body["system"] = system[1:]
        return ["billing header dropped"]
    return []


def _media_to_text(block: dict[str, Any]) -> dict[str, Any]:
    kind = block.get("type")
    if kind in MEDIA_TYPES:
        return {"type": "text", "text": MEDIA_NOTE.format(kind=kind)}
    return block


def _tool_reference_to_text(block: dict[str, Any]) -> dict[str, Any]:
    if block.get("type") == "tool_reference":
        return {"type": "text", "text": f"Tool loaded: {block.get('tool_name', '?')}"}
    return block


def _rules_for(text_only: bool, tool_reference_as_text: bool) -> dict[str, BlockRule]:
    rules: dict[str, BlockRule] = {}
    if text_only:
        rules |= {kind: (_media_to_text, "image/document -> text note") for kind in MEDIA_TYPES}
    if tool_reference_as_text:
        rules["tool_reference"] = (_tool_reference_to_text, "tool_reference -> text")
    return rules


_BLOCK_RULES = {(t, r): _rules_for(t, r) for t in (False, True) for r in (False, True)}


def _rewrite_blocks(body: dict[str, Any], rules: dict[str, BlockRule]) -> list[str]:
    """Apply the rule for its type to every content block (and tool_result contents) in
    one pass, copying only what changes; the notes of the rules that fired.

    Plain loops, no per-block closures: this walks every block of every request."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return []
    fired: list[str] = []
    fixed: list[Any] | None = None
    for i, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        blocks = _rewrite_list(content, rules, fired)
        if blocks is not content:
            if fixed is None:
                fixed = list(messages)
            fixed[i] = {**message, "content": blocks}
    if fixed is None:
        return []
    body["messages"] = fixed
    return list(dict.fromkeys(fired))


def _rewrite_list(items: list[Any], rules: dict[str, BlockRule], fired: list[str]) -> list[Any]:
    """`items` with each block rewritten by its rule (tool_result contents recursively):
    the same list when nothing changed, else a new one."""
    fixed: list[Any] | None = None
    for i, block in enumerate(items):
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        new = block
        if kind == "tool_result" and isinstance(inner := block.get("content"), list):
            nested = _rewrite_list(inner, rules, fired)
            if nested is not inner:
                new = {**block, "content": nested}
        elif isinstance(kind, str) and (rule := rules.get(kind)) is not None:
            new = rule[0](block)
            if new is not block:
                fired.append(rule[1])
        if new is not block:
            if fixed is None:
                fixed = list(items)
            fixed[i] = new
    return items if fixed is None else fixed

"""The Messages request as Claude Code sends it, as msgspec Structs whose leaves stay raw.

One typed pass over a body of this shape splits it (body/split.py): the top-level values and
every leaf of a user turn stay raw JSON (msgspec.Raw, views into the request bytes); the
role of each turn and the type of each user block are read on the way (tags), so a user
turn that holds an image is known without another pass; an assistant turn's content is
one raw value, decoded later because the thinking rules read all of it.

Every Struct forbids unknown fields: a key not listed here would otherwise be dropped on
re-encoding. A body with one (a new API parameter, a new block type) fails this pass and
takes body/split.py's generic split instead: slower, never lossy.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, Raw, Struct, UnsetType

Opt = Raw | UnsetType


class _Shape(Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class _Block(_Shape, tag_field="type"):
    pass


class TextBlock(_Block, tag="text"):
    text: Opt = UNSET
    citations: Opt = UNSET
    cache_control: Opt = UNSET


class ImageBlock(_Block, tag="image"):
    source: Opt = UNSET
    cache_control: Opt = UNSET


class DocumentBlock(_Block, tag="document"):
    source: Opt = UNSET
    title: Opt = UNSET
    context: Opt = UNSET
    citations: Opt = UNSET
    cache_control: Opt = UNSET


class SearchResultBlock(_Block, tag="search_result"):
    source: Opt = UNSET
    title: Opt = UNSET
    content: Opt = UNSET
    citations: Opt = UNSET
    cache_control: Opt = UNSET


class ToolReferenceBlock(_Block, tag="tool_reference"):
    tool_name: Opt = UNSET
    cache_control: Opt = UNSET


class ToolResultBlock(_Block, tag="tool_result"):
    tool_use_id: Opt = UNSET
    content: Opt = UNSET  # a string, or a list of blocks (read again only when it matters)
    is_error: Opt = UNSET
    cache_control: Opt = UNSET


UserBlock = (
    TextBlock
    | ToolResultBlock
    | ImageBlock
    | DocumentBlock
    | SearchResultBlock
    | ToolReferenceBlock
)
BLOCKS = msgspec.json.Decoder(list[UserBlock])


class _Turn(_Shape, tag_field="role"):
    pass


class UserTurn(_Turn, tag="user"):
    content: list[UserBlock] | str | UnsetType = UNSET


class SystemTurn(_Turn, tag="system"):
    """Claude Code (2.1.x) sends its environment notes as a turn of their own."""

    content: list[UserBlock] | str | UnsetType = UNSET
    output_config: Opt = UNSET


class AssistantTurn(_Turn, tag="assistant"):
    content: Opt = UNSET


class Request(_Shape):
    """The Messages API's request parameters, in the order Claude Code writes them."""

    model: Opt = UNSET
    messages: list[UserTurn | SystemTurn | AssistantTurn] | UnsetType = UNSET
    system: Opt = UNSET
    tools: Opt = UNSET
    tool_choice: Opt = UNSET
    metadata: Opt = UNSET
    max_tokens: Opt = UNSET
    thinking: Opt = UNSET
    context_management: Opt = UNSET
    output_config: Opt = UNSET
    output_format: Opt = UNSET
    temperature: Opt = UNSET
    top_k: Opt = UNSET
    top_p: Opt = UNSET
    stop_sequences: Opt = UNSET
    container: Opt = UNSET
    mcp_servers: Opt = UNSET
    service_tier: Opt = UNSET
    stream: Opt = UNSET


REQUEST = msgspec.json.Decoder(Request)
FIELDS = Request.__struct_fields__
TOP_LEVEL = msgspec.json.Decoder(dict[str, Raw])  # any object, its values left raw


def fields_in_order(*layers: Any, messages: Any = UNSET) -> dict[str, Any]:
    """Request's fields in its order, each taken from the first layer that has it (a dict,
    or a decoded Request); `messages`, when given, stands for that field."""
    top: dict[str, Any] = {}
    for name in FIELDS:
        if name == "messages" and messages is not UNSET:
            top[name] = messages
            continue
        for layer in layers:
            value = layer.get(name, UNSET) if isinstance(layer, dict) else getattr(layer, name)
            if value is not UNSET:
                top[name] = value
                break
    return top


TAG_OF = {cls: cls.__struct_config__.tag for cls in UserBlock.__args__}
OTHER_TURNS = (UserTurn, SystemTurn)  # what the rules never read into, blocks aside

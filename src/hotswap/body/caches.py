"""What the body layer keeps between requests: one BodyCaches per router (RouterState owns it).

Every request of a Claude Code conversation repeats the previous one and appends a turn or
two, so most of each body was split, decoded and rewritten before. These caches keep that
work, all owned by one router (tests build a fresh one each; nothing lives at module
level), and all counted against one budget, `[router] cache_mb` (default 32 MB), in
estimated bytes held, decoded objects included:

- `prefix` (55 % of the budget): each of the last MAX_RECORDS (8) conversations' latest
  request, cut at its turns' ends, with its turns split (prefix.py); a record costs its
  body plus ~900 bytes a turn. A body costing more than this share is not recorded: its
  conversation is split whole every time (slower, never wrong);
- `assistant` (15 %): assistant turns' content, decoded, by their bytes (memo.Memo): each
  costs ~5x its JSON;
- `turns` (15 %): each assistant turn as the rules rewrote it for a backend (turns.py), at
  most MAX_TURNS (4096);
- `tools`, `system` (5 %): the last 4 values of each, decoded (memo.Recent);
- `reads`: what the rules read, per backend (a handful of entries);
- the wire adapters' caches (WIRE_SHARE_PERCENT, 10 %): not here, each adapter owns its
  own (wire.WireAdapter.new_cache, wire/registry.WireCaches), given this share by
  RouterState: for the openai wire, each message's Chat Completions translation by its
  bytes, and the last few `system` and `tools` (wire/openai_spans.py); empty while no such
  backend is used.

How long: until evicted (least recently used first out); nothing expires by time. A
`hotswap serve` router shared by several clients keeps every conversation apart: records
are found by comparing bytes, never by who sent them, and a turn's rewrite is keyed by the
decoded object its bytes map to and by the backend.
"""

from __future__ import annotations

from typing import Any

from hotswap.body.prefix import MAX_RECORDS, PrefixSplitter
from hotswap.body.turns import MAX_TURNS, TurnRecords
from hotswap.reading.memo import Memo, Recent, decode_objects

DEFAULT_BUDGET_BYTES = 32 * 1024 * 1024
WIRE_SHARE_PERCENT = 10  # of the budget: the wire adapters' caches (see above)


class BodyCaches:
    """The body layer's caches of one router (see the module doc)."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self.prefix = PrefixSplitter(MAX_RECORDS, max_bytes=budget_bytes * 55 // 100)
        self.assistant = Memo(budget_bytes * 15 // 100)
        self.turns = TurnRecords(MAX_TURNS, max_bytes=budget_bytes * 15 // 100)
        stable = budget_bytes * 5 // 200  # half of 5 % each
        # `tools` decoded one level (each tool's keys, raw values): the rules drop keys
        self.tools = Recent(decode_objects, max_bytes=stable)
        self.system = Recent(max_bytes=stable)
        # request_reads per backend (name, quirks): one entry per backend used
        self.reads: dict[tuple[str, Any], Any] = {}

    def stable(self, key: str) -> Recent | None:
        """The cache of a top-level value that is the same in every request, if any."""
        if key == "tools":
            return self.tools
        if key == "system":
            return self.system
        return None

    @property
    def size(self) -> int:
        """Estimated bytes held, all caches together (at most `budget_bytes`)."""
        parts = (self.prefix.size, self.assistant.size, self.turns.size)
        return sum(parts) + self.tools.size + self.system.size

    def snapshot(self, wire_bytes: int = 0) -> dict[str, Any]:
        """How full each cache is (the status endpoint's `body_caches`, with the wire
        adapters' `wire_bytes` counted in `held_mb`: one budget)."""
        return {
            "budget_mb": round(self.budget_bytes / 1024 / 1024, 1),
            "held_mb": round((self.size + wire_bytes) / 1024 / 1024, 1),
            "conversations": len(self.prefix),
            "assistant_turns": len(self.assistant),
            "rewritten_turns": len(self.turns),
        }

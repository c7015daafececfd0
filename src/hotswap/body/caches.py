"""What the body layer keeps between requests: one BodyCaches per router (RouterState owns it).

Every request of a Claude Code conversation repeats the previous one and appends a turn or
two, so most of each body was split, decoded and rewritten before. Four caches keep that
work, all bounded, all owned by one router (tests build a fresh one each; nothing lives at
module level):

- `prefix`: each of the last MAX_RECORDS (8) conversations' latest request, cut at its
  turns' ends, with its turns split (prefix.py): ~2.5x the body each;
- `assistant`: assistant turns' content, decoded, by their bytes (memo.Memo): at most
  ASSISTANT_MEMO_BYTES (2 MB) of JSON, ~10 MB decoded;
- `tools`, `system`: the last 4 values of each, decoded (memo.Recent);
- `turns`: each assistant turn as the rules rewrote it for a backend (turns.py): at most
  MAX_TURNS (4096) turns, ~1-4 KB each;
- `reads`: what the rules read, per backend (a handful of entries).

How long: until evicted (least recently used first out); nothing expires by time. A
`hotswap serve` router shared by several clients keeps every conversation apart: records
are found by comparing bytes, never by who sent them, and a turn's rewrite is keyed by the
decoded object its bytes map to and by the backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hotswap.body.memo import Memo, Recent, decode_objects
from hotswap.body.prefix import MAX_RECORDS, PrefixSplitter
from hotswap.body.turns import MAX_TURNS, TurnRecords

# Of JSON. A 200K-token conversation's assistant turns are ~0.3 MB; a full memo holds
# ~10 MB of decoded objects.
ASSISTANT_MEMO_BYTES = 2 * 1024 * 1024


def _assistant_memo() -> Memo:
    return Memo(ASSISTANT_MEMO_BYTES)


def _tools() -> Recent:
    return Recent(decode_objects)  # one level (each tool's keys, raw values): rules drop keys


@dataclass
class BodyCaches:
    """The body layer's caches of one router (see the module doc)."""

    prefix: PrefixSplitter = field(default_factory=lambda: PrefixSplitter(MAX_RECORDS))
    assistant: Memo = field(default_factory=_assistant_memo)
    tools: Recent = field(default_factory=_tools)
    system: Recent = field(default_factory=Recent)
    turns: TurnRecords = field(default_factory=lambda: TurnRecords(MAX_TURNS))
    # request_reads per backend (name, quirks): a handful of entries, one per backend used
    reads: dict[tuple[str, Any], Any] = field(default_factory=dict)

    def stable(self, key: str) -> Recent | None:
        """The cache of a top-level value that is the same in every request, if any."""
        if key == "tools":
            return self.tools
        if key == "system":
            return self.system
        return None

    def snapshot(self) -> dict[str, Any]:
        """How full each cache is (the status endpoint's `body_caches`)."""
        return {
            "conversations": len(self.prefix),
            "assistant_turns": len(self.assistant),
            "assistant_bytes": self.assistant.size,
            "rewritten_turns": len(self.turns),
            "tools_bytes": self.tools.bytes_held,
            "system_bytes": self.system.bytes_held,
        }

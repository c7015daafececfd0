"""What a request rule reads of a body: the declaration the body layer decodes by.

The rules (quirks.py, thinking.py, rewrite.map_model) are plain functions over a dict. The
body layer (body/) does not parse a request whole: it hands the rules a dict whose values
are decoded as far as the rules declared they read, and keeps everything else as the
client's bytes. A rule that reads something it did not declare would see nothing there
on the fast path -- so each rule module states its Reads next to its rules, and a test
(tests/unit/test_rule_reads.py) runs every rule over recorded and fuzzed bodies, recording
what it touches, and fails on anything undeclared.
"""

from __future__ import annotations

from typing import NamedTuple

NOTHING: frozenset[str] = frozenset()


class Reads(NamedTuple):
    top: frozenset[str] = NOTHING  # top-level keys read (decoded on first read)
    assistant_turns: bool = False  # whole assistant turns (every block) are read
    user_blocks: frozenset[str] = NOTHING  # block types read in user/system turns
    # (at the top of a turn's content or inside a tool_result's content)

    def __or__(self, other: object) -> Reads:
        if not isinstance(other, Reads):
            return NotImplemented
        return Reads(
            self.top | other.top,
            self.assistant_turns or other.assistant_turns,
            self.user_blocks | other.user_blocks,
        )

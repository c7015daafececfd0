"""The gateway's spill file (gateway/ledger.py): private, whole lines, and a damaged line
(a kill mid-write) left out rather than stopping the writer for good."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

pytest.importorskip("psycopg", reason="the gateway extra: pip install '.[gateway]'")

from hotswap.gateway.ledger import N_COLUMNS, _read
from hotswap.ledger.spill import append_lines as _append


def test_a_damaged_line_is_left_out_and_the_rest_read(tmp_path: Path) -> None:
    spill = tmp_path / "gateway-spill.jsonl"
    _append(spill, [["a", 1], ["b", 2]])
    with spill.open("a") as f:
        f.write('["c", 3, "cut sho')  # a kill mid-write
    _append(spill, [["d", 4]])
    rows = _read(spill)
    assert [r[:2] for r in rows] == [["a", 1], ["b", 2], ["d", 4]]
    assert all(len(r) == N_COLUMNS for r in rows)


def test_the_spill_file_is_private(tmp_path: Path) -> None:
    spill = tmp_path / "gateway-spill.jsonl"
    _append(spill, [["a", 1]])
    assert stat.S_IMODE(spill.stat().st_mode) == 0o600

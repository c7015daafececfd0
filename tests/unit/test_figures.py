"""The one formatter of figures (hotswap/figures.py), its table of cases; the dashboard's JS
money formatter held to the same table; tables fitted to a width (hotswap/columns.py)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hotswap import columns
from hotswap.dashboard.spend import PALETTE, backend_color
from hotswap.figures import age, count, duration_ms, percent, tokens, usd, usd_rate, usd_sum

USD_CASES = [
    (None, "unknown"),
    (0, "$0.00"),
    (0.00004, "<$0.0001"),
    (0.0001, "$0.00010"),
    (0.00012345, "$0.00012"),
    (0.0006, "$0.00060"),
    (0.00609, "$0.0061"),
    (0.06, "$0.060"),
    (0.0999, "$0.10"),
    (0.42, "$0.42"),
    (0.996, "$1.00"),
    (1, "$1.00"),
    (22.7, "$22.70"),
    (1234.567, "$1,234.57"),
    (-0.12, "-$0.12"),
    (-3.5, "-$3.50"),
]


@pytest.mark.parametrize(("value", "shown"), USD_CASES)
def test_money(value: float | None, shown: str) -> None:
    assert usd(value) == shown


def test_sums_that_leave_unpriced_exchanges_out() -> None:
    assert usd_sum(1.5, 0) == "$1.50"
    assert usd_sum(1.5, 2) == "≥$1.50"  # a lower bound
    assert usd_sum(0.0, 3) == "unknown"  # nothing but unpriced exchanges: never $0.00
    assert usd_sum(0.0, 0) == "$0.00"


@pytest.mark.parametrize(
    ("value", "shown"), [(3, "$3"), (5.5, "$5.50"), (0.435, "$0.435"), (0.1234, "$0.1234")]
)
def test_prices_per_million_tokens_are_shown_as_published(value: float, shown: str) -> None:
    assert usd_rate(value) == shown


@pytest.mark.parametrize(
    ("n", "shown"),
    [
        (0, "0"),
        (999, "999"),
        (1_000, "1.0k"),
        (1_234, "1.2k"),
        (999_949, "999.9k"),
        (999_960, "1.0M"),
        (3_456_789, "3.5M"),
    ],
)
def test_tokens(n: int, shown: str) -> None:
    assert tokens(n) == shown


@pytest.mark.parametrize(
    ("ms", "shown"),
    [
        (None, "-"),
        (0, "0 ms"),
        (849.6, "850 ms"),
        (999.6, "1.0 s"),
        (1_234, "1.2 s"),
        (59_960, "1m 00s"),
        (185_000, "3m 05s"),
        (7_440_000, "2h 04m"),
    ],
)
def test_durations(ms: float | None, shown: str) -> None:
    assert duration_ms(ms) == shown


def test_counts_ages_and_rates() -> None:
    assert [count(n, "model") for n in (0, 1, 2)] == ["0 models", "1 model", "2 models"]
    assert count(1, "exchange") == "1 exchange" and count(1204, "exchange") == "1,204 exchanges"
    assert count(2, "entry", "entries") == "2 entries"
    assert [age(s) for s in (42, 420, 11_100, 200_000)] == ["42s", "7m", "3h05m", "2d"]
    assert percent(0.834) == "83%" and percent(None) == "-"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_dashboards_money_formatter_follows_the_same_rules() -> None:
    """The page formats the plot's axis itself: its usd() gives figures.usd's strings."""
    script = Path(__file__).parents[2] / "src/hotswap/dashboard/static/dashboard.js"
    source = re.search(r"  function usd\(v\) \{.*?\n  \}\n", script.read_text(), re.S)
    assert source is not None
    values = [v for v, _ in USD_CASES]
    program = f"{source.group(0)}\nconsole.log(JSON.stringify({json.dumps(values)}.map(usd)));"
    done = subprocess.run(["node", "-e", program], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [shown for _, shown in USD_CASES]


def test_a_backends_colour_is_its_names_own() -> None:
    """The same colour on every page load, whatever other backends the spend holds."""
    names = ["deepseek", "anthropic", "kimi", "glm", "openrouter"]
    colours = {n: backend_color(n) for n in names}
    assert all(colours[n] == backend_color(n) and colours[n] in PALETTE for n in names)
    assert len(set(colours.values())) == len(names)  # the presets' colours differ


# -- tables --------------------------------------------------------------------------------

HEADER = ["NAME", "MODEL", "PRICE"]
ROWS = [["deepseek", "deepseek-v4-pro-with-a-long-suffix", "$0.14/$0.28"], ["kimi", "k3", "$4"]]


def test_a_table_narrows_the_columns_that_give_and_cuts_with_an_ellipsis() -> None:
    text = columns.table(HEADER, ROWS, width=40, give=(1,))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 40
    assert "deepseek-v4-pro-…  " in lines[1] and lines[1].endswith("$0.14/$0.28")
    assert lines[2].split() == ["kimi", "k3", "$4"]


def test_without_a_width_every_cell_is_whole() -> None:
    text = columns.table(HEADER, ROWS, width=None, give=(1,))
    assert "deepseek-v4-pro-with-a-long-suffix" in text and "…" not in text


def test_columns_are_left_out_when_narrowing_is_not_enough_and_named() -> None:
    text = columns.table(HEADER, ROWS, width=24, give=(1,), drop=(1,))
    lines = text.splitlines()
    assert lines[0].split() == ["NAME", "PRICE"]
    assert lines[-1].startswith("(hidden for want of room: MODEL;")


def test_a_layout_keeps_its_widths_for_rows_that_come_later() -> None:
    shape = columns.layout([["a", "bbbbbbb", "c"]], 80, caps={1: 5})
    assert shape.row(["a", "a-very-long-model", "c"]) == "a  a-ve…  c"
    assert shape.row(["a", "x", "c"]) == "a  x      c"  # as wide as before


def test_without_a_width_no_cell_is_ever_cut() -> None:
    shape = columns.layout([["a", "bb", "c"]], None, caps={1: 1})
    assert shape.row(["a", "a-very-long-model", "c"]) == "a  a-very-long-model  c"


def test_terminal_width_comes_from_columns_else_the_terminal_else_none() -> None:
    assert columns.terminal_width({"COLUMNS": "100"}, is_tty=False) == 100
    assert columns.terminal_width({}, is_tty=False) is None  # a pipe: every cell whole
    assert columns.terminal_width({"COLUMNS": "x"}, is_tty=False) is None


def test_the_sessions_table_fits_its_width() -> None:
    """`sessions` (stdlib only) fits its table as the click commands do: the folder gives."""
    from hotswap.sessions.switch_table import table as _table

    row = {"id": "3f2a", "port": 41231, "backend": "deepseek", "age_s": 65, "requests": 1}
    row |= {"cwd": "/srv/" + "deep/" * 30, "failed": 0, "cost": "$0.0061", "alive": True}
    row["note"] = "anthropic refused (HTTP 402): on deepseek from now on"
    narrow = _table([row], 100).splitlines()
    assert max(len(line) for line in narrow) <= 100 and "…" in narrow[1]
    assert narrow[1].split()[:2] == ["3f2a", "41231"] and "$0.0061" in narrow[1]
    assert row["cwd"] in _table([row], None)


def test_the_gateways_cost_lines_are_written_by_the_same_table() -> None:
    """`hotswap cost --database URL`: PostgreSQL's sums become the CostLines the SQLite
    ledger gives, so ledger/report.py writes both alike."""
    pytest.importorskip("psycopg", reason="the gateway extra: pip install '.[gateway]'")
    from decimal import Decimal

    from hotswap.gateway.report import line_of
    from hotswap.ledger.queries import CostLine
    from hotswap.ledger.report import cost_table

    alice = line_of(("alice", 2, 0, 0, 10_000, 4_000, 0, 0, Decimal("0.00609"),
                     Decimal("0.04991"), 0, 0))  # fmt: skip
    bob = line_of(("bob", 1, 1, 0, 7_000, 0, 0, 0, Decimal(0), Decimal(0), 1, 1))
    total = CostLine("total")
    for line in (alice, bob):
        total.merge(line)
    lines = cost_table([alice, bob], total, "user").splitlines()
    assert lines[0].split()[:3] == ["USER", "REQ", "FAIL"]
    assert lines[1].split()[:3] == ["alice", "2", "0"] and lines[1].split()[-2:] == [
        "$0.0061", "$0.050"]  # fmt: skip
    assert lines[2].split()[:3] == ["bob", "1", "1"] and lines[2].split()[-2:] == [
        "unknown", "unknown"]  # fmt: skip

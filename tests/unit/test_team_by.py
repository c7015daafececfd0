"""`hotswap gateway cost --by` and `hotswap cost --database --by` offer what the gateway's
ledger can group by: the command line's list (kept free of psycopg) is report.BY's."""

import pytest

pytest.importorskip("psycopg", reason="the gateway extra: pip install '.[gateway]'")

from hotswap.cli.cost import BY
from hotswap.cli.gateway import TEAM_BY
from hotswap.gateway.report import BY as REPORT_BY


def test_the_command_lines_groups_are_the_reports() -> None:
    assert set(TEAM_BY) == set(REPORT_BY)
    assert set(REPORT_BY) <= set(BY) | {"user"}  # `hotswap cost --database` offers each

"""The pull request's PowerShell spellings, rewritten to hotswap's flags before argparse."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from hotswap.sessions.registry import Session, process_start_time, register
from hotswap.sessions.spellings import EITHER_FLAG, session_or_port, translate


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["-All"], ["--all"]),
        (["-all"], ["--all"]),
        (["-ALL", "--model", "x"], ["--all", "--model", "x"]),
        (["-Session", "3202"], [EITHER_FLAG, "3202"]),
        (["-session", "3f2a"], [EITHER_FLAG, "3f2a"]),
        (["-SESSION:3202"], [EITHER_FLAG, "3202"]),
        (["-Session=ab"], [EITHER_FLAG, "ab"]),
        (["kimi", "-Session", "-All"], ["kimi", EITHER_FLAG, "-All"]),  # a value stays one
        (["--model", "-all"], ["--model", "-all"]),
        (["--all", "-a", "-s", "3f", "-p", "1"], ["--all", "-a", "-s", "3f", "-p", "1"]),
        (["-Sessions", "-Al"], ["-Sessions", "-Al"]),  # not the pull request's words
    ],
)
def test_translate(argv: list[str], expected: list[str]) -> None:
    assert translate(argv) == expected


def _register(sessions: Path, sid: str, port: int) -> None:
    pid = os.getpid()
    session = Session(sid, port, pid, "/", time.time(), "x", "anthropic", process_start_time(pid))
    register(sessions, session)


def test_session_or_port_prefers_a_port_then_an_id(tmp_path: Path) -> None:
    _register(tmp_path, "3202", 41001)  # an id that is all digits
    _register(tmp_path, "ab12", 3202)
    assert session_or_port(tmp_path, "3202") == (None, 3202)
    assert session_or_port(tmp_path, "41001") == (None, 41001)
    assert session_or_port(tmp_path, "320") == ("320", None)
    assert session_or_port(tmp_path, "ab") == ("ab", None)

"""State folders are created 0700 even when their parents are missing too (Path.mkdir
would give the missing parents the default mode, so a fresh state directory was 0755)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hotswap.sessions.modefile import write_private
from hotswap.sessions.registry import new_session_id

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")


def test_a_first_session_creates_a_private_state_directory(tmp_path: Path) -> None:
    state = tmp_path / "state" / "hotswap"
    sid = new_session_id(state / "sessions")
    for folder in (tmp_path / "state", state, state / "sessions", state / "sessions" / sid):
        assert folder.stat().st_mode & 0o777 == 0o700, folder


def test_write_private_creates_private_parents(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "mode"
    write_private(target, b"deepseek\n")
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "a" / "b").stat().st_mode & 0o777 == 0o700
    assert target.stat().st_mode & 0o777 == 0o600

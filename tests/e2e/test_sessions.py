"""The session registry: records, liveness, stale cleanup, lookup by id prefix or port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hotswap.sessions.registry import (
    Session,
    find,
    list_sessions,
    new_secret,
    new_session_id,
    process_start_time,
    register,
    remove,
)


def _session(sid: str, port: int, pid: int | None = None) -> Session:
    pid = os.getpid() if pid is None else pid
    return Session(
        id=sid,
        port=port,
        pid=pid,
        cwd="/work",
        started=time.time(),
        secret="s3cret",
        backend="anthropic",
        pid_start=process_start_time(pid),
    )


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_register_writes_a_private_record_and_list_finds_it(tmp_path: Path) -> None:
    register(tmp_path, _session("ab12", 4100))
    record = tmp_path / "ab12" / "session.json"
    assert record.stat().st_mode & 0o777 == 0o600
    [(session, alive)] = list_sessions(tmp_path)
    assert session.id == "ab12" and session.port == 4100 and alive


def test_a_record_whose_process_died_is_stale_and_listing_cleans_it(tmp_path: Path) -> None:
    register(tmp_path, _session("dead", 4101, pid=_dead_pid()))
    register(tmp_path, _session("live", 4102))
    listed = {s.id: alive for s, alive in list_sessions(tmp_path)}
    assert listed == {"dead": False, "live": True}
    assert not (tmp_path / "dead").exists()
    assert (tmp_path / "live").exists()


def test_a_reused_pid_with_another_start_time_is_not_alive(tmp_path: Path) -> None:
    session = _session("reus", 4103)
    register(tmp_path, session._replace(pid_start="1"))
    [(_, alive)] = list_sessions(tmp_path, clean=False)
    assert alive is (not sys.platform.startswith("linux"))


def test_find_by_unique_prefix_or_port_without_cleaning(tmp_path: Path) -> None:
    register(tmp_path, _session("ab12", 4104))
    register(tmp_path, _session("ab34", 4105))
    register(tmp_path, _session("cd56", 4106, pid=_dead_pid()))
    assert find(tmp_path, session_id="ab") is None  # ambiguous
    found = find(tmp_path, session_id="ab3")
    assert found is not None and found[0].id == "ab34"
    dead = find(tmp_path, port=4106)
    assert dead is not None and dead[1] is False  # a dead session can still be switched
    assert (tmp_path / "cd56").exists()


def test_remove_and_fresh_ids_and_secrets(tmp_path: Path) -> None:
    register(tmp_path, _session("ab12", 4107))
    remove(tmp_path, "ab12")
    assert list_sessions(tmp_path) == []
    assert len(new_session_id(tmp_path)) == 4
    assert len(new_secret()) >= 32 and new_secret() != new_secret()


def test_a_corrupt_record_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "zz99").mkdir()
    (tmp_path / "zz99" / "session.json").write_text("{not json")
    assert list_sessions(tmp_path) == []


def test_new_session_id_claims_a_private_folder_of_its_own(tmp_path: Path) -> None:
    sessions_dir = tmp_path / "sessions"
    ids = {new_session_id(sessions_dir) for _ in range(20)}
    assert len(ids) == 20
    for sid in ids:
        assert (sessions_dir / sid).is_dir()
        assert (sessions_dir / sid).stat().st_mode & 0o777 == 0o700


def test_a_launch_that_fails_before_claude_starts_leaves_no_session_folder(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hotswap.cli.run import serve_session
    from hotswap.config.loading import load_config
    from hotswap.sessions import launcher

    def broken(argv: list[str], env: dict[str, str]) -> None:
        raise RuntimeError("cannot start claude")

    monkeypatch.setattr(launcher, "_launch", broken)
    config = load_config()
    with pytest.raises(RuntimeError):
        launcher.run_session(
            config, "anthropic", 0, [], {"HOTSWAP_CLAUDE_BIN": "/bin/true"}, serve=serve_session
        )
    assert not config.sessions_dir.exists() or list(config.sessions_dir.iterdir()) == []

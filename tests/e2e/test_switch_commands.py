"""The switch commands as a user types them: installed console scripts, run as subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hotswap.sessions.registry import Session, process_start_time, register

BIN = Path(sys.executable).parent


def run(cmd: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / cmd), *args], env=env, capture_output=True, text=True, timeout=30
    )


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in ("HOTSWAP_SESSION", "ANTHROPIC_BASE_URL")
    }
    clean["HOTSWAP_HOME"] = str(home)
    return clean


def _register(home: Path, sid: str, port: int, backend: str = "anthropic") -> Path:
    sessions = home / "sessions"
    register(
        sessions,
        Session(
            id=sid,
            port=port,
            pid=os.getpid(),
            cwd=str(home),
            started=time.time(),
            secret="x",
            backend=backend,
            pid_start=process_start_time(os.getpid()),
        ),
    )
    mode = sessions / sid / "mode"
    mode.write_text(backend + "\n")
    return mode


def test_ds_inside_a_session_switches_only_that_session(home: Path, env: dict[str, str]) -> None:
    mine, other = _register(home, "aa11", 41001), _register(home, "bb22", 41002)
    done = run("ds", env={**env, "HOTSWAP_SESSION": "aa11"})
    assert done.returncode == 0, done.stderr
    assert done.stdout == "session aa11 (port 41001): anthropic -> deepseek\n"
    assert mine.read_text() == "deepseek\n"
    assert other.read_text() == "anthropic\n"
    assert mine.stat().st_mode & 0o777 == 0o600


def test_the_session_is_found_from_the_port_in_anthropic_base_url(
    home: Path, env: dict[str, str]
) -> None:
    mode = _register(home, "cc33", 41003, backend="deepseek")
    done = run("ant", env={**env, "ANTHROPIC_BASE_URL": "http://127.0.0.1:41003/s/x"})
    assert done.returncode == 0, done.stderr
    assert "deepseek -> anthropic" in done.stdout
    assert mode.read_text() == "anthropic\n"


def test_outside_any_session_the_global_serve_mode_file_is_switched(
    home: Path, env: dict[str, str]
) -> None:
    done = run("hotswap", "use", "ds", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("global (")
    assert (home / "mode").read_text() == "deepseek\n"
    shown = run("backend", env=env)
    assert shown.stdout.split()[0] == "deepseek"


def test_in_another_terminal_the_one_live_session_is_switched_and_said_so(
    home: Path, env: dict[str, str]
) -> None:
    """No `hotswap serve` runs and one session is live: `hotswap use` means that session."""
    mine = _register(home, "ab31", 41031)
    done = run("hotswap", "use", "deepseek", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("session ab31 (port 41031): anthropic -> deepseek")
    assert "switched the one live session, ab31" in done.stderr
    assert mine.read_text() == "deepseek\n" and not (home / "mode").exists()
    _register(home, "cd32", 41032)
    done = run("hotswap", "use", "kimi", env=env)
    assert done.stdout.startswith("global (")  # several: which one? none guessed
    assert "2 live sessions (ab31, cd32)" in done.stderr and "--session ID" in done.stderr
    assert mine.read_text() == "deepseek\n"


def test_an_unknown_name_exits_2_lists_valid_names_and_touches_nothing(
    home: Path, env: dict[str, str]
) -> None:
    mode = _register(home, "dd44", 41004)
    done = run("hotswap", "use", "gpt-9", "--session", "dd44", env=env)
    assert done.returncode == 2
    assert "unknown backend 'gpt-9'" in done.stderr
    assert "deepseek" in done.stderr and "anthropic" in done.stderr
    assert mode.read_text() == "anthropic\n"
    assert done.stdout == ""


def test_use_all_switches_every_live_session(home: Path, env: dict[str, str]) -> None:
    a, b = _register(home, "ee55", 41005), _register(home, "ff66", 41006)
    done = run("hotswap", "use", "deepseek", "--all", env=env)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2
    assert a.read_text() == b.read_text() == "deepseek\n"


def test_use_by_port_and_by_session_prefix(home: Path, env: dict[str, str]) -> None:
    a, b = _register(home, "ab77", 41007), _register(home, "cd88", 41008)
    assert run("hotswap", "use", "ds", "--port", "41007", env=env).returncode == 0
    assert run("backend", "deepseek", "--session", "cd", env=env).returncode == 0
    assert a.read_text() == b.read_text() == "deepseek\n"
    missing = run("hotswap", "use", "ds", "--port", "1", env=env)
    assert missing.returncode == 2 and "no session with port 1" in missing.stderr


def test_backend_prints_the_current_backend_of_the_session(home: Path, env: dict[str, str]) -> None:
    _register(home, "ab99", 41009, backend="deepseek")
    done = run("backend", env={**env, "HOTSWAP_SESSION": "ab99"})
    assert done.returncode == 0
    assert done.stdout.split()[0] == "deepseek"
    assert "session ab99 (port 41009)" in done.stdout


def test_sessions_lists_live_ones_as_a_table_and_as_json(home: Path, env: dict[str, str]) -> None:
    _register(home, "aa01", 41010)
    _register(home, "bb02", 41011, backend="deepseek")
    table = run("sessions", env=env)
    assert table.returncode == 0
    header, *rows = table.stdout.splitlines()
    columns = ["ID", "PORT", "BACKEND", "CWD", "AGE", "REQUESTS", "COST", "ALIVE"]
    assert header.split()[:8] == columns
    assert [r.split()[:3] for r in rows] == [
        ["aa01", "41010", "anthropic"],
        ["bb02", "41011", "deepseek"],
    ]
    listed = json.loads(run("sessions", "--json", env=env).stdout)
    assert [(r["id"], r["backend"], r["alive"]) for r in listed] == [
        ("aa01", "anthropic", True),
        ("bb02", "deepseek", True),
    ]
    assert "secret" not in json.dumps(listed)


def test_a_corrupt_config_is_a_clear_error_not_a_traceback(home: Path, env: dict[str, str]) -> None:
    (home / "config.toml").write_text("default_backend = [")
    done = run("ds", env=env)
    assert done.returncode == 2
    assert done.stderr.startswith("Error: ") and "config.toml" in done.stderr
    assert "Traceback" not in done.stderr


def test_switching_works_while_the_router_is_down(home: Path, env: dict[str, str]) -> None:
    # No router listens on 41012 and its record is alive: `ds` only writes the file.
    mode = _register(home, "ab12", 41012)
    done = run("ds", env={**env, "HOTSWAP_SESSION": "ab12"})
    assert done.returncode == 0 and mode.read_text() == "deepseek\n"

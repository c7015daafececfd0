"""`hotswap doctor` as a user types it, on a healthy setup and on each kind of problem."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from cli_run import CLAUDE_VERSION, assert_no_traceback, fake_claude, hotswap, user_env
from hotswap.ledger import rows
from hotswap.ledger.schema import LATEST, migrate, version
from hotswap.ledger.store import connect, ledger_path
from hotswap.sessions.registry import Session, register
from records import record

KEY = "sk-test-SECRET1234abcd"


def doctor(*args: str, env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    done = hotswap("doctor", "--json", *args, env=env)
    assert_no_traceback(done)
    return done.returncode, json.loads(done.stdout)


def by_name(report: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in report["checks"]}


def healthy(tmp: Path, home: Path, **extra: str) -> dict[str, str]:
    return user_env(tmp, home, ANTHROPIC_API_KEY=KEY + "ant", DEEPSEEK_API_KEY=KEY, **extra)


def test_a_healthy_setup_is_all_checks_passing_and_exit_0(home: Path, tmp_path: Path) -> None:
    env = healthy(tmp_path, home)
    code, report = doctor(env=env)
    assert code == 0 and report["ok"]
    checks = by_name(report)
    assert not [c for c in report["checks"] if c["status"] == "fail"]
    assert CLAUDE_VERSION in checks["claude"]["detail"]
    assert checks["config"]["status"] == "ok"
    assert checks["key deepseek"] == {
        "name": "key deepseek",
        "status": "ok",
        "detail": "DEEPSEEK_API_KEY set (…abcd)",
        "fix": "",
    }
    assert "keys missing" not in checks  # the presets nobody set up are not problems
    assert checks["console scripts"]["status"] == "ok"
    assert checks["state directory"]["status"] == "ok"
    bash = checks["respondToBashCommands"]["detail"]
    assert "turns it off per launch" in bash
    assert "Claude Code's default: there is no" in bash  # never "in settings.json" then
    assert "adds one" in checks["status line"]["detail"]
    human = hotswap("doctor", env=env)
    assert human.returncode == 0
    assert human.stdout.startswith("✓ claude ")
    assert human.stdout.rstrip().endswith("all good"), human.stdout
    assert KEY not in human.stdout + human.stderr + json.dumps(report)


def test_a_missing_key_warns_but_fails_only_for_the_default_backend(
    home: Path, tmp_path: Path
) -> None:
    env = user_env(tmp_path, home, ANTHROPIC_API_KEY=KEY)
    code, report = doctor(env=env)
    assert code == 0 and "keys missing" not in by_name(report)
    (home / "config.toml").write_text('[backends.kimi]\nfallback = ["anthropic"]\n')
    code, report = doctor(env=env)
    assert code == 0  # a backend the config sets up: its missing key is worth a line
    assert by_name(report)["keys missing"]["detail"] == "MOONSHOT_API_KEY (kimi)"
    (home / "mode").write_text("glm\n")
    code, report = doctor(env=env)
    assert "ZAI_API_KEY (glm)" in by_name(report)["keys missing"]["detail"]  # a mode's
    (home / "mode").unlink()
    (home / "config.toml").write_text('default_backend = "deepseek"\n')
    code, report = doctor(env=env)
    assert code == 1 and not report["ok"]
    check = by_name(report)["key deepseek"]
    assert check["status"] == "fail" and "default backend" in check["detail"]
    assert "export DEEPSEEK_API_KEY=" in check["fix"]
    human = hotswap("doctor", env=env)
    assert human.returncode == 1
    assert "✗ key deepseek" in human.stdout and "→ export DEEPSEEK_API_KEY=" in human.stdout


def test_anthropic_without_credential_warns_when_its_fallback_has_a_key(
    home: Path, tmp_path: Path
) -> None:
    code, report = doctor(env=user_env(tmp_path, home, DEEPSEEK_API_KEY=KEY))
    assert code == 0
    check = by_name(report)["key anthropic"]
    assert check["status"] == "warn" and "fall back to deepseek" in check["detail"]
    code, report = doctor(env=user_env(tmp_path, home))
    assert code == 1 and by_name(report)["key anthropic"]["status"] == "fail"


def test_a_broken_config_fails_with_the_routers_message(home: Path, tmp_path: Path) -> None:
    (home / "config.toml").write_text('[backends.kimi]\nauth = "token"\n')
    env = healthy(tmp_path, home)
    code, report = doctor(env=env)
    assert code == 1
    check = by_name(report)["config"]
    serve = hotswap("serve", "--port", "0", env=env)
    assert serve.returncode != 0
    assert serve.stderr.splitlines()[0] == f"Error: {check['detail']}"
    assert check["status"] == "fail" and "backends.kimi.auth" in check["detail"]
    assert "key deepseek" in by_name(report)  # the other checks still ran, on the presets


def test_a_world_readable_state_directory_fails_and_fix_makes_it_private(
    home: Path, tmp_path: Path
) -> None:
    env = healthy(tmp_path, home)
    hotswap("use", "deepseek", env=env)  # writes the global mode file, private
    home.chmod(0o755)
    (home / "mode").chmod(0o644)
    code, report = doctor(env=env)
    assert code == 1
    check = by_name(report)["state directory"]
    assert check["status"] == "fail"
    assert str(home) in check["detail"] and str(home / "mode") in check["detail"]
    assert "chmod" in check["fix"] and "--fix" in check["fix"]
    code, report = doctor("--fix", env=env)
    assert code == 0, report
    assert home.stat().st_mode & 0o777 == 0o700
    assert (home / "mode").stat().st_mode & 0o777 == 0o600
    assert doctor(env=env)[0] == 0


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_stale_session_record_warns_and_fix_removes_it(home: Path, tmp_path: Path) -> None:
    sessions = home / "sessions"
    record = Session("dead", 41777, _dead_pid(), str(tmp_path), time.time(), "x", "deepseek")
    register(sessions, record)
    env = healthy(tmp_path, home)
    code, report = doctor(env=env)
    assert code == 0
    check = by_name(report)["stale sessions"]
    assert check["status"] == "warn" and "dead" in check["detail"]
    assert "--fix" in check["fix"]
    assert (sessions / "dead").exists()  # doctor without --fix changes nothing
    code, report = doctor("--fix", env=env)
    assert code == 0 and "removed 1" in by_name(report)["stale sessions"]["detail"]
    assert not (sessions / "dead").exists()


def test_a_live_session_is_listed(home: Path, tmp_path: Path) -> None:
    from hotswap.sessions.registry import process_start_time

    me = Session(
        "live",
        41778,
        os.getpid(),
        str(tmp_path),
        time.time(),
        "x",
        "anthropic",
        process_start_time(os.getpid()),
    )
    register(home / "sessions", me)
    _, report = doctor(env=healthy(tmp_path, home))
    assert "1 live: live (port 41778)" in by_name(report)["sessions"]["detail"]


def test_an_unreadable_serve_mode_file_fails(home: Path, tmp_path: Path) -> None:
    (home / "mode").write_text("gpt-9\n")
    (home / "mode").chmod(0o600)
    home.chmod(0o700)
    code, report = doctor(env=healthy(tmp_path, home))
    assert code == 1
    check = by_name(report)["serve mode file"]
    assert check["status"] == "fail" and "'gpt-9'" in check["detail"]
    assert check["fix"].startswith("echo anthropic > ")


def test_claude_missing_or_hanging(home: Path, tmp_path: Path) -> None:
    env = healthy(tmp_path, home)
    env.pop("HOTSWAP_CLAUDE_BIN")
    code, report = doctor(env=env)
    assert code == 1
    check = by_name(report)["claude"]
    assert check["status"] == "fail" and "not found on PATH" in check["detail"]
    assert "npm install -g @anthropic-ai/claude-code" in check["fix"]
    broken = fake_claude(tmp_path / "broken", "echo boom >&2; exit 3")
    code, report = doctor(env={**env, "HOTSWAP_CLAUDE_BIN": str(broken)})
    check = by_name(report)["claude"]
    assert code == 0 and check["status"] == "warn" and "status 3: boom" in check["detail"]
    hung = fake_claude(tmp_path / "hung", "sleep 60; echo never")  # sleep: a grandchild
    started = time.monotonic()
    code, report = doctor("--timeout", "0.5", env={**env, "HOTSWAP_CLAUDE_BIN": str(hung)})
    assert time.monotonic() - started < 20  # its process group was killed, pipes closed
    check = by_name(report)["claude"]
    assert check["status"] == "warn" and "did not answer within 0.5 s" in check["detail"]


def test_a_shadowed_console_script_fails(home: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-bin"
    fake_claude(other).rename(other / "ds")  # an unrelated program called `ds`
    env = healthy(tmp_path, home)
    env["PATH"] = f"{other}:{env['PATH']}"
    code, report = doctor(env=env)
    assert code == 1
    check = by_name(report)["script ds"]
    assert check["status"] == "fail" and str(other / "ds") in check["detail"]
    assert "export PATH=" in check["fix"]
    env["PATH"] = "/usr/bin:/bin"
    code, report = doctor(env=env)
    assert code == 0
    assert (
        "not on PATH: hotswap ds ant backend sessions"
        in by_name(report)["console scripts"]["detail"]
    )


def test_settings_the_user_has_are_reported(home: Path, tmp_path: Path) -> None:
    env = healthy(tmp_path, home)
    settings = Path(env["HOME"]) / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps({"respondToBashCommands": False, "statusLine": {"type": "x"}}))
    _, report = doctor(env=env)
    checks = by_name(report)
    assert checks["respondToBashCommands"]["detail"].startswith("false in ")
    assert "keeps yours" in checks["status line"]["detail"]
    settings.write_text("{not json")
    _, report = doctor(env=env)
    assert by_name(report)["respondToBashCommands"]["status"] == "warn"


def test_backend_names_without_live_are_a_usage_error(home: Path, tmp_path: Path) -> None:
    done = hotswap("doctor", "deepseek", env=healthy(tmp_path, home))
    assert done.returncode == 2
    assert done.stderr.startswith("Error: ") and "--live deepseek" in done.stderr


def _ledger(home: Path, exchanges: int) -> Path:
    path = ledger_path(home)
    conn = connect(path)
    conn.execute("BEGIN")
    rows.insert(conn, [record() for _ in range(exchanges)])
    conn.execute("COMMIT")
    conn.close()
    return path


def test_the_ledger_absent_is_fine(home: Path, tmp_path: Path) -> None:
    code, report = doctor(env=healthy(tmp_path, home))
    assert code == 0
    check = by_name(report)["ledger"]
    assert check["status"] == "ok" and "absent: created on the first request" in check["detail"]
    assert not ledger_path(home).exists()  # the doctor never creates it


def test_a_ledger_is_read_not_written(home: Path, tmp_path: Path) -> None:
    path = _ledger(home, 3)
    before = path.read_bytes()
    code, report = doctor(env=healthy(tmp_path, home))
    assert code == 0, report
    check = by_name(report)["ledger"]
    assert check["status"] == "ok"
    assert check["detail"].startswith(f"{path}: 3 exchanges, ")
    assert f"KB, schema v{LATEST}, private" in check["detail"]
    assert path.read_bytes() == before
    human = hotswap("doctor", env=healthy(tmp_path, home)).stdout
    assert "✓ ledger " in human


def test_an_older_schema_is_fine_and_left_for_the_routers(home: Path, tmp_path: Path) -> None:
    path = ledger_path(home)
    old = sqlite3.connect(path)
    migrate(old, 1)  # as the first hotswap with a ledger left it
    old.close()
    path.chmod(0o600)
    code, report = doctor(env=healthy(tmp_path, home))
    check = by_name(report)["ledger"]
    assert code == 0 and check["status"] == "ok"
    assert f"schema v1 (moved to v{LATEST} by the next router)" in check["detail"]
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert version(conn) == 1  # the doctor did not migrate it


def test_a_corrupt_or_newer_ledger_fails_with_its_fix(home: Path, tmp_path: Path) -> None:
    path = ledger_path(home)
    path.write_bytes(b"this is not SQLite " * 300)
    path.chmod(0o600)
    code, report = doctor(env=healthy(tmp_path, home))
    check = by_name(report)["ledger"]
    assert code == 1 and check["status"] == "fail"
    assert "not a readable ledger" in check["detail"] and f"mv {path} " in check["fix"]
    path.unlink()
    conn = connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    code, report = doctor(env=healthy(tmp_path, home))
    check = by_name(report)["ledger"]
    assert code == 1 and check["status"] == "fail"
    assert f"newer hotswap (schema v{LATEST + 1}; this one knows v{LATEST})" in check["detail"]
    assert "upgrade hotswap" in check["fix"]
    human = hotswap("doctor", env=healthy(tmp_path, home))
    assert "✗ ledger " in human.stdout and "→ upgrade hotswap" in human.stdout


def test_a_world_readable_ledger_fails_and_fix_makes_it_private(home: Path, tmp_path: Path) -> None:
    path = _ledger(home, 1)
    path.chmod(0o644)
    code, report = doctor(env=healthy(tmp_path, home))
    check = by_name(report)["ledger"]
    assert code == 1 and check["status"] == "fail"
    assert "1 exchange, " in check["detail"] and "readable by others (mode 644)" in check["detail"]
    assert check["fix"] == f"chmod 600 {path}  (or `hotswap doctor --fix`)"
    code, report = doctor("--fix", env=healthy(tmp_path, home))
    assert code == 0 and by_name(report)["ledger"]["status"] == "ok"
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_serve_mode_file_with_a_model_is_valid(home: Path, tmp_path: Path) -> None:
    (home / "mode").write_text("ollama qwen3-coder\n")  # as `backend ollama --model` writes it
    (home / "mode").chmod(0o600)
    home.chmod(0o700)
    _, report = doctor(env=healthy(tmp_path, home))
    check = by_name(report)["serve mode file"]
    assert check["status"] == "ok" and "ollama" in check["detail"], check


def test_a_state_directory_made_with_the_usual_umask_is_a_warning(
    home: Path, tmp_path: Path
) -> None:
    env = healthy(tmp_path, home)
    hotswap("use", "deepseek", env=env)  # a private file inside
    home.chmod(0o755)  # `mkdir` with umask 022
    code, report = doctor(env=env)
    check = by_name(report)["state directory"]
    assert code == 0 and check["status"] == "warn", check
    assert "listed by others" in check["detail"] and check["fix"].startswith("chmod 700")
    assert doctor("--fix", env=env)[0] == 0 and home.stat().st_mode & 0o777 == 0o700


def test_each_fix_line_says_what_to_do_about_its_own_failure(home: Path, tmp_path: Path) -> None:
    env = healthy(tmp_path, home)
    missing = hotswap("config", "validate", "--config", str(tmp_path / "none.toml"), env=env)
    assert "no such config file" in missing.stderr
    assert "fix: `hotswap config init --config" in missing.stderr
    (home / "config.toml").write_text('default_backend = "ds"\nx = = 1\n')
    syntax = hotswap("config", "validate", env=env)
    assert (
        "not valid TOML" in syntax.stderr and "fix: fix the TOML syntax at line 2" in syntax.stderr
    )
    (home / "config.toml").write_text("[router]\nfirst_byte_timeout = 5\n")
    typo = hotswap("config", "validate", env=env)
    assert "unknown key 'router.first_byte_timeout'" in typo.stderr
    assert "did you mean 'first_byte_timeout_s'?" in typo.stderr
    assert "[" + "'" not in typo.stderr  # never a Python list
    assert "fix: rename it to 'first_byte_timeout_s'" in typo.stderr
    assert by_name(doctor(env=env)[1])["config"]["fix"].startswith("rename it to")
    (home / "config.toml").unlink()
    unknown = hotswap("serve", "-b", "deepseak", "--port", "0", env=env)
    assert (
        "did you mean 'deepseek'?" in unknown.stderr and "fix: `hotswap backends`" in unknown.stderr
    )
    remote = hotswap("serve", "--host", "0.0.0.0", "--port", "0", env=env)
    assert (
        "fix: drop --host" in remote.stderr and "--allow-remote" in remote.stderr.split("fix:")[1]
    )
    for done in (missing, syntax, typo, unknown, remote):
        assert "checks the whole setup" not in done.stderr, done.stderr


def test_a_busy_port_names_what_to_do(home: Path, tmp_path: Path) -> None:
    import socket

    env = healthy(tmp_path, home)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = str(sock.getsockname()[1])
        for args in (("serve", "--port", port), ("run", "--port", port)):
            done = hotswap(*args, env=env)
            assert done.returncode == 2 and "Address already in use" in done.stderr
            assert f"fix: another process listens on port {port}" in done.stderr
            assert "--port 0" in done.stderr

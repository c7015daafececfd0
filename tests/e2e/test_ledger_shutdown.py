"""End to end: the ledger survives the router. SIGTERM / SIGINT of `hotswap serve` and the end
of `hotswap run` flush what is queued; then `hotswap cost`, `hotswap logs` (and, while the
session ran, the status line) show the per-backend split of a session that switched."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import backends_toml
from fakes import ThreadedFake
from runner import hotswap_run, ready
from standin import make_standin

BIN = Path(sys.executable).parent
BODY = {"model": "claude-opus-5-5", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}


def ask(base_url: str) -> int:
    request = urllib.request.Request(
        f"{base_url}/v1/messages",
        data=json.dumps(BODY).encode(),
        method="POST",
        headers={"content-type": "application/json", "x-api-key": "sk-ant-user"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        return int(resp.status)


def count(home: Path, where: str = "1") -> int:
    conn = sqlite3.connect(home / "ledger.db")
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM exchanges WHERE {where}").fetchone()[0])
    finally:
        conn.close()


def hotswap(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(BIN / "hotswap"), *args], env=env, input=stdin, capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def env(home: Path, tmp_path: Path) -> dict[str, str]:
    scrub = ("HOTSWAP_SESSION", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
    clean = {k: v for k, v in os.environ.items() if k not in scrub}
    clean |= {"HOTSWAP_HOME": str(home), "HOME": str(tmp_path), "DEEPSEEK_API_KEY": "sk-ds"}
    clean["HOTSWAP_CLAUDE_BIN"] = str(make_standin(tmp_path))
    return clean


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stopping_hotswap_serve_flushes_the_ledger(
    home: Path, env: dict[str, str], sig: signal.Signals
) -> None:
    with ThreadedFake("anthropic") as ant:
        (home / "config.toml").write_text(backends_toml({"anthropic": ant.url}))
        proc = subprocess.Popen(
            [str(BIN / "hotswap"), "serve", "--port", "0", "--mode-file", str(home / "mode")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stderr is not None
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+)\n", proc.stdout.readline())
        assert match, proc.stderr.read()
        for _ in range(5):
            assert ask(match.group(1)) == 200
        proc.send_signal(sig)  # at once: the last rows may still be queued
        assert proc.wait(30) == 0
        stderr = proc.stderr.read()
    assert "not written" not in stderr and "Traceback" not in stderr
    assert count(home, "session IS NULL AND backend = 'anthropic'") == 5


def test_a_session_that_switched_shows_its_split_after_everything_stopped(
    home: Path, env: dict[str, str]
) -> None:
    with ThreadedFake("anthropic") as ant, ThreadedFake("deepseek") as ds:
        (home / "config.toml").write_text(backends_toml({"anthropic": ant.url, "deepseek": ds.url}))
        proc = subprocess.Popen(
            [str(BIN / "hotswap"), "run"],
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stdin is not None
        launch = json.loads(proc.stdout.readline())["env"]
        session, base_url = launch["HOTSWAP_SESSION"], launch["ANTHROPIC_BASE_URL"]
        inside = {**env, "HOTSWAP_SESSION": session}
        assert ask(base_url) == 200
        hotswap(inside, "use", "deepseek")  # what `!ds` does
        assert ask(base_url) == 200 and ask(base_url) == 200
        line = hotswap(inside, "statusline", stdin='{"model": {"id": "claude-opus-5-5"}}')
        assert re.fullmatch(
            rf"⇄ deepseek · session {session} · \$\d\.\d+ · saved \$\d\.\d+ · 3 req\n", line
        ), line
        proc.stdin.write("exit 0\n")
        proc.stdin.close()
        assert proc.wait(30) == 0
    # Everything stopped; the ledger remembers.
    report = json.loads(hotswap(env, "cost", "--json", "--session", session))
    rows = {r["key"]: r for r in report["rows"]}
    assert rows["anthropic"]["requests"] == 1 and rows["deepseek"]["requests"] == 2
    assert rows["deepseek"]["savings_usd"] > 0 and rows["anthropic"]["savings_usd"] == 0
    logged = hotswap(env, "logs", "--session", session).splitlines()
    assert [line.split()[3] for line in logged] == ["anthropic", "deepseek", "deepseek"]


def _ledger_status(base_url: str) -> dict[str, object]:
    with urllib.request.urlopen(f"{base_url}/_hotswap/status", timeout=10) as resp:
        status = json.loads(resp.read())["ledger"]
    assert isinstance(status, dict)
    return status


def test_a_session_ending_while_another_process_locks_the_ledger_exits_and_loses_nothing(
    home: Path, env: dict[str, str]
) -> None:
    with ThreadedFake("anthropic") as ant:
        (home / "config.toml").write_text(backends_toml({"anthropic": ant.url}))
        with hotswap_run(env) as run:
            base_url = run.env["ANTHROPIC_BASE_URL"]
            ready(base_url)  # the router opened (and made) the ledger
            locker = sqlite3.connect(home / "ledger.db", isolation_level=None)
            locker.execute("BEGIN EXCLUSIVE")  # a long write elsewhere
            assert all(ask(base_url) == 200 for _ in range(50))
            deadline = time.monotonic() + 10
            while _ledger_status(base_url)["queued"] != 50 and time.monotonic() < deadline:
                time.sleep(0.01)  # the observers run just after each response
            status = _ledger_status(base_url)
            assert status["queued"] == 50 and status["spilled"] == 0
            started = time.monotonic()
            _, stderr = run.finish()
            assert time.monotonic() - started < 5 and run.proc.returncode == 0
        assert "Traceback" not in stderr
    spilled = home / "ledger-spill.jsonl"
    assert (spilled.stat().st_mode & 0o777) == 0o600
    assert len(spilled.read_text().splitlines()) == 50
    assert count(home) == 0
    locker.execute("ROLLBACK")
    locker.close()
    session = run.env["HOTSWAP_SESSION"]
    report = json.loads(hotswap(env, "cost", "--json", "--session", session))
    assert report["total"]["requests"] == 50  # merged by the first command that opened it
    assert count(home) == 50 and not spilled.exists()
    hotswap(env, "cost")
    assert count(home) == 50

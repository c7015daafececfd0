"""`hotswap run` end to end with a stand-in `claude`: per-session routers side by side,
switching one or all, clean exit on every path, stale records cleaned."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from conftest import backends_toml
from fakes import ThreadedFake
from runner import cmd
from standin import make_standin

BIN = Path(sys.executable).parent
BODY = {"model": "claude-opus-5-5", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}


@pytest.fixture
def env(home: Path, tmp_path: Path) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "HOTSWAP_SESSION",
            "ANTHROPIC_BASE_URL",
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_AUTH_TOKEN",
        )
    }
    clean["HOTSWAP_HOME"] = str(home)
    clean["HOTSWAP_CLAUDE_BIN"] = str(make_standin(tmp_path))
    clean["HOME"] = str(tmp_path)  # no Claude login here
    return clean


class Launched:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        assert proc.stdout is not None
        self.launch: dict[str, Any] = json.loads(proc.stdout.readline())
        self.env: dict[str, str] = self.launch["env"]

    @property
    def session(self) -> str:
        return self.env["HOTSWAP_SESSION"]

    @property
    def base_url(self) -> str:
        return self.env["ANTHROPIC_BASE_URL"]

    def finish(self, code: int = 0) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"exit {code}\n")
        self.proc.stdin.close()
        return self.proc.wait(30)


@contextmanager
def launched(env: dict[str, str], *args: str) -> Iterator[Launched]:
    proc = subprocess.Popen(
        [str(BIN / "hotswap"), "run", *args],
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield Launched(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


def post(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(BODY).encode(),
        method="POST",
        headers={"content-type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except urllib.error.URLError:
        return -1  # refused: no router


def ask(base_url: str, **headers: str) -> int:
    return post(f"{base_url}/v1/messages", {"x-api-key": "sk-ant-user", **headers})


def test_two_sessions_switch_independently_and_all_at_once(home: Path, env: dict[str, str]) -> None:
    with ThreadedFake("anthropic") as ant, ThreadedFake("deepseek") as ds:
        (home / "config.toml").write_text(backends_toml({"anthropic": ant.url, "deepseek": ds.url}))
        env["DEEPSEEK_API_KEY"] = "sk-ds"
        with launched(env, "-b", "anthropic") as one, launched(env, "-b", "anthropic") as two:
            assert one.session != two.session and one.base_url != two.base_url
            cmd({**env, "HOTSWAP_SESSION": one.session}, "ds")
            assert ask(one.base_url) == 200
            assert ask(two.base_url) == 200
            assert [len(ant.received), len(ds.received)] == [1, 1]  # one went to each
            listed = {r["id"]: r for r in json.loads(cmd(env, "sessions", "--json").stdout)}
            assert listed[one.session]["backend"] == "deepseek"
            assert listed[two.session]["backend"] == "anthropic"
            assert listed[one.session]["requests"] == 1
            assert cmd(env, "hotswap", "use", "deepseek", "--all").returncode == 0
            assert ask(two.base_url) == 200
            assert len(ds.received) == 2
            assert one.finish() == 0 and two.finish() == 0
        assert cmd(env, "sessions", "--json").stdout.strip() == "[]"


def test_claudes_exit_code_is_returned_and_the_session_is_removed(
    home: Path, env: dict[str, str]
) -> None:
    with launched(env) as one:
        folder = home / "sessions" / one.session
        assert (folder / "session.json").exists()
        modes = {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir()}
        assert modes == {"session.json": 0o600, "mode": 0o600, "router.log": 0o600}
        assert one.finish(3) == 3
    assert not folder.exists()


def test_sigterm_to_hotswap_reaches_claude_and_cleans_up(home: Path, env: dict[str, str]) -> None:
    with launched(env) as one:
        one.proc.send_signal(signal.SIGTERM)
        assert one.proc.wait(30) == 128 + signal.SIGTERM
        assert not (home / "sessions" / one.session).exists()


def test_claude_killed_with_sigkill_still_cleans_up(home: Path, env: dict[str, str]) -> None:
    with launched(env) as one:
        os.kill(one.launch["pid"], signal.SIGKILL)
        assert one.proc.wait(30) == 128 + signal.SIGKILL
        assert not (home / "sessions" / one.session).exists()


def test_a_killed_hotswap_leaves_a_stale_record_that_sessions_cleans(
    home: Path, env: dict[str, str]
) -> None:
    with launched(env) as one:
        one.proc.kill()
        one.proc.wait(30)
        assert (home / "sessions" / one.session).exists()
        listed = json.loads(cmd(env, "sessions", "--json").stdout)
        assert [(r["id"], r["alive"]) for r in listed] == [(one.session, False)]
        assert not (home / "sessions" / one.session).exists()
        assert json.loads(cmd(env, "sessions", "--json").stdout) == []


def test_requests_without_the_session_secret_are_refused(home: Path, env: dict[str, str]) -> None:
    with ThreadedFake("anthropic") as ant:
        (home / "config.toml").write_text(backends_toml({"anthropic": ant.url}))
        with launched(env) as one:
            port = one.base_url.split(":")[2].split("/")[0]
            assert ask(f"http://127.0.0.1:{port}") == 401
            assert ask(one.base_url, Origin="https://evil.example") == 403
            assert ant.received == []
            one.finish()


def test_claude_is_launched_with_one_merged_settings_flag_and_claude_model_names(
    home: Path, env: dict[str, str]
) -> None:
    env["ANTHROPIC_DEFAULT_OPUS_MODEL"] = "deepseek-v4-pro"
    env["ANTHROPIC_DEFAULT_HAIKU_MODEL"] = "claude-haiku-5-5"
    user = json.dumps({"model": "opus", "theme": "dark"})
    with launched(env, "--", "--settings", user, "-p", "hello") as one:
        argv = one.launch["argv"]
        assert argv.count("--settings") == 1
        settings = json.loads(argv[argv.index("--settings") + 1])
        status_line = settings.pop("statusLine")
        assert settings == {"respondToBashCommands": False, "model": "opus", "theme": "dark"}
        assert status_line["type"] == "command"
        assert status_line["command"].endswith("statusline")
        assert argv[-2:] == ["-p", "hello"]
        assert one.env["ANTHROPIC_DEFAULT_OPUS_MODEL"] is None  # Claude Code keeps claude-* names
        assert one.env["ANTHROPIC_DEFAULT_HAIKU_MODEL"] == "claude-haiku-5-5"
        one.finish()


def test_without_any_anthropic_credential_claude_still_starts_and_anthropic_falls_back(
    home: Path, env: dict[str, str]
) -> None:
    with ThreadedFake("anthropic") as ant, ThreadedFake("deepseek") as ds:
        (home / "config.toml").write_text(backends_toml({"anthropic": ant.url, "deepseek": ds.url}))
        env["DEEPSEEK_API_KEY"] = "sk-ds"
        with launched(env, "-b", "anthropic") as one:
            token = one.env["ANTHROPIC_AUTH_TOKEN"]
            assert token  # a placeholder, so Claude Code starts
            status = post(f"{one.base_url}/v1/messages", {"authorization": f"Bearer {token}"})
            assert status == 200
            assert ant.received == []  # the placeholder never reaches Anthropic
            assert len(ds.received) == 1
            assert cmd({**env, "HOTSWAP_SESSION": one.session}, "backend").stdout.startswith(
                "deepseek"
            )
            one.finish()


def test_an_existing_anthropic_key_is_kept(home: Path, env: dict[str, str]) -> None:
    env["ANTHROPIC_API_KEY"] = "sk-ant-mine"
    with launched(env) as one:
        assert one.env["ANTHROPIC_API_KEY"] == "sk-ant-mine"
        assert one.env["ANTHROPIC_AUTH_TOKEN"] is None
        one.finish()


def test_a_missing_claude_says_how_to_install_it(home: Path, env: dict[str, str]) -> None:
    env.pop("HOTSWAP_CLAUDE_BIN")
    env["PATH"] = str(BIN)
    done = cmd(env, "hotswap", "run")
    assert done.returncode == 2
    assert "npm install -g @anthropic-ai/claude-code" in done.stderr
    assert not (home / "sessions").exists() or not any((home / "sessions").iterdir())


def test_a_users_own_status_line_is_kept(home: Path, env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").write_text(
        json.dumps({"statusLine": {"type": "command", "command": "my-line"}})
    )
    with launched(env) as one:
        argv = one.launch["argv"]
        settings = json.loads(argv[argv.index("--settings") + 1])
        assert "statusLine" not in settings  # theirs, from settings.json, stays in force
        one.finish()


def test_statusline_shows_the_sessions_backend_and_counts(home: Path, env: dict[str, str]) -> None:
    with ThreadedFake("anthropic") as ant:
        (home / "config.toml").write_text(backends_toml({"anthropic": ant.url}))
        with launched(env) as one:
            assert ask(one.base_url) == 200
            session_env = {**env, "HOTSWAP_SESSION": one.session}
            line = subprocess.run(
                [str(BIN / "hotswap"), "statusline"],
                env=session_env,
                input='{"model": {}}',
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert line.returncode == 0
            # the fake's 12 input + 7 output tokens on claude-opus-5-5 ($4 / $20 per Mtok)
            expected = f"⇄ anthropic · session {one.session} · $0.00019 · 1 req"
            assert line.stdout.strip() == expected
            cmd(session_env, "ds")
            line = subprocess.run(
                [str(BIN / "hotswap"), "statusline"],
                env=session_env,
                input="{}",
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert line.stdout.startswith("⇄ deepseek · session")
            one.finish()


def test_a_run_with_config_passes_it_to_the_commands_inside_the_session(
    home: Path, env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('[backends.mine]\nbase_url = "http://127.0.0.1:9"\nauth = "passthrough"\n')
    with launched(env, "--config", str(config), "-b", "mine") as one:
        assert one.env.get("HOTSWAP_CONFIG") == str(config)
        inside = {**env, "HOTSWAP_SESSION": one.session, "HOTSWAP_CONFIG": str(config)}
        assert cmd(inside, "backend").stdout.startswith("mine ")
        one.finish()


def test_loopback_is_exempt_from_proxies_inside_the_session(
    home: Path, env: dict[str, str]
) -> None:
    env["NO_PROXY"] = "corp.example"
    with launched(env) as one:
        no_proxy = one.launch["env"].get("NO_PROXY") or ""
        assert "127.0.0.1" in no_proxy.split(",") and "corp.example" in no_proxy.split(",")
        one.finish()


def test_the_router_port_is_closed_after_claude_exits(home: Path, env: dict[str, str]) -> None:
    with launched(env) as one:
        base = one.base_url
        assert ask(base) in (200, 502, 403)  # the router answers while the session runs
        one.finish()
    assert ask(base) == -1  # nothing listens any more

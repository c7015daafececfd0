"""End to end: `hotswap serve` as a user starts it, and the real Claude Code CLI in front of it.

The router follows a mode file naming DeepSeek, whose preset points at a fake; Claude Code
talks to the router with its own Anthropic key, which must never reach DeepSeek.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from claude_env import CLAUDE, needs_claude, offline_env
from conftest import backends_toml
from fakes import ThreadedFake, sse_message

HOTSWAP = Path(sys.executable).parent / "hotswap"
DS_KEY = "sk-ds-e2e-secret"
CLIENT_KEY = "sk-ant-client"


@contextmanager
def serve(home: Path, mode_file: Path, env: dict[str, str]) -> Iterator[str]:
    """Start `hotswap serve --port 0`; yield its URL once it printed it; SIGTERM at the end."""
    log = home / "serve.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [str(HOTSWAP), "serve", "--port", "0", "--mode-file", str(mode_file)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the router is bound (or has died)
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+)\n", line)
        assert match, f"unexpected first line {line!r}; stderr: {log.read_text()}"
        yield match.group(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError("hotswap serve ignored SIGTERM") from None
    assert code == 0, log.read_text()


@needs_claude
def test_claude_code_through_hotswap_serve_reaches_deepseek(tmp_path: Path) -> None:
    home = tmp_path / "hotswap-home"
    home.mkdir()
    mode_file = tmp_path / "mode"
    mode_file.write_text("deepseek\n")
    with ThreadedFake("deepseek") as ds:
        ds.script(sse_message("Hi from the fake DeepSeek."))
        (home / "config.toml").write_text(backends_toml({"deepseek": ds.url}))
        serve_env = offline_env(tmp_path, home, DEEPSEEK_API_KEY=DS_KEY)
        with serve(home, mode_file, serve_env) as url:
            claude_env = offline_env(
                tmp_path, home, ANTHROPIC_BASE_URL=url, ANTHROPIC_API_KEY=CLIENT_KEY
            )
            done = subprocess.run(
                [str(CLAUDE), "-p", "say hi", "--output-format", "json"],
                env=claude_env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=120,
            )
        assert done.returncode == 0, done.stderr + done.stdout
        result = json.loads(done.stdout)
        assert result["is_error"] is False
        assert result["result"] == "Hi from the fake DeepSeek."
        assert ds.received, "DeepSeek's fake saw no request"
        for sent in ds.received:
            assert sent.path_qs.startswith("/v1/messages")
            assert sent.body["model"] in ("deepseek-v4-pro", "deepseek-v4-flash")
            assert sent.headers["x-api-key"] == DS_KEY
            assert "authorization" not in sent.headers
            assert CLIENT_KEY not in str(sent.headers)
            assert "context_management" not in sent.body  # the preset's quirk
    assert DS_KEY not in (home / "serve.log").read_text()


def test_serve_refuses_a_non_loopback_host_without_allow_remote(tmp_path: Path) -> None:
    home = tmp_path / "hotswap-home"
    home.mkdir()
    done = subprocess.run(
        [str(HOTSWAP), "serve", "--host", "0.0.0.0", "--port", "0"],
        env=offline_env(tmp_path, home),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stdout == ""  # never got as far as listening
    assert "Error: refusing to bind 0.0.0.0" in done.stderr
    assert "--allow-remote" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_answers_status_and_exits_on_an_immediate_sigterm(tmp_path: Path) -> None:
    home = tmp_path / "hotswap-home"
    home.mkdir()
    mode_file = tmp_path / "mode"
    mode_file.write_text("ds\n")
    for _ in range(3):  # the race this guards against is lost about half the time
        with serve(home, mode_file, offline_env(tmp_path, home)):
            pass  # SIGTERM right after the `listening` line: handlers must be installed
    with serve(home, mode_file, offline_env(tmp_path, home)) as url:
        status = json.loads(urllib.request.urlopen(url + "/_hotswap/status", timeout=10).read())
    assert (status["mode"], status["mode_source"]) == ("deepseek", "mode file")
    assert status["mode_file"] == str(mode_file)

"""The installed console scripts as a user runs them: `hotswap run` with a stand-in claude
(standin.py), the switch commands, and plain HTTP to a router's base URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from standin import make_standin

BIN = Path(sys.executable).parent
BODY = {"model": "claude-opus-5-5", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}


def clean_env(home: Path, tmp_path: Path) -> dict[str, str]:
    """This process's environment without keys, sessions or a base URL; a stand-in claude;
    HOME in the test's folder (no Claude login)."""
    scrub = ("HOTSWAP_SESSION", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_MODEL")
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in scrub and not k.endswith(("_KEY", "_PROXY", "_proxy"))
    }
    clean["HOTSWAP_HOME"] = str(home)
    clean["HOTSWAP_CLAUDE_BIN"] = str(make_standin(tmp_path))
    clean["HOME"] = str(tmp_path)
    return clean


class Run:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        assert proc.stdout is not None
        self.launch: dict[str, Any] = json.loads(proc.stdout.readline())
        self.env: dict[str, str] = self.launch["env"]

    def finish(self) -> tuple[str, str]:
        """Let the stand-in claude exit; hotswap's remaining stdout and its stderr."""
        out, err = self.proc.communicate("exit 0\n", timeout=30)
        return out, err


@contextmanager
def hotswap_run(env: dict[str, str], *args: str, cwd: Path | None = None) -> Iterator[Run]:
    proc = subprocess.Popen(
        [str(BIN / "hotswap"), "run", *args],
        env=env,
        cwd=cwd,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield Run(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


def cmd(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]], env=env, capture_output=True, text=True, timeout=30
    )


def post(base_url: str) -> int:
    request = urllib.request.Request(
        f"{base_url}/v1/messages",
        data=json.dumps(BODY).encode(),
        method="POST",
        headers={"content-type": "application/json", "x-api-key": "sk-ant-user"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def ready(base_url: str) -> None:
    """Wait until the session's router answers (it loads while Claude Code starts)."""
    with urllib.request.urlopen(f"{base_url}/_hotswap/status", timeout=30) as resp:
        assert resp.status == 200

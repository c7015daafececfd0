"""Run the installed console scripts as a user types them, in a scrubbed environment.

env = user_env(tmp_path, home, DEEPSEEK_API_KEY="sk-test-...")
done = hotswap("backends", "--json", env=env)
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
CLAUDE_VERSION = "2.1.332 (Claude Code)"


def fake_claude(folder: Path, script: str = f'echo "{CLAUDE_VERSION}"') -> Path:
    """An executable `claude` that answers --version (or does what `script` says)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "claude"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def user_env(tmp: Path, home: Path, **extra: str) -> dict[str, str]:
    """Nothing from the developer's environment but a PATH to this install and the
    system's tools: a throwaway HOME, the test's HOTSWAP_HOME (private, as hotswap makes
    it), a fake `claude`."""
    home.chmod(0o700)
    user_home = tmp / "user-home"
    user_home.mkdir(exist_ok=True)
    env = {
        "PATH": f"{BIN}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(user_home),
        "HOTSWAP_HOME": str(home),
        "HOTSWAP_CLAUDE_BIN": str(fake_claude(tmp / "claude-bin")),
        "LC_ALL": "C.UTF-8",
        "LANG": "C.UTF-8",
    }
    env.update(extra)
    return {k: v for k, v in env.items() if v}


def hotswap(
    *args: str, env: dict[str, str], cwd: Path | None = None, script: str = "hotswap"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / script), *args],
        env=env,
        cwd=cwd or env["HOME"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, done.stderr

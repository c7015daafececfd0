"""The Claude Code CLI as `hotswap run` would find it, and its version (`claude --version`)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping
from typing import NamedTuple

from hotswap.osdeps import is_windows

VERSION_TIMEOUT_S = 10.0  # a cold start of the native binary can take a few seconds


class ClaudeCode(NamedTuple):
    path: str | None  # None: not found
    version: str | None  # None: unknown (not found, failed, timed out)
    problem: str | None = None  # why path or version is None

    @property
    def problem_line(self) -> str:
        """The problem in one line (the launcher's install hint spans three)."""
        lines = (self.problem or "").splitlines()
        return lines[0].removesuffix(" Install it with") if lines else ""


def locate(environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(path, None) or (None, why): exactly how `hotswap run` finds it (HOTSWAP_CLAUDE_BIN,
    else `claude` on PATH). Imports the launcher (and aiohttp): only commands that need it."""
    from hotswap.errors import ConfigError
    from hotswap.sessions.launcher import find_claude

    try:
        return find_claude(environ), None
    except ConfigError as exc:
        return None, str(exc)


def probe(environ: Mapping[str, str], timeout_s: float = VERSION_TIMEOUT_S) -> ClaudeCode:
    path, problem = locate(environ)
    if path is None:
        return ClaudeCode(None, None, problem)
    version, problem = run_version(path, dict(environ), timeout_s)
    return ClaudeCode(path, version, problem)


def run_version(path: str, env: dict[str, str], timeout_s: float) -> tuple[str | None, str | None]:
    """(first line of `claude --version`, None) or (None, why). The whole process group is
    killed on a timeout, so a hung child cannot keep its output pipe (and us) open."""
    extra: dict[str, object] = {}
    if not is_windows():
        extra["start_new_session"] = True
    try:
        proc = subprocess.Popen(
            [path, "--version"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
            **extra,  # type: ignore[call-overload]
        )
    except OSError as exc:
        return None, f"cannot run {path}: {exc.strerror}"
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill(proc)
        return None, f"`{path} --version` did not answer within {timeout_s:g} s"
    lines = (out or "").strip().splitlines()
    if proc.returncode != 0 or not lines:
        why = (err or out or "").strip().splitlines()
        detail = f": {why[0][:120]}" if why else ""
        return None, f"`{path} --version` exited with status {proc.returncode}{detail}"
    return lines[0].strip(), None


def _kill(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(OSError):
        if is_windows():
            proc.kill()
        else:
            os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()

"""Claude Code as hotswap's child process, started without importing `subprocess`.

`subprocess` brings threading, locale and re: several ms that Claude Code's start would
wait for. On POSIX the child is made by fork + execve (no threads exist yet); on Windows
(osdeps.can_fork) by subprocess.Popen. On Linux the child asks for SIGTERM when hotswap
dies (PR_SET_PDEATHSIG), so a killed hotswap does not leave Claude Code talking to a
router that is gone (elsewhere it may: its requests then fail to connect).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable
from typing import Protocol

from hotswap.osdeps import can_fork, is_linux


class Child(Protocol):
    pid: int

    def wait(self) -> int: ...  # the exit status; -N when killed by signal N

    def send_signal(self, sig: int) -> None: ...


class ForkedChild:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def wait(self) -> int:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)


def spawn(argv: list[str], env: dict[str, str]) -> Child:
    """Start argv[0] (a path) with `env`; stdin, stdout and stderr are hotswap's."""
    sys.stdout.flush()
    sys.stderr.flush()
    if not can_fork():
        import subprocess

        return subprocess.Popen(argv, env=env)
    die_with_parent = _pdeathsig()
    pid = os.fork()
    if pid == 0:  # the child: only exec (or exit) from here
        try:
            if die_with_parent is not None:
                die_with_parent()
            os.execve(argv[0], argv, env)
        except BaseException as exc:  # noqa: BLE001 -- the forked child says why, then exits
            with contextlib.suppress(BaseException):
                os.write(2, f"hotswap: cannot start {argv[0]}: {exc}\n".encode())
        os._exit(127)
    return ForkedChild(pid)


def forward(child: Child, sig: int) -> None:
    """Pass a signal on to Claude Code (gone already: nothing to do)."""
    with contextlib.suppress(ProcessLookupError):
        child.send_signal(sig)


def _pdeathsig() -> Callable[[], object] | None:
    """libc's prctl, loaded in the parent: the child only makes the call before its exec."""
    if not is_linux():
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def wait_exit_code(code: int) -> int:
    """Claude Code's exit status as a shell reports it (killed by signal N: 128 + N)."""
    return 128 - code if code < 0 else code

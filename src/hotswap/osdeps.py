"""What hotswap does differently on Windows: every POSIX-only call goes through here.

Named `osdeps`, not `platform`, which would shadow the standard library's module. Each
function takes the platform as a keyword (default: this machine's), so both branches are
unit-tested anywhere. Nothing here has been run on Windows (there was no Windows machine
to run it on); the Windows branches are tested by simulation only, as the README says.

    concern                POSIX                                 Windows
    file modes             0600 files, 0700 folders              only a read-only bit: files
                                                                 are private by the profile
                                                                 folder's ACL (%LOCALAPPDATA%)
    locks                  none taken: a session id is claimed   the same; os.replace is
                           by mkdir, a mode file replaced        retried while a reader holds
                           atomically; SQLite locks itself       the file (modefile._replace)
    is a process alive     kill(pid, 0)                          OpenProcess + exit code
    when it started        /proc/PID/stat (Linux: a reused pid   unknown: a reused pid looks
                           is told apart)                        alive until it exits
    stop `hotswap serve`   SIGINT, SIGTERM                       Ctrl-C, Ctrl-Break
    passed to Claude Code  SIGTERM, SIGHUP                       none: the console sends
                                                                 Ctrl-C to Claude Code itself
    signal handlers        loop.add_signal_handler               signal.signal, handing over
                                                                 with call_soon_threadsafe
                                                                 (the Proactor loop has none)
    start Claude Code      fork + execve (no `subprocess`        subprocess.Popen
                           import); Linux: PR_SET_PDEATHSIG
    heap tuning, trimming  glibc mallopt/malloc_trim (Linux)     off
    mount types            /proc/self/mountinfo (Linux)          none: each mode read is full

Stdlib only, `os` and `sys` at import: the switch commands import it and start in tens of
milliseconds.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

WINDOWS = "win32"
STILL_ACTIVE = 259  # GetExitCodeProcess's code of a process that has not exited
_QUERY_LIMITED = 0x1000  # PROCESS_QUERY_LIMITED_INFORMATION


def is_windows(platform: str = sys.platform) -> bool:
    return platform == WINDOWS


def is_linux(platform: str = sys.platform) -> bool:
    return platform.startswith("linux")


def can_fork(platform: str = sys.platform) -> bool:
    """Start Claude Code by fork + execve (POSIX), else with subprocess.Popen."""
    return not is_windows(platform) and hasattr(os, "fork")


def stop_signals(platform: str = sys.platform) -> tuple[str, ...]:
    """The signals that stop `hotswap serve` (the first gracefully, a second at once)."""
    return ("SIGINT", "SIGBREAK") if is_windows(platform) else ("SIGINT", "SIGTERM")


def forwarded_signals(platform: str = sys.platform) -> tuple[str, ...]:
    """The signals `hotswap run` passes on to Claude Code. None on Windows: a console's
    Ctrl-C and Ctrl-Break reach every process attached to it, Claude Code included."""
    return () if is_windows(platform) else ("SIGTERM", "SIGHUP")


def on_signals(
    loop: asyncio.AbstractEventLoop,
    names: tuple[str, ...],
    callback: Callable[[int], object],
    platform: str = sys.platform,
) -> list[int]:
    """Run `callback(signum)` on the loop for each signal in `names` this Python has; the
    numbers handled. POSIX: loop.add_signal_handler. Windows' Proactor loop has none, so a
    plain signal.signal handler hands over with call_soon_threadsafe, which wakes the loop."""
    import signal

    handled = []
    for name in names:
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        if is_windows(platform):
            signal.signal(sig, lambda signum, _frame: loop.call_soon_threadsafe(callback, signum))
        else:
            try:
                loop.add_signal_handler(sig, callback, sig)
            except (NotImplementedError, RuntimeError):
                continue
        handled.append(int(sig))
    return handled


def process_start_time(pid: int, platform: str = sys.platform) -> str:
    """An identifier of when `pid` started, to tell a reused pid apart: /proc on Linux;
    '' elsewhere and when unknown."""
    if not is_linux(platform):
        return ""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def pid_alive(pid: int, platform: str = sys.platform) -> bool:
    if pid <= 0:
        return False
    if is_windows(platform):
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _windows_pid_alive(pid: int) -> bool:
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(_QUERY_LIMITED, False, pid)
    if not handle:
        return False
    code = ctypes.c_ulong()
    kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
    kernel32.CloseHandle(handle)
    return code.value == STILL_ACTIVE


def checks_file_modes(platform: str = sys.platform) -> bool:
    """Whether 0600/0700 modes mean anything here (doctor checks and fixes them). Windows
    keeps only a read-only bit; a file's privacy there is its folder's ACL."""
    return not is_windows(platform)


def has_glibc_heap(platform: str = sys.platform) -> bool:
    """Whether mallopt and malloc_trim may be looked for (glibc: Linux only; on musl the
    lookup fails and tuning.py gives up)."""
    return is_linux(platform)

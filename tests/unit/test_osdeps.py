"""osdeps: both branches of each platform difference, chosen by the platform argument (the
process's own sys.platform is never patched)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from hotswap import osdeps

POSIX = ("linux", "darwin")


@pytest.mark.parametrize("platform", [*POSIX, "win32"])
def test_what_each_platform_does(platform: str) -> None:
    windows = platform == "win32"
    assert osdeps.is_windows(platform) is windows
    assert osdeps.is_linux(platform) is (platform == "linux")
    assert osdeps.checks_file_modes(platform) is not windows
    assert osdeps.has_glibc_heap(platform) is (platform == "linux")  # no malloc_trim else
    if windows:
        assert not osdeps.can_fork(platform)  # Claude Code started by subprocess.Popen
        assert osdeps.stop_signals(platform) == ("SIGINT", "SIGBREAK")
        assert osdeps.forwarded_signals(platform) == ()  # the console reaches Claude Code
    else:
        assert osdeps.can_fork(platform) is hasattr(os, "fork")
        assert osdeps.stop_signals(platform) == ("SIGINT", "SIGTERM")
        assert osdeps.forwarded_signals(platform) == ("SIGTERM", "SIGHUP")


def test_process_start_time_is_read_from_proc_on_linux_only() -> None:
    assert osdeps.process_start_time(os.getpid(), "win32") == ""
    assert osdeps.process_start_time(os.getpid(), "darwin") == ""
    if sys.platform.startswith("linux"):
        assert osdeps.process_start_time(os.getpid(), "linux").isdigit()
        assert osdeps.process_start_time(2**22 + 7, "linux") == ""  # no such process


def test_pid_alive() -> None:
    assert osdeps.pid_alive(os.getpid())
    assert not osdeps.pid_alive(0) and not osdeps.pid_alive(0, "win32")
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert not osdeps.pid_alive(int(done.stdout))


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs SIGUSR1 to send itself")
@pytest.mark.parametrize("platform", ["linux", "win32"])
async def test_on_signals_runs_the_callback_on_the_loop(platform: str) -> None:
    """POSIX: loop.add_signal_handler. Windows' branch (a signal.signal handler that hands
    over with call_soon_threadsafe) runs here too: only the signal's name differs there."""
    loop = asyncio.get_running_loop()
    got: asyncio.Queue[int] = asyncio.Queue()
    before = signal.getsignal(signal.SIGUSR1)
    try:
        handled = osdeps.on_signals(loop, ("SIGUSR1", "SIGNOSUCH"), got.put_nowait, platform)
        assert handled == [signal.SIGUSR1]  # a signal this Python lacks is skipped
        os.kill(os.getpid(), signal.SIGUSR1)
        assert await asyncio.wait_for(got.get(), 5) == signal.SIGUSR1
    finally:
        loop.remove_signal_handler(signal.SIGUSR1)
        signal.signal(signal.SIGUSR1, before)

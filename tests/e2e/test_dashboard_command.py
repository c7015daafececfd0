"""`hotswap dashboard` as a user types it: it prints its URL (with the token), serves the
page on 127.0.0.1, stops on Ctrl-C without a traceback, and says `Error: ...` when its
port is taken."""

from __future__ import annotations

import queue
import signal
import socket
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path

from cli_run import BIN, assert_no_traceback, hotswap, user_env


def _opener() -> urllib.request.OpenerDirector:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    return urllib.request.build_opener(NoRedirect, urllib.request.ProxyHandler({}))


def test_dashboard_prints_its_url_serves_it_and_stops_on_ctrl_c(tmp_path: Path, home: Path) -> None:
    env = {**user_env(tmp_path, home), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [str(BIN / "hotswap"), "dashboard", "--no-open"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    try:
        first = lines.get(timeout=30)
        assert first.startswith("hotswap dashboard: http://127.0.0.1:")
        url = first.split(": ", 1)[1].strip()
        assert "/?token=" in url and len(url.split("token=")[1]) >= 40
        opener = _opener()
        try:
            opener.open(url, timeout=10)
            raise AssertionError("expected the token's redirect")
        except urllib.error.HTTPError as exc:
            assert exc.code == 303 and "HttpOnly" in exc.headers["Set-Cookie"]
        try:
            opener.open(url.split("?")[0], timeout=10)
            raise AssertionError("expected a refusal without the token")
        except urllib.error.HTTPError as exc:
            assert exc.code == 403
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(20)
    assert proc.stderr is not None
    assert code == 0 and "Traceback" not in proc.stderr.read()


def test_a_taken_port_is_an_error_not_a_traceback(tmp_path: Path, home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = hotswap("dashboard", "--no-open", "--port", str(port), env=user_env(tmp_path, home))
    assert done.returncode == 2
    assert done.stderr.startswith(f"Error: cannot serve the dashboard on 127.0.0.1:{port}")
    assert "fix:" in done.stderr
    assert_no_traceback(done)


def test_dashboard_help_says_what_it_does(tmp_path: Path, home: Path) -> None:
    done = hotswap("dashboard", "--help", env=user_env(tmp_path, home))
    assert done.returncode == 0 and "--no-open" in done.stdout and "--port" in done.stdout
    assert "dashboard" in hotswap("--help", env=user_env(tmp_path, home)).stdout


def test_without_a_display_it_prints_the_url_instead_of_opening_a_browser(
    tmp_path: Path, home: Path
) -> None:
    """No DISPLAY, no BROWSER (a server, an ssh session): the URL only, no text browser."""
    env = {**user_env(tmp_path, home), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [str(BIN / "hotswap"), "dashboard"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().startswith("hotswap dashboard: http://127.0.0.1:")
        assert "token in the URL" in proc.stdout.readline()
        assert "no browser could be started here" in proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0

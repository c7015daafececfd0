"""Start-up and edges, as a user types the commands: bad and busy ports are one `Error:`
line, malformed HTTP gets Anthropic-shaped JSON and one short log line, `serve` refuses
any Origin, a fallback chain cannot name its own backend, router.log is size-capped, and
a session whose folder was removed is registered again."""

from __future__ import annotations

import json
import logging
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import backends_toml
from fakes import ThreadedFake
from runner import BIN, clean_env, cmd, hotswap_run, post, ready


@pytest.fixture
def env(home: Path, tmp_path: Path) -> dict[str, str]:
    return clean_env(home, tmp_path)


def hotswap(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "hotswap"), *args], env=env, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize("command", ["serve", "run"])
@pytest.mark.parametrize("port", ["99999", "-1", "65536", "http"])
def test_a_port_out_of_range_is_a_usage_error(env: dict[str, str], command: str, port: str) -> None:
    done = hotswap(env, command, "--port", port)
    assert done.returncode == 2
    assert "Error: Invalid value for '--port'" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


@pytest.mark.parametrize("command", ["serve", "run"])
def test_a_busy_port_is_one_error_line_and_exit_2(env: dict[str, str], command: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = hotswap(env, command, "--port", str(port))
    assert done.returncode == 2
    assert done.stdout == ""
    first, fix = done.stderr.splitlines()  # the house style: the error, then its fix
    assert first == f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"
    assert fix.startswith("  fix: ")


def test_a_fallback_chain_naming_its_own_backend_is_a_config_error(
    home: Path, env: dict[str, str]
) -> None:
    (home / "config.toml").write_text('[backends.anthropic]\nfallback = ["ant"]\n')
    done = hotswap(env, "serve", "--port", "0")
    assert done.returncode == 2
    assert done.stderr.startswith("Error: ")
    assert "'backends.anthropic.fallback': 'ant' (a backend cannot fall back to itself)" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr


@contextmanager
def serve(env: dict[str, str]) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    proc = subprocess.Popen(
        [str(BIN / "hotswap"), "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        match = re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)\n", proc.stdout.readline())
        assert match
        yield int(match.group(1)), proc
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)


def raw_exchange(port: int, data: bytes) -> tuple[int, dict[str, object]]:
    """Send raw bytes; the status and JSON body of the answer (the router closes after)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"content-type: application/json" in head.lower()
    return status, json.loads(body)


MALFORMED = {
    "bad header": b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n",
    "url too long": b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "header too long": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: " + b"a" * 20000 + b"\r\n\r\n",
    "not http": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\r\n\r\n",
    "bad method": b"G\x00T / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
}


def test_every_400_is_anthropic_shaped_and_logged_as_one_short_line(env: dict[str, str]) -> None:
    with serve(env) as (port, proc):
        for name, data in MALFORMED.items():
            status, body = raw_exchange(port, data)
            assert status == 400, name
            assert body["type"] == "error", name
            error = body["error"]
            assert isinstance(error, dict)
            assert error["type"] == "invalid_request_error", name
            assert str(error["message"]).startswith("hotswap: malformed HTTP request"), name
    assert proc.stderr is not None
    log = proc.stderr.read()
    assert "Traceback" not in log
    assert log.count("refused a malformed HTTP request") == len(MALFORMED)
    assert max(len(line) for line in log.splitlines()) < 200


def test_serve_refuses_any_origin_even_a_loopback_one(env: dict[str, str]) -> None:
    with serve(env) as (port, _):
        for origin in ("http://localhost:5173", "http://127.0.0.1", "null", "https://evil.test"):
            request = (
                f"GET /_hotswap/status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Origin: {origin}\r\n\r\n"
            )
            status, body = raw_exchange(port, request.encode())
            assert status == 403, origin
            assert body["error"] == {
                "type": "permission_error",
                "message": "hotswap: requests from a web page are refused",
            }


def test_router_log_is_size_capped_and_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hotswap.sessions import session_router

    monkeypatch.setattr(session_router, "LOG_MAX_BYTES", 2000)
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    path = tmp_path / "router.log"
    try:
        session_router.log_to_file(path)
        for i in range(500):
            logging.getLogger("hotswap").info("line %d of a noisy client", i)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["router.log", "router.log.1", "router.log.2"]
    for name in files:
        assert (tmp_path / name).stat().st_size <= 2000
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600


def test_a_session_whose_folder_was_removed_is_registered_again(
    home: Path, env: dict[str, str]
) -> None:
    import shutil

    from hotswap.sessions.session_router import RECHECK_S

    with ThreadedFake("anthropic") as ant, ThreadedFake("deepseek") as ds:
        (home / "config.toml").write_text(backends_toml({"anthropic": ant.url, "deepseek": ds.url}))
        with hotswap_run({**env, "DEEPSEEK_API_KEY": "sk-ds"}) as run:
            base_url = run.env["ANTHROPIC_BASE_URL"]
            ready(base_url)
            inside = {**env, "HOTSWAP_SESSION": run.env["HOTSWAP_SESSION"]}
            folder = home / "sessions" / run.env["HOTSWAP_SESSION"]
            shutil.rmtree(folder)
            assert cmd(inside, "ds").returncode == 2  # the session cannot be found now
            deadline = time.monotonic() + RECHECK_S + 5
            while not (folder / "session.json").exists():  # the router's periodic check
                assert time.monotonic() < deadline, "the session was not registered again"
                time.sleep(0.05)
            assert (folder / "mode").read_text().strip() == "anthropic"  # as it was
            done = cmd(inside, "ds")
            assert done.returncode == 0, done.stderr
            assert post(base_url) == 200
            run.finish()
        assert ant.received == [] and len(ds.received) == 1

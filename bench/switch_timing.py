"""Wall time of the switch commands, against `python -c pass` (the interpreter's floor).

    python bench/switch_timing.py [--runs 30]

Each command runs as a user types it (the console scripts beside this interpreter), with
HOTSWAP_HOME in a temp dir holding a config.toml, so config parsing is included. Uses
hyperfine when it is installed, else repeated subprocess runs; reports medians.

`hotswap statusline` is timed twice: without HOTSWAP_SESSION (it reads the global mode
file) and inside a live session (a registered session whose "router" is a stand-in HTTP
server in this process answering /s/<secret>/_hotswap/status, so the loopback status
request is included). Its stdin is /dev/null.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CONFIG = """default_backend = "anthropic"
[backends.deepseek]
fallback = ["anthropic"]
[backends.deepseek.models]
"claude-opus-*" = "deepseek-v4-pro"
"*" = "deepseek-v4-flash"
"""


def commands(bin_dir: Path) -> dict[str, list[str]]:
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "ds": [str(bin_dir / "ds")],
        "backend": [str(bin_dir / "backend")],
        "backend deepseek": [str(bin_dir / "backend"), "deepseek"],
        "hotswap statusline": [str(bin_dir / "hotswap"), "statusline"],
    }


STATUS = b'{"mode": "deepseek", "requests": {"deepseek": 3}, "fallback": null}'


class _StatusHandler(BaseHTTPRequestHandler):
    """A stand-in for a session's router: answers the status request the status line makes."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(STATUS)))
        self.end_headers()
        self.wfile.write(STATUS)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def live_session(home: Path) -> Iterator[str]:
    """A registered, live session (this process) whose router is a stand-in status server."""
    from hotswap.sessions.registry import Session, process_start_time, register, remove

    server = ThreadingHTTPServer(("127.0.0.1", 0), _StatusHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    session = Session(
        id="b1",
        port=server.server_address[1],
        pid=os.getpid(),
        cwd=str(home),
        started=time.time(),
        secret="bench-secret",
        backend="deepseek",
        pid_start=process_start_time(os.getpid()),
    )
    register(home / "sessions", session)
    try:
        yield session.id
    finally:
        remove(home / "sessions", session.id)
        server.shutdown()
        server.server_close()


def clean_env(home: Path) -> dict[str, str]:
    """No session, no ANTHROPIC_BASE_URL: the commands act on the global mode file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOTSWAP_", "ANTHROPIC_"))}
    env["HOTSWAP_HOME"] = str(home)
    return env


def time_subprocess(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    run = {"env": env, "check": True, "stdin": subprocess.DEVNULL}  # statusline reads stdin
    subprocess.run(argv, capture_output=True, **run)  # warm the page cache
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **run)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def time_hyperfine(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [
                "hyperfine",
                "-N",
                "--warmup",
                "2",
                "--runs",
                str(runs),
                "--export-json",
                out.name,
                "--",
                " ".join(argv),
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        data = json.loads(Path(out.name).read_text())
    return [t * 1000 for t in data["results"][0]["times"]]


def measure(runs: int) -> dict[str, dict[str, float]]:
    """{command: {median_ms, min_ms, added_ms}}; added is over `python -c pass`."""
    bin_dir = Path(sys.executable).parent
    use_hyperfine = shutil.which("hyperfine") is not None
    timer = time_hyperfine if use_hyperfine else time_subprocess
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="hotswap-bench-switch-") as tmp:
        home = Path(tmp)
        (home / "config.toml").write_text(CONFIG)
        env = clean_env(home)
        for name, argv in commands(bin_dir).items():
            if not Path(argv[0]).exists():
                continue
            times = timer(argv, env, runs)
            results[name] = {"median_ms": statistics.median(times), "min_ms": min(times)}
        statusline = commands(bin_dir)["hotswap statusline"]
        if Path(statusline[0]).exists():
            with live_session(home) as session_id:
                times = timer(statusline, {**env, "HOTSWAP_SESSION": session_id}, runs)
            results["hotswap statusline (live session)"] = {
                "median_ms": statistics.median(times),
                "min_ms": min(times),
            }
    base = results["python -c pass"]["median_ms"]
    for row in results.values():
        row["added_ms"] = row["median_ms"] - base
        row["tool"] = "hyperfine" if use_hyperfine else "subprocess"  # type: ignore[assignment]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    for name, row in measure(args.runs).items():
        print(
            f"{name:<34} median {row['median_ms']:6.1f} ms  min {row['min_ms']:6.1f} ms  "
            f"(+{row['added_ms']:.1f} ms over python -c pass)"
        )


if __name__ == "__main__":
    main()

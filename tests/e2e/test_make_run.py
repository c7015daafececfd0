"""README's first command, `make run`: it starts `hotswap serve`, which then says what to do
next with the address it really listens on (how to point Claude Code at it, how to switch,
or `hotswap run` instead). `make run` itself would block and install; the test reads what
make would run (`make -n`) and runs that command with a short-lived router."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from claude_env import offline_env

ROOT = Path(__file__).resolve().parents[2]
HOTSWAP = Path(sys.executable).parent / "hotswap"


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_run_runs_hotswap_serve() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}  # under `make test`
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "run"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert done.stdout.splitlines()[-1].endswith("/hotswap serve"), done.stdout
    assert "3199" not in done.stdout  # the address is serve's to say: it knows the port


def test_serve_prints_the_next_step_with_its_own_address(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)  # no config, no key: as README's first command promises
    proc = subprocess.Popen(
        [str(HOTSWAP), "serve", "--port", "0"],
        env=offline_env(tmp_path, home),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # blocks until the router is bound (or has died)
    finally:
        proc.send_signal(signal.SIGTERM)  # the next lines are printed with the first
        proc.wait(timeout=15)
    rest = proc.stdout.read()  # after readline's buffer: not communicate(), which skips it
    match = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+)\n", first)
    assert match, first
    url = match.group(1)
    following = rest.splitlines()[:3]
    assert following == [
        f"next, in another terminal: ANTHROPIC_BASE_URL={url} claude",
        "  then switch it from anywhere: ds, ant, backend NAME (or !ds inside Claude Code)",
        "  or, without serve: hotswap run (Claude Code behind a router of its own)",
    ]

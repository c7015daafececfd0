"""A switch to a local server says when that server cannot serve yet: it does not answer,
or it has no model to be asked for (docs/sessions.md, "Switching to a local server"). The
switch itself happens either way."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from claude_env import BIN
from hotswap.sessions.modefile import read_mode


def run_cmd(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "HOTSWAP_HOME": str(home), "HOME": str(home)}
    return subprocess.run(
        [str(BIN / argv[0]), *argv[1:]], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def listening() -> Iterator[int]:
    """A port something listens on (a local server that is up)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


@pytest.fixture
def closed() -> int:
    """A port nothing listens on (a local server that is not started)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def configure(home: Path, port: int, extra: str = "") -> None:
    (home / "config.toml").write_text(
        f'[backends.vllm]\nbase_url = "http://127.0.0.1:{port}"\n{extra}'
    )


def test_a_local_server_that_does_not_answer_is_named_after_the_switch(
    home: Path, closed: int
) -> None:
    configure(home, closed, 'default_model = "qwen3"\n')
    done = run_cmd(home, "hotswap", "use", "vllm")
    assert done.returncode == 0, done.stderr
    assert read_mode(home / "mode") == "vllm"  # switched all the same
    assert (
        f"! vllm does not answer at http://127.0.0.1:{closed} (start it, or !ant to switch "
        "back)" in done.stderr.splitlines()
    )
    assert "default_model" not in done.stderr


def test_a_local_server_without_a_model_is_told_how_to_give_it_one(
    home: Path, listening: int
) -> None:
    configure(home, listening)
    for argv in (("backend", "vllm"), ("hotswap", "use", "vllm")):
        done = run_cmd(home, *argv)
        assert done.returncode == 0, done.stderr
        assert done.stderr.splitlines()[-1] == (
            '! vllm has no default_model: set [backends.vllm] default_model = "..." or pass --model'
        )
        assert "does not answer" not in done.stderr
    done = run_cmd(home, "backend", "vllm", "--model", "qwen3")
    assert "! " not in done.stderr and read_mode(home / "mode") == "vllm qwen3"


def test_a_local_server_up_with_a_model_and_a_cloud_get_no_warning(
    home: Path, listening: int
) -> None:
    configure(home, listening, 'default_model = "qwen3"\n')
    assert "! " not in run_cmd(home, "hotswap", "use", "vllm").stderr
    # deepseek's host is not probed (this test has no network): no line either way
    done = run_cmd(home, "ds")
    assert done.returncode == 0 and "! " not in done.stderr


def test_a_passthrough_backend_on_loopback_is_anthropic_not_a_local_server(
    home: Path, closed: int
) -> None:
    """Anthropic's API behind a local proxy takes Claude Code's own model names."""
    (home / "config.toml").write_text(
        f'[backends.anthropic]\nbase_url = "http://127.0.0.1:{closed}"\n'
    )
    done = run_cmd(home, "ant")
    assert done.returncode == 0 and "! " not in done.stderr

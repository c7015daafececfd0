"""A deepclaude user's master commands, typed as the pull request spelled them, against two
live `hotswap run` sessions: `ds -All`, `ds -Session PORT`, `ant -session ID`, in any case."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from runner import Run, clean_env, cmd, hotswap_run, ready


@pytest.fixture
def env(home: Path, tmp_path: Path) -> dict[str, str]:
    return clean_env(home, tmp_path)


@pytest.fixture
def two(env: dict[str, str]) -> Iterator[tuple[Run, Run]]:
    with ExitStack() as stack:
        runs = [stack.enter_context(hotswap_run(env)) for _ in range(2)]
        for run in runs:
            ready(run.env["ANTHROPIC_BASE_URL"])
        yield runs[0], runs[1]
        for run in runs:
            run.finish()


def _port(run: Run) -> str:
    return run.env["ANTHROPIC_BASE_URL"].split(":")[2].split("/")[0]


def _backend(env: dict[str, str], run: Run) -> str:
    done = cmd(env, "backend", "--session", run.env["HOTSWAP_SESSION"])
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[0]


def test_ds_all_switches_both_sessions_in_any_case(
    env: dict[str, str], two: tuple[Run, Run]
) -> None:
    done = cmd(env, "ds", "-All")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2
    assert all(line.endswith("anthropic -> deepseek") for line in done.stdout.splitlines())
    assert [_backend(env, run) for run in two] == ["deepseek", "deepseek"]
    assert cmd(env, "ant", "-ALL").returncode == 0
    assert cmd(env, "backend", "kimi", "-all").returncode == 0
    assert [_backend(env, run) for run in two] == ["kimi", "kimi"]


def test_session_by_port_or_id_switches_only_that_session(
    env: dict[str, str], two: tuple[Run, Run]
) -> None:
    first, second = two
    done = cmd(env, "ds", "-Session", _port(first))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"session {first.env['HOTSWAP_SESSION']} (port {_port(first)})")
    assert [_backend(env, run) for run in two] == ["deepseek", "anthropic"]
    assert cmd(env, "ds", "-session", second.env["HOTSWAP_SESSION"]).returncode == 0
    assert cmd(env, "ant", f"-SESSION:{_port(first)}").returncode == 0
    assert [_backend(env, run) for run in two] == ["anthropic", "deepseek"]
    shown = cmd(env, "backend", "-Session", _port(second))
    assert shown.stdout.startswith("deepseek  (session ")
    used = cmd(env, "hotswap", "use", "glm", "-Session", _port(second))
    assert used.returncode == 0, used.stderr
    assert _backend(env, second) == "glm"


def test_sessions_takes_the_same_spellings(env: dict[str, str], two: tuple[Run, Run]) -> None:
    first, _ = two
    listed = json.loads(cmd(env, "sessions", "-All", "--json").stdout)
    assert len(listed) == 2
    one = json.loads(cmd(env, "sessions", "-Session", _port(first), "--json").stdout)
    assert [row["id"] for row in one] == [first.env["HOTSWAP_SESSION"]]


def test_an_unknown_session_is_an_error_not_a_guess(
    env: dict[str, str], two: tuple[Run, Run]
) -> None:
    done = cmd(env, "ds", "-Session", "99999")  # no port, and longer than any id
    assert done.returncode == 2
    assert done.stderr == "Error: no session with port or id 99999; see `sessions`\n"
    assert [_backend(env, run) for run in two] == ["anthropic", "anthropic"]


def test_a_deepclaude_curl_line_switches_one_live_session(
    env: dict[str, str], two: tuple[Run, Run]
) -> None:
    first, _ = two
    base = first.env["ANTHROPIC_BASE_URL"]  # what `!curl` inside the session sees
    form = urllib.request.Request(f"{base}/_proxy/mode", data=b"backend=ds", method="POST")
    with urllib.request.urlopen(form, timeout=10) as resp:
        assert json.loads(resp.read()) | {"mode_file": ""} == {
            "mode": "deepseek",
            "previous": "anthropic",
            "model": None,
            "mode_file": "",
            "warning": "DEEPSEEK_API_KEY is not set where this router runs",
        }
    assert [_backend(env, run) for run in two] == ["deepseek", "anthropic"]
    with urllib.request.urlopen(f"{base}/_router/status", timeout=10) as resp:
        status = json.loads(resp.read())
    assert status["mode"] == "deepseek" and str(status["port"]) == _port(first)
    assert status["session"] == first.env["HOTSWAP_SESSION"]

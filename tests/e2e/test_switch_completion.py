"""Shell completion of the switch commands' own scripts (`ds`, `ant`, `backend`, `sessions`,
`routes`), as the shell runs it: the script again, with click's variables set
(docs/commands.md, "Shell completion")."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from cli_run import hotswap, user_env
from hotswap.sessions.registry import Session, process_start_time, register

SCRIPTS = ["ds", "ant", "backend", "sessions", "routes"]


def complete(env: dict[str, str], script: str, words: str, shell: str = "bash") -> list[str]:
    """What the shell's completion function would get for the command line `words`."""
    parts = words.split(" ")
    var = f"_{script.upper()}_COMPLETE"
    extra = {var: f"{shell}_complete", "COMP_WORDS": words}
    extra["COMP_CWORD"] = str(len(parts) - 1) if shell != "fish" else parts[-1]
    done = hotswap(env={**env, **extra}, script=script)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_every_script_gives_its_completion_script(
    home: Path, tmp_path: Path, script: str, shell: str
) -> None:
    env = {**user_env(tmp_path, home), f"_{script.upper()}_COMPLETE": f"{shell}_source"}
    done = hotswap(env=env, script=script)
    assert done.returncode == 0, done.stderr
    assert f"_{script.upper()}_COMPLETE" in done.stdout  # the script calls itself back
    assert not (home / "mode").exists()  # nothing was switched


def test_backend_completes_backend_names_and_aliases_from_the_config(
    home: Path, tmp_path: Path
) -> None:
    (home / "config.toml").write_text(
        '[backends.devbox]\nbase_url = "http://127.0.0.1:9"\nauth = "none"\naliases = ["dx"]\n'
    )
    env = user_env(tmp_path, home)
    assert complete(env, "backend", "backend d") == [
        "plain,dashscope",
        "plain,deepseek",
        "plain,devbox",
        "plain,ds",
        "plain,dx",
    ]
    assert "plain,dx" in complete(env, "backend", "backend d", shell="fish")
    assert "plain,--model" in complete(env, "ds", "ds --")
    assert complete(env, "routes", "routes o") == ["plain,on", "plain,off"]
    assert "plain,--wide" in complete(env, "sessions", "sessions --")


def test_session_flags_complete_the_live_sessions_ids(home: Path, tmp_path: Path) -> None:
    pid = os.getpid()  # this test's own process: the session is alive while it runs
    live = Session("3f2a", 41231, pid, str(tmp_path), time.time(), "s", "anthropic")
    register(home / "sessions", live._replace(pid_start=process_start_time(pid)))
    env = user_env(tmp_path, home)
    for script in ("ds", "ant", "backend", "routes"):
        assert complete(env, script, f"{script} --session ") == ["plain,3f2a"]
    assert complete(env, "backend", "backend -s 3") == ["plain,3f2a"]

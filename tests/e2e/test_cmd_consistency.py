"""What every command has: an example in --help, `Error: ...` and no traceback, --version
and `hotswap version`, and shell completion through click (past entry.py's fast path)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_env import CLAUDE, needs_claude
from cli_run import CLAUDE_VERSION, assert_no_traceback, hotswap, user_env
from hotswap import __version__

COMMANDS = [
    ("hotswap", "serve"),
    ("hotswap", "run"),
    ("hotswap", "use"),
    ("hotswap", "backend"),
    ("hotswap", "sessions"),
    ("hotswap", "backends"),
    ("hotswap", "doctor"),
    ("hotswap", "config"),
    ("hotswap", "config", "init"),
    ("hotswap", "config", "path"),
    ("hotswap", "config", "show"),
    ("hotswap", "config", "validate"),
    ("hotswap", "version"),
    ("hotswap",),
    ("ds",),
    ("ant",),
    ("backend",),
    ("sessions",),
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_help_shows_an_example(home: Path, tmp_path: Path, command: tuple[str, ...]) -> None:
    script, *args = command
    done = hotswap(*args, "--help", env=user_env(tmp_path, home), script=script)
    assert done.returncode == 0, done.stderr
    assert "example" in done.stdout.lower()


def test_version_flag_and_command(home: Path, tmp_path: Path) -> None:
    env = user_env(tmp_path, home)
    assert hotswap("--version", env=env).stdout == f"hotswap, version {__version__}\n"
    data = json.loads(hotswap("version", "--json", env=env).stdout)
    assert data["hotswap"] == __version__
    assert data["python"].count(".") == 2 and data["platform"]
    assert data["claude_code"]["version"] == CLAUDE_VERSION
    human = hotswap("version", env=env).stdout
    assert human.startswith(f"hotswap      {__version__}\n")
    assert f"claude code  {CLAUDE_VERSION}" in human
    env.pop("HOTSWAP_CLAUDE_BIN")
    missing = json.loads(hotswap("version", "--json", env=env).stdout)["claude_code"]
    assert missing["version"] is None and "not found" in missing["problem"]


@needs_claude
def test_version_finds_the_real_claude_code_on_path(home: Path, tmp_path: Path) -> None:
    env = user_env(tmp_path, home)
    env.pop("HOTSWAP_CLAUDE_BIN")
    env["PATH"] = f"{CLAUDE.parent}:{env['PATH']}"
    data = json.loads(hotswap("version", "--json", env=env).stdout)
    assert data["claude_code"]["version"].startswith("2.1.332")


def complete(env: dict[str, str], shell: str, words: str) -> str:
    """What the shell's completion function would get for the command line `words`."""
    parts = words.split(" ")
    extra = {"_HOTSWAP_COMPLETE": f"{shell}_complete", "COMP_WORDS": words}
    extra["COMP_CWORD"] = str(len(parts) - 1) if shell != "fish" else parts[-1]
    done = hotswap(env={**env, **extra})
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_come_from_click(home: Path, tmp_path: Path, shell: str) -> None:
    done = hotswap(env={**user_env(tmp_path, home), "_HOTSWAP_COMPLETE": f"{shell}_source"})
    assert done.returncode == 0 and "_HOTSWAP_COMPLETE" in done.stdout


def test_completion_offers_commands_backends_and_options(home: Path, tmp_path: Path) -> None:
    (home / "config.toml").write_text(
        '[backends.local]\nbase_url = "http://127.0.0.1:9"\nauth = "passthrough"\n'
    )
    env = user_env(tmp_path, home)
    assert "plain,doctor" in complete(env, "bash", "hotswap do").splitlines()
    assert complete(env, "bash", "hotswap use d").splitlines() == [
        "plain,dashscope",
        "plain,deepseek",
        "plain,ds",
    ]
    assert "plain,local" in complete(env, "bash", "hotswap doctor --live l").splitlines()
    assert "plain,--json" in complete(env, "bash", "hotswap backends --").splitlines()
    assert "deepseek" in complete(env, "fish", "hotswap backend dee")
    assert "config" in complete(env, "zsh", "hotswap con")


def test_errors_are_one_line_and_a_fix_never_a_traceback(home: Path, tmp_path: Path) -> None:
    env = user_env(tmp_path, home)
    (home / "config.toml").write_text("not toml at all [")
    commands = (
        ("backends",),
        ("config", "show"),
        ("config", "validate"),
        ("doctor", "--live"),
        ("serve", "--port", "0"),
        ("run",),
    )
    for args in commands:
        done = hotswap(*args, env=env)
        assert done.returncode != 0
        assert_no_traceback(done)
        first, fix = done.stderr.splitlines()[:2]
        assert first.startswith("Error: ") and "not valid TOML" in first
        assert fix.startswith("  fix: ")
    usage = hotswap("doctor", "--timeout", "soon", env=env)
    assert usage.returncode == 2 and "Error: Invalid value for '--timeout'" in usage.stderr

"""`hotswap backends` as a user types it: every backend, keys masked, the active one marked."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from cli_run import assert_no_traceback, hotswap, user_env
from hotswap.config.backends import PRESETS
from hotswap.config.prices import PRICES_CHECKED
from hotswap.figures import usd_rate as usd
from hotswap.sessions.registry import Session, process_start_time, register

SECRET = "sk-test-SECRET1234abcd"


def _register(home: Path, sid: str, backend: str) -> None:
    sessions = home / "sessions"
    register(
        sessions,
        Session(
            id=sid,
            port=41999,
            pid=os.getpid(),
            cwd=str(home),
            started=time.time(),
            secret="x",
            backend=backend,
            pid_start=process_start_time(os.getpid()),
        ),
    )
    (sessions / sid / "mode").write_text(backend + "\n")


def test_the_table_lists_every_preset_with_its_key_masked(home: Path, tmp_path: Path) -> None:
    env = user_env(tmp_path, home, DEEPSEEK_API_KEY=SECRET)
    done = hotswap("backends", env=env)
    assert done.returncode == 0, done.stderr
    for name in PRESETS:
        assert name in done.stdout
    lines = {line[2:].split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    assert "DEEPSEEK_API_KEY set (…abcd)" in lines["deepseek"]
    assert "deepseek-v4-pro" in lines["deepseek"] and "deepseek-v4-flash" in lines["deepseek"]
    assert "MOONSHOT_API_KEY missing" in lines["kimi"]
    assert lines["anthropic"].startswith("* anthropic (default)")  # default, and active
    assert SECRET not in done.stdout + done.stderr


def test_json_has_every_field_and_never_the_key(home: Path, tmp_path: Path) -> None:
    env = user_env(tmp_path, home, DEEPSEEK_API_KEY=SECRET, ANTHROPIC_API_KEY=SECRET + "ant")
    done = hotswap("backends", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    data = json.loads(done.stdout)
    rows = {r["name"]: r for r in data["backends"]}
    assert list(rows)[: len(PRESETS)] == list(PRESETS)
    ds = rows["deepseek"]
    assert ds["aliases"] == ["ds"]
    assert ds["base_url"] == "https://api.deepseek.com/anthropic"
    assert (ds["auth"], ds["key_env"], ds["key_set"], ds["key"]) == (
        "x-api-key",
        "DEEPSEEK_API_KEY",
        True,
        "set (…abcd)",
    )
    assert ds["models"] == {
        "opus": "deepseek-v4-pro",
        "sonnet": "deepseek-v4-flash",
        "haiku": "deepseek-v4-flash",
    }
    assert rows["glm"]["models"]["haiku"] == "glm-5.3-flash"
    assert rows["anthropic"]["fallback"] == ["deepseek"]
    assert rows["anthropic"]["key"] == "ANTHROPIC_API_KEY set (…dant)"
    assert rows["anthropic"]["default"] and not ds["default"]
    assert rows["kimi"]["key_set"] is False and rows["kimi"]["key"] == "missing"
    assert data["active"] == "anthropic"  # the global mode file is missing: the default


def test_the_configured_backends_and_the_active_session_show(home: Path, tmp_path: Path) -> None:
    (home / "config.toml").write_text(
        'default_backend = "ds"\n'
        "[backends.local]\n"
        'base_url = "http://127.0.0.1:9"\n'
        'api_key_env = "LOCAL_KEY"\n'
        'fallback = ["deepseek"]\n'
        "[backends.local.models]\n"
        '"claude-sonnet-*" = "qwen-coder"\n'
    )
    _register(home, "ab12", "local")
    env = user_env(tmp_path, home, HOTSWAP_SESSION="ab12", LOCAL_KEY="loc-key-1234567890wxyz")
    data = json.loads(hotswap("backends", "--json", env=env).stdout)
    rows = {r["name"]: r for r in data["backends"]}
    local = rows["local"]
    assert local["added"] and local["active"] and local["fallback"] == ["deepseek"]
    assert local["models"]["sonnet"] == "qwen-coder"
    assert local["models"]["opus"] == "claude-opus-5-5"  # unmatched: sent unchanged
    assert local["key"] == "set (…wxyz)"
    assert rows["deepseek"]["default"] and not rows["deepseek"]["active"]
    assert data["active"] == "local" and "session ab12" in data["active_where"]
    human = hotswap("backends", env=env).stdout
    marked = [line for line in human.splitlines() if line.startswith("* ")][:-1]
    assert len(marked) == 1 and marked[0].split()[1] == "local"
    assert human.splitlines()[-1] == "* = active: local (session ab12 (port 41999))"


def test_a_broken_config_is_an_error_line_not_a_traceback(home: Path, tmp_path: Path) -> None:
    (home / "config.toml").write_text('[backends.kimi]\nauth = "token"\n')
    done = hotswap("backends", env=user_env(tmp_path, home))
    assert done.returncode != 0
    assert_no_traceback(done)
    first, fix = done.stderr.splitlines()[:2]
    assert first.startswith("Error: ") and "backends.kimi.auth" in first
    assert "fix:" in fix and done.stdout == ""


def test_each_backend_shows_the_price_of_its_sonnet_model(home: Path, tmp_path: Path) -> None:
    done = hotswap("backends", env=user_env(tmp_path, home))
    assert done.returncode == 0, done.stderr
    lines = {line[2:].split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    assert "PRICE" in lines["NAME"]
    assert " $2/$10 " in lines["anthropic"]  # claude-sonnet-5-5, unchanged
    assert " $0.14/$0.28 " in lines["deepseek"]  # deepseek-v4-flash
    assert " $1.75/$5.50 " in lines["glm"]
    assert " $0 (local) " in lines["ollama"] and " none needed " in lines["ollama"]
    assert " unknown " in lines["openrouter"]  # no built-in price: the user's to set
    assert "USD per million tokens" in done.stdout


def test_json_has_every_tiers_price_and_the_configs_come_first(home: Path, tmp_path: Path) -> None:
    (home / "config.toml").write_text(
        "[backends.openrouter.models]\n"
        '"claude-sonnet-*" = "z-ai/glm-5.3"\n'
        '[backends.openrouter.prices."z-ai/*"]\n'
        "input = 1.40\n"
        "output = 4.40\n"
        "cache_read = 0.26\n"
    )
    env = user_env(tmp_path, home)
    data = json.loads(hotswap("backends", "--json", env=env).stdout)
    assert data["prices_checked"] == PRICES_CHECKED
    rows = {r["name"]: r for r in data["backends"]}
    assert rows["deepseek"]["prices"]["opus"] == {
        "input": 0.435,
        "output": 0.87,
        "cache_read": 0.003625,
        "cache_write": 0.435,
        "source": "built-in",
    }
    assert rows["anthropic"]["prices"]["haiku"]["input"] == 0.10
    router = rows["openrouter"]["prices"]
    assert router["sonnet"] == {
        "input": 1.40,
        "output": 4.40,
        "cache_read": 0.26,
        "cache_write": 1.40,
        "source": "config",
    }
    assert router["opus"] is None and router["haiku"] is None  # unchanged claude-*: no price
    assert rows["vllm"]["prices"]["sonnet"]["output"] == 0.0
    human = hotswap("backends", env=env).stdout
    openrouter = next(line for line in human.splitlines() if line.startswith("  openrouter "))
    assert " $1.40/$4.40 " in openrouter


@pytest.mark.parametrize(
    ("usd_per_mtok", "shown"),
    [(3.0, "$3"), (15, "$15"), (5.5, "$5.50"), (0.435, "$0.435"), (0.003625, "$0.0036")],
)
def test_prices_are_shown_as_money(usd_per_mtok: float, shown: str) -> None:
    assert usd(usd_per_mtok) == shown


def test_the_table_fits_columns_and_wide_shows_every_cell(home: Path, tmp_path: Path) -> None:
    """`COLUMNS=100 hotswap backends` fits in 100 columns (long cells cut with …, columns
    that cannot fit left out and named); --wide cuts nothing, as does a pipe."""
    env = user_env(tmp_path, home, COLUMNS="100")
    done = hotswap("backends", env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert "…" in done.stdout and "hidden for want of room: BASE URL" in done.stdout
    assert lines[0].split()[:2] == ["NAME", "AUTH"] and "deepseek" in done.stdout
    for wide in (
        hotswap("backends", "--wide", env=env),
        hotswap("backends", env=user_env(tmp_path, home)),
    ):
        assert wide.returncode == 0, wide.stderr
        assert "…/Qwen3-Coder-480B-A35B-Instruct-FP8" in wide.stdout  # shortened path: by design
        assert "https://generativelanguage.googleapis.com/v1beta/openai" in wide.stdout
        assert "hidden" not in wide.stdout and "DEEPSEEK_API_KEY missing" in wide.stdout

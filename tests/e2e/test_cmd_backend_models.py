"""`hotswap backends NAME --models` as a user types it, against fake backends on 127.0.0.1:0."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

from cli_run import assert_no_traceback, hotswap, user_env
from fakes import ThreadedFake, json_error, json_reply

KEY = "sk-test-SECRET1234abcd"
ANTHROPIC_LIST = {
    "data": [
        {
            "type": "model",
            "id": "deepseek-v4-pro",
            "display_name": "DeepSeek V4 Pro",
            "created_at": "2026-11-01T00:00:00Z",
        },
        {"type": "model", "id": "deepseek-v4-flash", "display_name": "DeepSeek V4 Flash"},
    ],
    "has_more": False,
}
OPENAI_LIST = {"object": "list", "data": [{"id": "gpt-5", "object": "model", "created": 0}]}


def _point(home: Path, backend: str, base_url: str) -> None:
    (home / "config.toml").write_text(f'[backends.{backend}]\nbase_url = "{base_url}"\n')


def _error(done: subprocess.CompletedProcess[str], code: int) -> tuple[str, str]:
    assert done.returncode == code, (done.stdout, done.stderr)
    assert_no_traceback(done)
    assert done.stdout == ""
    first, fix = done.stderr.splitlines()
    assert first.startswith("Error: ") and fix.startswith("  fix: ")
    return first, fix


def test_the_models_come_from_the_backend_one_per_line(home: Path, tmp_path: Path) -> None:
    env = user_env(tmp_path, home, DEEPSEEK_API_KEY=KEY)
    with ThreadedFake("deepseek") as ds:
        ds.script(json_reply(200, ANTHROPIC_LIST), json_reply(200, ANTHROPIC_LIST))
        _point(home, "deepseek", f"{ds.url}/anthropic")
        done = hotswap("backends", "ds", "--models", env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout == "deepseek-v4-pro\ndeepseek-v4-flash\n"
        assert done.stderr == ""
        listed = hotswap("backends", "deepseek", "--models", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert [m["id"] for m in data] == ["deepseek-v4-pro", "deepseek-v4-flash"]
    assert data[0]["display_name"] == "DeepSeek V4 Pro" and data[1]["type"] == "model"
    assert [r.path_qs for r in ds.received] == ["/anthropic/v1/models"] * 2
    assert ds.received[0].headers["x-api-key"] == KEY
    assert KEY not in done.stdout + done.stderr + listed.stdout + listed.stderr


def test_an_openai_wire_backend_and_anthropic_with_the_users_key(
    home: Path, tmp_path: Path
) -> None:
    env = user_env(tmp_path, home, OPENAI_API_KEY=KEY, ANTHROPIC_API_KEY=KEY + "ant")
    with ThreadedFake("openai") as fake:
        fake.script(json_reply(200, OPENAI_LIST), json_reply(200, ANTHROPIC_LIST))
        (home / "config.toml").write_text(
            f'[backends.openai]\nbase_url = "{fake.url}/v1"\n'
            f'[backends.anthropic]\nbase_url = "{fake.url}"\n'
        )
        openai = hotswap("backends", "openai", "--models", env=env)
        anthropic = hotswap("backends", "anthropic", "--models", env=env)
    assert openai.returncode == 0 and openai.stdout == "gpt-5\n", openai.stderr
    assert anthropic.returncode == 0 and anthropic.stdout.startswith("deepseek-v4-pro\n")
    first, second = fake.received
    assert first.path_qs == "/v1/models" and first.headers["authorization"] == f"Bearer {KEY}"
    assert second.path_qs == "/v1/models" and second.headers["x-api-key"] == KEY + "ant"


def test_a_backend_without_a_list_answers_its_model_map(home: Path, tmp_path: Path) -> None:
    env = user_env(tmp_path, home, DEEPSEEK_API_KEY=KEY)
    with ThreadedFake("deepseek") as ds:
        ds.script(json_error(404, "not_found_error", "no such route"))
        _point(home, "deepseek", ds.url)
        done = hotswap("backends", "deepseek", "--models", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "deepseek-v4-pro\ndeepseek-v4-flash\n"  # its model map
    assert done.stderr.startswith("note: deepseek lists no models here")


def test_a_refused_key_is_an_error_with_its_fix(home: Path, tmp_path: Path) -> None:
    env = user_env(tmp_path, home, DEEPSEEK_API_KEY=KEY)
    with ThreadedFake("deepseek") as ds:
        ds.script(json_error(401, "authentication_error", f"invalid x-api-key {KEY}"))
        _point(home, "deepseek", ds.url)
        done = hotswap("backends", "deepseek", "--models", env=env)
    first, fix = _error(done, 1)
    assert "deepseek refused the key" in first and "HTTP 401" in first
    assert "DEEPSEEK_API_KEY" in fix
    assert KEY not in done.stderr


def test_a_backend_that_is_down_is_an_error_with_its_fix(home: Path, tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on once it is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _point(home, "deepseek", f"http://127.0.0.1:{port}")
    done = hotswap("backends", "ds", "--models", env=user_env(tmp_path, home, DEEPSEEK_API_KEY=KEY))
    first, fix = _error(done, 1)
    assert first.startswith("Error: deepseek is down: cannot connect to ")
    assert f"127.0.0.1:{port}" in first and "base_url" in fix


def test_a_missing_key_is_an_error_before_any_request(home: Path, tmp_path: Path) -> None:
    with ThreadedFake("deepseek") as ds:
        _point(home, "deepseek", ds.url)
        done = hotswap("backends", "deepseek", "--models", env=user_env(tmp_path, home))
        anthropic = hotswap("backends", "anthropic", "--models", env=user_env(tmp_path, home))
    first, fix = _error(done, 1)
    assert "DEEPSEEK_API_KEY is not set" in first and "export DEEPSEEK_API_KEY=" in fix
    first, fix = _error(anthropic, 1)
    assert "ANTHROPIC_API_KEY" in first and "export ANTHROPIC_API_KEY=" in fix
    assert ds.received == []


def test_usage_errors_exit_2(home: Path, tmp_path: Path) -> None:
    env = user_env(tmp_path, home)
    first, fix = _error(hotswap("backends", "nope", "--models", env=env), 2)
    assert "unknown backend 'nope'" in first and "deepseek" in fix
    first, fix = _error(hotswap("backends", "--models", env=env), 2)
    assert "hotswap backends deepseek --models" in fix
    _error(hotswap("backends", "nope", env=env), 2)


def test_a_name_without_models_shows_that_backends_row(home: Path, tmp_path: Path) -> None:
    env = user_env(tmp_path, home)
    done = hotswap("backends", "ds", env=env)
    assert done.returncode == 0, done.stderr
    *rows, _, _, last = done.stdout.splitlines()
    assert [r.split()[0] for r in rows] == ["NAME", "deepseek"]
    assert last == f"* = active: anthropic (global ({home / 'mode'}))"  # not listed, still told
    data = json.loads(hotswap("backends", "ds", "--json", env=env).stdout)
    assert [r["name"] for r in data["backends"]] == ["deepseek"]

"""A request that failed at its backend is that backend's, as a user reads it: `hotswap logs`
names it, `hotswap cost` counts it under it (as failed), and `sessions` and the status line
count it. Only a request that reached no backend (refused by the router) has none."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import backends_toml
from fakes import ThreadedFake, json_error
from runner import clean_env, cmd, hotswap_run, post, ready


@pytest.fixture
def env(home: Path, tmp_path: Path) -> dict[str, str]:
    return clean_env(home, tmp_path)


def test_a_failed_request_keeps_its_backend_in_logs_cost_sessions_and_status_line(
    home: Path, env: dict[str, str]
) -> None:
    with ThreadedFake("anthropic") as ant:
        ant.script(json_error(529, "overloaded_error", "Overloaded"))
        (home / "config.toml").write_text(backends_toml({"anthropic": ant.url}))
        with hotswap_run(env) as run:
            base_url = run.env["ANTHROPIC_BASE_URL"]
            ready(base_url)
            assert post(base_url) == 529
            assert post(base_url) == 200
            session = run.env["HOTSWAP_SESSION"]
            inside = {**env, "HOTSWAP_SESSION": session}
            line = cmd(inside, "hotswap", "statusline").stdout
            assert re.search(r" · 2 req \(1 failed\)$", line.strip()), line
            rows = json.loads(cmd(env, "sessions", "--json").stdout)
            assert [(r["requests"], r["failed"]) for r in rows] == [(2, 1)]
            assert "2 (1 failed)" in cmd(env, "sessions").stdout
            run.finish()
    logged = cmd(env, "hotswap", "logs", "--session", session).stdout.splitlines()
    assert [entry.split()[3] for entry in logged] == ["anthropic", "anthropic"]
    report = json.loads(cmd(env, "hotswap", "cost", "--json", "--session", session).stdout)
    assert [(r["key"], r["requests"], r["failures"]) for r in report["rows"]] == [
        ("anthropic", 2, 1)
    ]

"""`routes on|off` and `hotswap routes` as a user types them (installed console scripts):
the state is a file beside the session's mode file; `hotswap routes` lists the rules."""

from __future__ import annotations

import json
from pathlib import Path

from test_switch_commands import _register, env, run  # noqa: F401 -- `env` is a fixture

ROUTES = '[[routes]]\nwhen = "background"\nto = "deepseek"\n'


def test_routes_off_and_on_for_this_session(home: Path, env: dict[str, str]) -> None:  # noqa: F811
    (home / "config.toml").write_text(ROUTES)
    mode = _register(home, "aa11", 41001)
    env["HOTSWAP_SESSION"] = "aa11"  # what `hotswap run` sets for `!routes off`
    off = run("routes", "off", env=env)
    assert off.returncode == 0, off.stderr
    assert (
        "routes off for session aa11" in off.stdout
        and "every request goes to the mode" in off.stdout
    )
    assert (mode.parent / "routes-off").exists()
    assert run("routes", env=env).stdout.startswith("routes off (1 configured)")
    assert run("routes", "on", env=env).returncode == 0
    assert not (mode.parent / "routes-off").exists()
    assert run("routes", env=env).stdout.startswith("routes on (1 configured)")
    bad = run("routes", "sideways", env=env)
    assert bad.returncode == 2 and "expected `on` or `off`" in bad.stderr


def test_hotswap_routes_off_for_another_session(home: Path, env: dict[str, str]) -> None:  # noqa: F811
    (home / "config.toml").write_text(ROUTES)
    mode = _register(home, "bb22", 41002)
    done = run("hotswap", "routes", "off", "--session", "bb22", env=env)
    assert done.returncode == 0, done.stderr
    assert (mode.parent / "routes-off").exists()
    assert run("hotswap", "routes", "on", "--session", "bb22", env=env).returncode == 0
    assert not (mode.parent / "routes-off").exists()
    listed = run("hotswap", "routes", env=env).stdout
    assert "background  background  deepseek" in listed and "first match wins" in listed
    rows = json.loads(run("hotswap", "routes", "--json", env=env).stdout)["routes"]
    assert rows == [{"name": "background", "when": "background", "to": "deepseek", "on": [],
                     "today": 0}]  # fmt: skip


def test_config_validate_names_a_bad_route(home: Path, env: dict[str, str]) -> None:  # noqa: F811
    (home / "config.toml").write_text('[[routes]]\nwhen = "sideways"\nto = "deepseek"\n')
    done = run("hotswap", "config", "validate", env=env)
    assert done.returncode != 0 and "'routes[0].when': 'sideways'" in done.stderr

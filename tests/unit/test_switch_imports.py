"""The switch commands and the status line stay import-light.

`ds`, `ant`, `backend`, `sessions`, `routes` and `hotswap statusline` run inside Claude
Code (`!ds`, its status line after every response): docs/performance.md holds them to
`ds` <= 60 ms, the status line <= 80 ms, with `python -c pass` alone ~15 ms. Each runs
here to its end, in a child interpreter, and then lists what it imported: none of the
modules below may be among them. Each is either big (aiohttp, msgspec, click) or costs
milliseconds that buy a switch nothing (dataclasses pulls inspect, ast, dis, tokenize;
hotswap.router.exchange pulls logging; uuid pulls platform).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = frozenset(
    {
        "aiohttp",
        "asyncio",
        "click",
        "msgspec",
        "sqlite3",
        "dataclasses",
        "inspect",
        "logging",
        "uuid",
        "platform",
        "http.client",
        "urllib.request",
        "secrets",
        "socket",  # ~5 ms: only a status request or a local server's probe needs it
        "hotswap.router",
        "hotswap.router.exchange",
        "hotswap.ledger",
        "hotswap.dashboard",
        "hotswap.cli.main",
    }
)
# The flag-less forms parse their one word by hand (switch._Args): argparse, and the
# shutil its help formatter imports, are ~5 ms. (`sessions` always builds its parser.)
NO_ARGPARSE = HEAVY | {"argparse", "shutil"}

CONFIG = """default_backend = "anthropic"
[backends.deepseek]
fallback = ["anthropic"]
[backends.deepseek.models]
"*" = "deepseek-v4-flash"
"""

# What the child runs: the console script's entry point with its argv, then the modules
# it imported, as JSON on the last line of stdout.
CHILD = """
import json, sys
argv, module, function = json.loads(sys.argv[1])
sys.argv = argv
import importlib
try:
    getattr(importlib.import_module(module), function)()
except SystemExit:
    pass
print()
print(json.dumps(sorted(sys.modules)))
"""

COMMANDS = [
    (["ds"], "hotswap.sessions.switch", "ds_main", NO_ARGPARSE),
    (["ant"], "hotswap.sessions.switch", "ant_main", NO_ARGPARSE),
    (["backend"], "hotswap.sessions.switch", "backend_main", NO_ARGPARSE),
    (["backend", "deepseek"], "hotswap.sessions.switch", "backend_main", NO_ARGPARSE),
    (["sessions"], "hotswap.sessions.switch", "sessions_main", HEAVY),
    (["routes"], "hotswap.sessions.routes_switch", "routes_main", NO_ARGPARSE),
    (["hotswap", "use", "deepseek"], "hotswap.cli.entry", "main", NO_ARGPARSE),
    (["hotswap", "statusline"], "hotswap.cli.entry", "main", NO_ARGPARSE),
]


def imported_by(argv: list[str], module: str, function: str, home: Path) -> set[str]:
    env = {"HOTSWAP_HOME": str(home), "HOME": str(home), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps([argv, module, function])],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    ("argv", "module", "function", "heavy"), COMMANDS, ids=[" ".join(c[0]) for c in COMMANDS]
)
def test_a_switch_command_imports_nothing_heavy(
    tmp_path: Path, argv: list[str], module: str, function: str, heavy: frozenset[str]
) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "config.toml").write_text(CONFIG)  # so the config's parsing is included
    loaded = imported_by(argv, module, function, home)
    assert "hotswap.config.loading" in loaded  # it did run: it read the config
    assert sorted(loaded & heavy) == []


def test_importing_the_switch_modules_imports_nothing_heavy(tmp_path: Path) -> None:
    """What a caller (the dashboard, `hotswap backends`) pays for importing them; the
    config file's parser (tomllib) too waits until a file is there to read."""
    code = (
        "import json, sys, hotswap.sessions.switch, hotswap.sessions.statusline, "
        "hotswap.sessions.routes_switch; print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = set(json.loads(done.stdout))
    assert sorted(loaded & (NO_ARGPARSE | {"tomllib"})) == []

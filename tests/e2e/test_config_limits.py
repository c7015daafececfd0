"""A config file an attacker (or an accident) made, through every command that reads it: one
`Error:` line naming the file or key and a non-zero exit -- never a traceback, never a hang,
never gigabytes read. Backend names are checked where they are defined."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_run import BIN, assert_no_traceback, user_env

# Each command a user runs that loads the config (the switch commands' own scripts too).
COMMANDS = [
    ("ds",),
    ("ant",),
    ("backend", "deepseek"),
    ("hotswap", "use", "deepseek"),
    ("sessions",),
    ("hotswap", "serve", "--port", "0"),
    ("hotswap", "run"),
    ("hotswap", "config", "validate"),
]


def _write(text: str | bytes) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)  # type: ignore[operator]

    return make


def _link_to_dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _fifo(path: Path) -> None:
    os.mkfifo(path)


# (what is wrong, how to make it, what the one line names)
BAD = [
    ("not utf-8", _write(b'default_backend = "\xff\xfe"\n'), "not UTF-8"),
    ("inf", _write("[router]\nconnect_timeout_s = 1e400\n"), "'router.connect_timeout_s'"),
    ("nan", _write("[router]\nidle_timeout_s = nan\n"), "'router.idle_timeout_s'"),
    ("huge", _write("[router]\ncache_mb = 1e9\n"), "'router.cache_mb'"),
    (
        "inf price",
        _write('[backends.deepseek.prices."*"]\ninput = inf\noutput = 1\n'),
        "backends.deepseek.prices.*",
    ),
    ("retention", _write("[ledger]\nretention_days = 1e400\n"), "'ledger.retention_days'"),
    (
        "name with a space",
        _write('[backends."my backend"]\nbase_url = "http://127.0.0.1:9"\n'),
        "'backends.my backend'",
    ),
    (
        "alias with a newline",
        _write('[backends.deepseek]\naliases = ["d\\ns"]\n'),
        "'backends.deepseek.aliases'",
    ),
    ("2 MiB", _write("# x\n" * (512 * 1024 + 1)), "larger than 1024 KiB"),
    ("link to /dev/zero", _link_to_dev_zero, "not a regular file"),
    ("fifo", _fifo, "not a regular file"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize(("make", "named"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_bad_config_is_one_error_line_through_every_command(
    tmp_path: Path, home: Path, command: tuple[str, ...], make: Callable[[Path], None], named: str
) -> None:
    make(home / "config.toml")
    env = user_env(tmp_path, home, DEEPSEEK_API_KEY="sk-test")
    done = subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=20,  # a FIFO read blocks forever; /dev/zero fills memory
        stdin=subprocess.DEVNULL,
    )
    assert_no_traceback(done)
    assert done.returncode != 0, done
    error, *hints = done.stderr.splitlines()
    assert error.startswith("Error: ") and named in error, done.stderr
    assert all(h.startswith("  fix: ") for h in hints), done.stderr  # the CLI's one hint


@pytest.mark.parametrize(("make", "named"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_the_status_line_says_what_is_wrong_in_one_line(
    tmp_path: Path, home: Path, make: Callable[[Path], None], named: str
) -> None:
    """The status line never exits non-zero (Claude Code would blank its row): it shows it."""
    make(home / "config.toml")
    done = subprocess.run(
        [str(BIN / "hotswap"), "statusline"],
        env=user_env(tmp_path, home),
        input="{}",
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert_no_traceback(done)
    assert done.stdout.startswith("⇄ hotswap: ") and done.stdout.count("\n") == 1, done
    assert named in done.stdout or done.stdout.endswith("...\n") or len(done.stdout) > 150

"""Every command and config key the manual shows (README.md and docs/*.md) is one hotswap
takes: a command line in a `sh` block parses (the switch commands are run for real, in a
temporary HOTSWAP_HOME; `hotswap` subcommands are parsed by click, which is what runs
them), and a `toml` block is a config hotswap loads without an error."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import warnings
from pathlib import Path

import click
import pytest

from hotswap.cli.main import cli
from hotswap.config.loading import load_config

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent
SWITCH_COMMANDS = {"ds", "ant", "backend", "sessions"}
FAST_SUBCOMMANDS = {"use", "backend", "sessions"}  # hotswap's stdlib fast path (entry.py)
USAGE_ERRORS = ("usage:", "unrecognized arguments", "invalid choice", "no such option")


def blocks(language: str) -> list[tuple[str, str]]:
    """(page:line, text) of every fenced block in that language."""
    found = []
    for page in PAGES:
        text = page.read_text()
        for m in re.finditer(rf"^```{language}\n(.*?)^```", text, re.S | re.M):
            line = text.count("\n", 0, m.start()) + 1
            found.append((f"{page.name}:{line}", m.group(1)))
    return found


def command_lines() -> list[tuple[str, list[str]]]:
    """Each line of a `sh` block that runs one of hotswap's commands, as argv."""
    lines = []
    for where, text in blocks("sh"):
        for line in text.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if not line or line.startswith("#"):
                continue
            try:
                argv = shlex.split(line)
            except ValueError:
                continue
            if argv[0] == "hotswap" or argv[0] in SWITCH_COMMANDS:
                lines.append((where, argv))
    return lines


COMMAND_LINES = command_lines()


def test_the_manual_shows_commands() -> None:
    assert len(COMMAND_LINES) > 20  # the extraction itself works


def parse_with_click(argv: list[str]) -> None:
    """Parse `hotswap ARGS` as click would run it, subcommand by subcommand, running
    nothing (UsageError on an unknown command or option)."""
    command: click.Command = cli
    args, name = argv[1:], "hotswap"
    while True:
        ctx = command.make_context(name, list(args), resilient_parsing=False)
        with warnings.catch_warnings():  # protected_args: click 8's, until 9 folds it in
            warnings.simplefilter("ignore", DeprecationWarning)
            pending = [*ctx.protected_args, *ctx.args]
        if not isinstance(command, click.Group) or not pending:
            return
        rest = pending
        name, sub, args = command.resolve_command(ctx, rest)
        assert sub is not None and name is not None
        command = sub


@pytest.mark.parametrize(("where", "argv"), COMMAND_LINES, ids=[w for w, _ in COMMAND_LINES])
def test_each_command_line_of_the_manual_parses(
    where: str, argv: list[str], home: Path, tmp_path: Path
) -> None:
    runs_fast = argv[0] in SWITCH_COMMANDS or (
        len(argv) > 1 and argv[1] in FAST_SUBCOMMANDS | {"statusline"}
    )
    if not runs_fast:
        try:
            parse_with_click(argv)
        except click.UsageError as exc:
            pytest.fail(f"{where}: `{shlex.join(argv)}`: {exc}")
        return
    env = {"HOTSWAP_HOME": str(home), "PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [str(BIN / argv[0]), *argv[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    said = (done.stdout + done.stderr).lower()
    assert not any(e in said for e in USAGE_ERRORS), f"{where}: {shlex.join(argv)}\n{said}"
    assert "traceback" not in said


TOML_BLOCKS = blocks("toml")


@pytest.mark.parametrize(("where", "text"), TOML_BLOCKS, ids=[w for w, _ in TOML_BLOCKS])
def test_each_config_example_of_the_manual_loads(
    where: str, text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    monkeypatch.setenv("HOTSWAP_HOME", str(tmp_path))
    load_config(config)  # a ConfigError names the key and the value

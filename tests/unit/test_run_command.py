"""`hotswap run`'s own argument parser (cli/run.py): what it takes, and what it leaves
to click (help, unknown options, bad values), so both read a command line the same way."""

from __future__ import annotations

from typing import Any

import pytest

from hotswap.cli.run import parse_run_args


def parsed(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"backend": None, "model": None, "port": 0, "config": None}
    base["gateway"] = None  # hotswap run --gateway URL
    return {**base, "claude_args": [], **kw}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], parsed()),
        (["-b", "ds"], parsed(backend="ds")),
        (["--backend=ds", "--port", "4100"], parsed(backend="ds", port=4100)),
        (["-m", "glm-5", "--config", "c.toml"], parsed(model="glm-5", config="c.toml")),
        (["--", "--resume", "abc"], parsed(claude_args=["--resume", "abc"])),
        (["-b", "ds", "--", "-p", "hi"], parsed(backend="ds", claude_args=["-p", "hi"])),
        (["chat", "--model", "x"], parsed(claude_args=["chat", "--model", "x"])),
        (["--port=0", "--", "--"], parsed(claude_args=["--"])),
    ],
)
def test_plain_command_lines_are_parsed_without_click(
    args: list[str], expected: dict[str, Any]
) -> None:
    assert parse_run_args(args) == expected


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["-h"],
        ["--model"],  # a value is missing
        ["--port", "99999"],
        ["--port", "-1"],
        ["--port", "http"],
        ["-bds"],
        ["-b=ds"],
        ["--verbose", "--", "x"],  # an option click knows nothing of: claude's, or a typo
    ],
)
def test_anything_else_goes_to_click(args: list[str]) -> None:
    assert parse_run_args(args) is None

"""`hotswap version`: hotswap's, Python's, the platform's and Claude Code's versions."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping
from typing import Any

import click

from hotswap import __version__
from hotswap.cli.output import echo_json


def versions(environ: Mapping[str, str]) -> dict[str, Any]:
    from hotswap.cli.claude_code import probe

    claude = probe(environ)
    return {
        "hotswap": __version__,
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "claude_code": {
            "path": claude.path,
            "version": claude.version,
            "problem": claude.problem_line or None,
        },
    }


def render(data: dict[str, Any]) -> str:
    claude = data["claude_code"]
    if claude["version"]:
        shown = f"{claude['version']}  ({claude['path']})"
    else:
        shown = f"unknown: {claude['problem']}"
    return "\n".join(
        [
            f"hotswap      {data['hotswap']}",
            f"python       {data['python']}  ({data['python_executable']})",
            f"platform     {data['platform']}",
            f"claude code  {shown}",
        ]
    )


EXAMPLES = """\b
Examples:
  hotswap version
  hotswap version --json | jq -r .claude_code.version
  hotswap --version            just hotswap's own version
"""


@click.command("version", epilog=EXAMPLES)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def version_command(as_json: bool) -> None:
    """Print the versions of hotswap, Python, the platform and Claude Code (as `run` finds it)."""
    data = versions(os.environ)
    if as_json:
        echo_json(data)
    else:
        click.echo(render(data))

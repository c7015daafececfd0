"""`hotswap doctor`: is this setup ready? One line per check, ✓ / ✗ / !, and the fix."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from hotswap.cli.checks import (
    FAIL,
    Check,
    check_claude,
    check_config,
    check_keys,
    check_respond_to_bash,
    check_scripts,
    check_statusline,
)
from hotswap.cli.fast import complete_backend
from hotswap.cli.ledger_check import check_ledger
from hotswap.cli.output import CONFIG_OPTION, EXIT_FAILED, echo_json, fail, marks
from hotswap.cli.state_checks import (
    check_serve_mode_file,
    check_sessions,
    check_state_dir,
    relied_on,
)

DEFAULT_TIMEOUT_S = 15.0


def run_checks(
    config_path: Path | None, environ: Mapping[str, str], fix: bool, timeout_s: float
) -> list[Check]:
    config, checks = check_config(config_path, environ)
    return [
        *check_claude(environ, timeout_s),
        *checks,
        *check_keys(config, environ, frozenset(relied_on(config))),
        *check_state_dir(config, fix),
        *check_ledger(config),  # after the state directory's --fix, which may chmod it
        *check_sessions(config, fix),
        *check_serve_mode_file(config),
        *check_statusline(config, environ, Path.cwd()),
        *check_respond_to_bash(config, environ),
        *check_scripts(environ),
    ]


def render(checks: list[Check]) -> str:
    mark = marks()
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        lines.append(f"{mark[c.status]} {c.name.ljust(width)}  {c.detail}")
        if c.fix:
            lines.append(f"  {' ' * width}  → {c.fix}")
    failed = sum(c.status == FAIL for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    lines.append("")
    lines.append(f"{failed} failed, {warned} to look at" if failed or warned else "all good")
    return "\n".join(lines)


def _as_json(checks: list[Check]) -> dict[str, Any]:
    return {
        "ok": not any(c.status == FAIL for c in checks),
        "checks": [c._asdict() for c in checks],
    }


def _live(
    config_path: Path | None, names: tuple[str, ...], timeout_s: float, as_json: bool
) -> None:
    from hotswap.cli.live import render as render_live
    from hotswap.cli.live import run_probes
    from hotswap.config.loading import load_config
    from hotswap.errors import HotswapError

    try:
        config = load_config(config_path)
    except HotswapError as exc:
        fail(str(exc), "fix the config first: `hotswap config validate`")
    chosen = []
    for name in names:
        backend = config.resolve(name)
        if backend is None:
            valid = ", ".join(sorted(config.names()))
            fail(f"unknown backend {name!r}", f"use one of: {valid}")
        chosen.append(backend)
    probes = run_probes(config, chosen, os.environ, timeout_s)
    if as_json:
        rows = [p._asdict() for p in probes]
        echo_json(
            {"ok": not any(p.failed for p in probes), "timeout_s": timeout_s, "results": rows}
        )
    else:
        click.echo(render_live(probes))
    if any(p.failed for p in probes):
        raise SystemExit(EXIT_FAILED)


EXAMPLES = """\b
Examples:
  hotswap doctor                  check this setup; exit status 1 if anything is ✗
  hotswap doctor --fix            also remove stale session records, tighten permissions
  hotswap doctor --live           one tiny request to each backend you use (a key set,
                                  a local server in the config, a mode pointing at it)
  hotswap doctor --live ds kimi --timeout 5
  hotswap doctor --json
"""


@click.command("doctor", epilog=EXAMPLES)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--fix", is_flag=True, help="Remove stale session records; make state private.")
@click.option("--live", is_flag=True, help="Send one tiny request to each backend you use.")
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0.1),
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    help="Seconds per backend for --live; for `claude --version` otherwise.",
)
@CONFIG_OPTION
@click.argument("backends", nargs=-1, shell_complete=complete_backend)
def doctor_command(
    as_json: bool,
    fix: bool,
    live: bool,
    timeout_s: float,
    config_path: Path | None,
    backends: tuple[str, ...],
) -> None:
    """Check this setup: Claude Code, config, keys, state, ledger, sessions, settings, PATH.

    With --live [BACKEND...], instead send each backend you use (a key set, a local
    server named in the config, the default or a mode's backend), or those named, one
    tiny streaming request (max_tokens 1) in parallel and show status, time to first
    byte and total time; exit status 1 only if one of those fails. Local servers you
    never set up are `not checked`. Keys are never printed.
    """
    if backends and not live:
        fail(
            "backend names are only taken with --live",
            f"hotswap doctor --live {' '.join(backends)}",
        )
    if live:
        _live(config_path, backends, timeout_s, as_json)
        return
    checks = run_checks(config_path, os.environ, fix, timeout_s)
    if as_json:
        echo_json(_as_json(checks))
    else:
        click.echo(render(checks))
    if any(c.status == FAIL for c in checks):
        raise SystemExit(EXIT_FAILED)

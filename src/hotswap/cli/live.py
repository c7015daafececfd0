"""`hotswap doctor --live`: what the user relies on, probed (router/probe.py), as a table.

The probing and its judging live in router/probe.py (the dashboard's Check button runs
them too); this module finds which backends the modes point at and prints the results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from hotswap.config.backends import Backend
from hotswap.config.loading import Config
from hotswap.router.probe import Probe, plan, probe_all


def relied_on(config: Config) -> set[str]:
    """The backends a mode points at: the default one, the `hotswap serve` mode file's,
    and each live session's. A mode file that cannot be read names none."""
    from hotswap.sessions.modefile import read_mode, split_mode
    from hotswap.sessions.registry import list_sessions

    files = [config.global_mode_file]
    files += [
        s.mode_file(config.sessions_dir)
        for s, alive in list_sessions(config.sessions_dir, clean=False)
        if alive
    ]
    names = {config.default_backend}
    for path in files:
        try:
            word = read_mode(path)
        except (OSError, ValueError):
            continue
        backend = config.resolve(split_mode(word)[0]) if word else None
        if backend is not None:
            names.add(backend.name)
    return names


def run_probes(
    config: Config, named: list[Backend], environ: Mapping[str, str], timeout_s: float
) -> list[Probe]:
    rows = plan(config, environ, named, relied_on(config))
    return asyncio.run(probe_all(config, rows, environ, timeout_s))


def render(probes: list[Probe]) -> str:
    from hotswap.cli.output import table

    def ms(v: float | None) -> str:
        return "-" if v is None else (f"{v:.0f} ms" if v < 10_000 else f"{v / 1000:.1f} s")

    rows = [
        [
            p.backend,
            p.result,
            str(p.http_status or "-"),
            ms(p.ttfb_ms),
            ms(p.total_ms),
            p.model or "-",
            p.detail,
        ]
        for p in probes
    ]
    header = ["BACKEND", "RESULT", "HTTP", "FIRST BYTE", "TOTAL", "MODEL", "DETAIL"]
    return table(header, rows)

"""`hotswap doctor --live`: what the user relies on, probed (router/probe.py), as a table.

The probing and its judging live in router/probe.py (the dashboard's Check button runs
them too); this module prints the results (state_checks.relied_on: what the modes point at).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from hotswap.cli.state_checks import relied_on
from hotswap.config.backends import Backend
from hotswap.config.loading import Config
from hotswap.router.probe import Probe, plan, probe_all


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

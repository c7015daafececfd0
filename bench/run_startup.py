"""What `hotswap run` adds before Claude Code starts.

    python bench/run_startup.py [--runs 20]

HOTSWAP_CLAUDE_BIN points at a stand-in `claude`, a shell script that writes the time it
started (`date +%s%N`) and exits. Each run times exec -> stand-in start, for `hotswap run`
(the installed console script beside this interpreter, HOTSWAP_HOME in a temp dir) and,
as the floor, for the stand-in exec'd directly. Reports medians and the difference, the
figure docs/performance.md quotes (target: <= 60 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STANDIN = """#!/bin/sh
date +%s%N > "$STARTED_FILE"
"""


def time_once(argv: list[str], env: dict[str, str], started: Path) -> float:
    started.unlink(missing_ok=True)
    t0 = time.time_ns()
    subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    return (int(started.read_text()) - t0) / 1e6


def measure(runs: int) -> dict[str, float]:
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        claude = folder / "claude"
        claude.write_text(STANDIN)
        claude.chmod(0o755)
        started = folder / "started"
        env = {
            **os.environ,
            "HOTSWAP_HOME": str(folder / "home"),
            "HOTSWAP_CLAUDE_BIN": str(claude),
            "STARTED_FILE": str(started),
            "HOME": str(folder),
        }
        env.pop("HOTSWAP_SESSION", None)
        env.pop("ANTHROPIC_BASE_URL", None)
        # An installed hotswap runs from .pyc files: the warm-up run writes any missing.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        run = [str(bin_dir / "hotswap"), "run"]
        time_once(run, env, started)  # warm the page cache
        direct, through = [], []
        for _ in range(runs):
            direct.append(time_once([str(claude)], env, started))
            through.append(time_once(run, env, started))
    floor, total = statistics.median(direct), statistics.median(through)
    return {"direct_ms": floor, "hotswap_run_ms": total, "added_ms": total - floor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    result = measure(parser.parse_args().runs)
    print(
        f"claude start: direct {result['direct_ms']:.1f} ms, through `hotswap run` "
        f"{result['hotswap_run_ms']:.1f} ms: added {result['added_ms']:.1f} ms (target <= 60)"
    )


if __name__ == "__main__":
    main()

"""Router CPU per 1000 streams, two source trees run alternately in one sitting.

Two-round `make bench` medians move by about 10 % between sittings on a small VM; running
the same streaming load (150 KB Claude Code-shaped bodies, 32 concurrent, SECONDS) against
tree X, then Y, then X... under one fake upstream compares them with the drift shared.

    python bench/cpu_pairs.py OLD_TREE NEW_TREE [--pairs 4] [--seconds 4]

Each tree runs from its own `src/` with the interpreter of its own `.venv` (so its own
console scripts and dependencies); the router is pinned to core 0, the load to core 1.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run as bench  # noqa: E402
from loadgen import BACKEND_KEY  # noqa: E402


def boot(tree: Path) -> list[str]:
    """`hotswap serve` from `tree` (its entry point moved to hotswap.cli in issue 20)."""
    entry = "cli.entry" if (tree / "src/hotswap/cli/entry.py").exists() else "entry"
    code = (
        f"import sys; sys.path.insert(0, {str(tree / 'src')!r}); sys.argv[0] = 'hotswap'; "
        f"from hotswap.{entry} import main; main()"
    )
    python = tree / ".venv/bin/python"
    return [str(python if python.exists() else sys.executable), "-c", code]


def one(tree: Path, upstream: str, tmp: Path, seconds: float) -> tuple[float, float]:
    home = Path(tempfile.mkdtemp(dir=tmp))
    bench.write_config(home, upstream)  # the config bench/run.py measures with
    env = {**bench.base_env(), "HOTSWAP_HOME": str(home), "DEEPSEEK_API_KEY": BACKEND_KEY}
    argv = [*boot(tree), "serve", "--port", "0", "--backend", "deepseek"]
    router = bench.start("router", argv, env, {0}, tmp)
    phases = [
        {"name": "warm", "stream": True, "size": 150_000, "concurrency": 32, "seconds": 1.0},
        {"name": "c32", "stream": True, "size": 150_000, "concurrency": 32, "seconds": seconds},
    ]
    try:
        out = subprocess.run(
            [sys.executable, str(HERE / "loadgen.py"), "--url",
             router.line.split()[-1] + "/v1/messages", "--kind", "hotswap",
             "--watch-pid", str(router.pid), "--plan", json.dumps(phases)],
            capture_output=True, text=True, env=env, preexec_fn=bench.pin({1}), check=True,
        )  # fmt: skip
    finally:
        router.stop()
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    row = next(r for r in rows if r.get("name") == "c32")
    if row["errors"] or not row["ok"]:
        raise SystemExit(f"bench: {tree}: {row.get('first_error')}")
    return 1000 * row["cpu_s"] / row["ok"], row["ok"] / row["elapsed_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hotswap-pairs-"))
    fake = bench.start("upstream", [sys.executable, str(HERE / "fake_upstream.py")],
                       bench.base_env(), {1}, tmp)  # fmt: skip
    upstream = f"http://127.0.0.1:{fake.line.split()[-1]}"
    ratios = []
    try:
        print("| pair | old CPU-s/1000 | new CPU-s/1000 | new/old |")
        print("|---|---|---|---|")
        for i in range(args.pairs):
            old, _ = one(args.old, upstream, tmp, args.seconds)
            new, _ = one(args.new, upstream, tmp, args.seconds)
            ratios.append(new / old)
            print(f"| {i + 1} | {old:.2f} | {new:.2f} | {new / old:.2f} |", flush=True)
    finally:
        fake.stop()
    print(f"median new/old: {sorted(ratios)[len(ratios) // 2]:.2f}")


if __name__ == "__main__":
    main()

"""The team gateway's bench (`make bench-gateway`): what its stores cost on the request path,
and what a second worker buys.

    python bench/gateway.py              # 3 rounds
    python bench/gateway.py --tiny       # a few requests each: checks that it works

Targets: **direct** (client -> fake), **hotswap** (the personal router, `hotswap serve`),
**gateway** (`hotswap gateway`, one worker, keys in PostgreSQL, modes and budgets in Redis,
the ledger written to PostgreSQL; the client sends a gateway key) and **gateway-w2**
(`--workers 2`). PostgreSQL and Redis are started in a temp folder (tests/support/
services.py). Reported: the added p50 of the 150 KB request (non-streaming and TTFB), the
gateway's against the personal router's; streams/s at 32 and 128 concurrent, one worker vs
two, the router's CPU per stream, and the bench's own (what bounds a second worker here).

The upstream is lean_upstream.py (fake_upstream.py's answers on a bare asyncio protocol).
Latency is measured with loadgen.py (bench/run.py's requests and checks); streams/s with
lean_client.py, which checks every answer as strictly but costs a fraction of the CPU. On
this 2-core machine that matters: with loadgen.py and fake_upstream.py (~1.8 ms of CPU per
stream between them) beside a router spending ~2.4 ms, two workers could never reach 2x of
one, whatever the gateway did (docs/performance.md, round 9). The machine must be quiet:
the lead runs it; figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "support"))
from loadgen import BACKEND_KEY  # noqa: E402
from run import Proc, base_env, plan, router_argv, start, write_config  # noqa: E402

from services import Postgres, Redis  # noqa: E402

HOTSWAP = Path(sys.executable).parent / "hotswap"
TARGETS = ("direct", "hotswap", "gateway", "gateway-w2")
PHASES = ("ns150", "ttfb150", "c32", "c128")


def phases(tiny: bool, seconds: float = 3.0) -> list[dict[str, Any]]:
    """bench/run.py's quick phases; the streams/s ones last `seconds` (1 s swings +-30 %)."""
    chosen = [p for p in plan(quick=True) if p["name"] in PHASES]
    for p in chosen:
        if tiny:
            p.update({"n": 5} if "n" in p else {"seconds": 0.3})
        elif "seconds" in p:
            p["seconds"] = seconds
    return chosen


def gateway_key(env: dict[str, str], database: str) -> str:
    argv = [str(HOTSWAP), "gateway", "keys", "create", "bench", "--database", database]
    return subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout.strip()


def loadgen(
    url: str, kind: str, pid: int, phase: dict[str, Any], key: str | None, side: list[int]
) -> dict[str, Any]:
    """One phase: latency with loadgen.py, streams/s (a `concurrency` phase) with the lean
    client."""
    if "concurrency" in phase and phase["concurrency"] > 1:
        argv = [sys.executable, str(HERE / "lean_client.py"), "--url", url,
                "--concurrency", str(phase["concurrency"]), "--seconds", str(phase["seconds"]),
                "--watch-pid", str(pid)]  # fmt: skip
        argv += [arg for p in side for arg in ("--side-pid", str(p))]
    else:
        argv = [sys.executable, str(HERE / "loadgen.py"), "--url", url, "--kind", kind,
                "--watch-pid", str(pid), "--plan", json.dumps([phase])]  # fmt: skip
    if key:
        argv += ["--header", f"authorization:Bearer {key}"]
    done = subprocess.run(argv, capture_output=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench: loadgen failed:\n{done.stderr.decode()[-3000:]}")
    row: dict[str, Any] = json.loads(done.stdout.decode().splitlines()[-1])
    return row


def median(rows: list[dict[str, Any]], key: str) -> float:
    values = [r[key] for r in rows if r["ok"]]
    return statistics.median(values) if values else float("nan")


def report(results: dict[str, dict[str, list[dict[str, Any]]]]) -> str:
    def added(target: str, phase: str, key: str) -> float:
        pairs = zip(results[target][phase], results["direct"][phase], strict=False)
        diffs = [t[key] - d[key] for t, d in pairs if t["ok"] and d["ok"]]
        return statistics.median(diffs) if diffs else float("nan")

    lines = ["| measure | hotswap (personal) | gateway | gateway --workers 2 |",
             "|---|---|---|---|"]  # fmt: skip
    for label, phase, key in (("added p50, 150 KB, non-streaming (ms)", "ns150", "p50_ms"),
                              ("added TTFB p50, 150 KB, streaming (ms)", "ttfb150",
                               "ttfb_p50_ms")):  # fmt: skip
        cells = [f"{added(t, phase, key):.2f}" for t in TARGETS[1:]]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for phase in ("c32", "c128"):
        cells = [f"{median(results[t][phase], 'per_s'):.0f}" for t in TARGETS[1:]]
        lines.append(f"| streams/s at {phase[1:]} concurrent | " + " | ".join(cells) + " |")
        cells = [f"{median(results[t][phase], 'cpu_ms'):.2f}" for t in TARGETS[1:]]
        lines.append(f"| router CPU ms per stream at {phase[1:]} | " + " | ".join(cells) + " |")
    for phase in ("c32", "c128"):
        one, two = (median(results[t][phase], "per_s") for t in ("gateway", "gateway-w2"))
        mine = median(results["gateway"][phase], "cpu_ms")
        theirs = median(results["gateway"][phase], "bench_ms")
        lines.append(
            f"\n--workers 2 at {phase[1:]} concurrent: {two / one:.2f}x one worker. The bench's"
            f" own CPU per stream (client, upstream, Redis): {theirs:.2f} ms against the "
            f"worker's {mine:.2f} ms, so on 2 cores two workers can give at most "
            f"2G/(G+B) = {2 * mine / (mine + theirs):.2f}x"
        )
    return "\n".join(lines)


def servers(tmp: Path, env: dict[str, str], procs: list[Proc]) -> tuple[dict[str, Any], str]:
    """The fake, the personal router, the gateway with one and two workers: their URLs."""
    fake = start("fake", [sys.executable, str(HERE / "lean_upstream.py")], env, None, tmp)
    procs.append(fake)
    upstream = f"http://127.0.0.1:{fake.line.split()[-1]}"
    home = tmp / "home"
    home.mkdir()
    write_config(home, upstream)
    keys = {"DEEPSEEK_API_KEY": BACKEND_KEY, "FIREWORKS_API_KEY": "bench-fireworks-key",
            "ANTHROPIC_API_KEY": "bench-ant-key"}  # fmt: skip
    env = {**env, "HOTSWAP_HOME": str(home), **keys}
    # PostgreSQL's folder outside the private temp dir: the server may run as `postgres`
    pg_folder = Path(tempfile.mkdtemp(prefix="hotswap-bench-pg-"))
    pg, redis = Postgres(pg_folder).start(), Redis(tmp / "redis").start()
    database = pg.new_database()
    key = gateway_key(env, database)
    personal = start("hotswap", router_argv(None), env, None, tmp)
    procs.append(personal)
    targets = {"direct": (f"{upstream}/v1/messages", fake.pid),
               "hotswap": (personal.line.split()[-1] + "/v1/messages", personal.pid)}  # fmt: skip
    for name, workers in (("gateway", "1"), ("gateway-w2", "2")):
        argv = [str(HOTSWAP), "gateway", "--listen", "127.0.0.1:0", "--workers", workers,
                "--database", database, "--redis", redis.url, "--log-level", "WARNING"]  # fmt: skip
        gw = start(name, argv, env, None, tmp)
        procs.append(gw)
        targets[name] = (gw.line.split()[3] + "/v1/messages", gw.pid)
    assert redis.proc is not None
    return {"targets": targets, "stop": (pg, redis), "side": [fake.pid, redis.proc.pid]}, key


def main() -> None:
    parser = argparse.ArgumentParser(description="the team gateway's bench")
    parser.add_argument("--tiny", action="store_true", help="a few requests each: a check")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="each streams/s phase")
    args = parser.parse_args()
    rounds = 1 if args.tiny else args.rounds
    results: dict[str, dict[str, list[dict[str, Any]]]] = {t: {} for t in TARGETS}
    procs: list[Proc] = []
    with tempfile.TemporaryDirectory(prefix="hotswap-bench-gw-") as tmp_name:
        started, key = None, ""
        try:
            started, key = servers(Path(tmp_name), base_env(), procs)
            for _ in range(rounds):
                for phase in phases(args.tiny, args.seconds):
                    for target in TARGETS:
                        if target == "direct" and phase["name"] in ("c32", "c128"):
                            continue  # (the lean client speaks to a router only)
                        url, pid = started["targets"][target]
                        kind = "direct" if target == "direct" else "hotswap"
                        mine = key if target.startswith("gateway") else None
                        row = loadgen(url, kind, pid, phase, mine, started["side"])
                        row["cpu_ms"] = 1000 * row["cpu_s"] / max(row["ok"], 1)
                        row["bench_ms"] = 1000 * row.get("bench_cpu_s", 0) / max(row["ok"], 1)
                        results[target].setdefault(phase["name"], []).append(row)
        finally:
            for proc in reversed(procs):
                proc.stop()
            if started is not None:
                pg, redis = started["stop"]
                redis.stop()
                pg.stop()
                shutil.rmtree(pg.folder, ignore_errors=True)
    bad = [f"{t}/{p}: {r['first_error']}" for t, ps in results.items() for p, rs in ps.items()
           for r in rs if r["errors"]]  # fmt: skip
    print(report(results))
    if bad:
        print("\nBROKEN:\n  " + "\n  ".join(bad), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

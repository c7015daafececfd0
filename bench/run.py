"""hotswap's benchmark: direct vs through hotswap vs a bare aiohttp pass-through.

    .venv/bin/python bench/run.py            # ~3 minutes, 5 rounds, medians
    .venv/bin/python bench/run.py --quick    # ~30 s, 1 round (smoke)

Starts, each in its own process: the fake upstream (bench/fake_upstream.py), the router as
a real `hotswap serve --port 0` with HOTSWAP_HOME in a temp dir and a config.toml pointing a
DeepSeek-style backend (model map, key, fallback chain) at the fake, and the yardstick
(bench/passthrough.py). The load generator (bench/loadgen.py) runs in its own process per
round and target, checking every response. The router (and the yardstick) are pinned to
one core, the load generator and the fake upstream to the other.

The routers write the usage ledger (`$HOTSWAP_HOME/ledger.db`), as every router does: its
cost is in the numbers, and after the run the ledger must hold a row for every response
the routers answered.

Prints a markdown table with PASS/FAIL per target of the issue; raw numbers go to
bench/results/latest.json. Exits 1 if any response did not match what the upstream sent,
or if the ledger is missing rows.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from loadgen import BACKEND_KEY, rss_kb  # noqa: E402
from run_startup import measure as measure_startup  # noqa: E402
from switch_timing import measure as measure_switch  # noqa: E402

TARGETS = ("direct", "hotswap", "passthrough")
# A second router whose backend speaks Chat Completions (wire = "openai"), the fake answering
# in that format: what translation adds (issue 15).
TRANSLATED = "translated"
ALL_TARGETS = (*TARGETS, TRANSLATED)
SIZES = {"ns50": 50_000, "ns150": 150_000, "ns500": 500_000, "ns2000": 2_000_000}
MB = 1_000_000
START_TIMEOUT_S = 30.0
# A router flushes its ledger on SIGTERM (up to hotswap.ledger.attach.CLOSE_TIMEOUT_S, 10 s)
STOP_TIMEOUT_S = 15.0
ROUTERS = ("hotswap", TRANSLATED)  # the targets that are a hotswap router, writing the ledger


def plan(quick: bool) -> list[dict[str, Any]]:
    """The phases every target runs, in order, once per round."""
    n = (lambda full, short: short) if quick else (lambda full, short: full)
    secs = 1.0 if quick else 3.0
    return [
        {
            "name": "ns150",
            "stream": False,
            "size": SIZES["ns150"],
            "concurrency": 1,
            "n": n(300, 100),
        },
        {
            "name": "ttfb150",
            "stream": True,
            "size": SIZES["ns150"],
            "concurrency": 1,
            "n": n(200, 80),
        },
        {"name": "c32", "stream": True, "size": SIZES["ns150"], "concurrency": 32, "seconds": secs},
        {
            "name": "c128",
            "stream": True,
            "size": SIZES["ns150"],
            "concurrency": 128,
            "seconds": secs,
        },
        {"name": "ns50", "stream": False, "size": SIZES["ns50"], "concurrency": 1, "n": n(200, 60)},
        {
            "name": "ns500",
            "stream": False,
            "size": SIZES["ns500"],
            "concurrency": 1,
            "n": n(100, 30),
        },
        {
            "name": "ns2000",
            "stream": False,
            "size": SIZES["ns2000"],
            "concurrency": 1,
            "n": n(40, 12),
        },
    ]


# -- processes -------------------------------------------------------------------------


def pin(cpus: set[int] | None) -> Callable[[], None] | None:
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    line: str
    stderr_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def start(
    name: str, argv: Sequence[str], env: dict[str, str], cpus: set[int] | None, tmp: Path
) -> Proc:
    """Start a server process and wait for its one readiness line on stdout."""
    err = tmp / f"{name}.stderr"
    popen = subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.PIPE,
        stderr=err.open("wb"),
        preexec_fn=pin(cpus),
        cwd=tmp,
    )
    assert popen.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(popen.stdout, selectors.EVENT_READ)
    if not sel.select(START_TIMEOUT_S):
        popen.kill()
        raise SystemExit(f"bench: {name} printed nothing in {START_TIMEOUT_S:.0f} s")
    line = popen.stdout.readline().decode().strip()
    if not line:
        popen.wait()
        raise SystemExit(f"bench: {name} exited:\n{err.read_text()[-3000:]}")
    return Proc(name, popen, line, err)


def router_argv(src: Path | None, *extra: str) -> list[str]:
    """`hotswap serve` as installed beside this interpreter, or from another source tree."""
    args = ["serve", "--port", "0", "--backend", "deepseek", *extra]
    if src is None:
        return [str(Path(sys.executable).parent / "hotswap"), *args]
    boot = (
        f"import sys; sys.path.insert(0, {str(src)!r}); sys.argv[0] = 'hotswap'; "
        "from hotswap.cli.entry import main; main()"
    )
    return [sys.executable, "-c", boot, *args]


# `--routes`: five routes, none of which the bench's main-turn requests match, so each
# request pays for classifying against all five (docs/routes.md).
BENCH_ROUTES = """
[[routes]]
when = "background"
to = "anthropic"
[[routes]]
when = "subagent"
to = "anthropic"
[[routes]]
when = "web_search"
to = "anthropic"
[[routes]]
when = "image"
to = "fireworks"
[[routes]]
when = "long_context"
above_tokens = 10000000
to = "anthropic"
"""


def write_config(home: Path, upstream: str, routes: bool = False) -> Path:
    """A realistic config: DeepSeek-style backend with model map, key, fallback chain
    (and, with `routes`, BENCH_ROUTES)."""
    path = home / "config.toml"
    path.write_text(
        f"""default_backend = "deepseek"

[backends.deepseek]
base_url = "{upstream}/anthropic"
api_key_env = "DEEPSEEK_API_KEY"
fallback = ["fireworks", "anthropic"]

[backends.deepseek.models]
"claude-opus-*" = "deepseek-v4-pro"
"claude-sonnet-*" = "deepseek-v4-flash"
"claude-haiku-*" = "deepseek-v4-flash"

[backends.fireworks]
base_url = "{upstream}/fireworks"

[backends.anthropic]
base_url = "{upstream}"

[backends.openai]
base_url = "{upstream}/openai/v1"
api_key_env = "OPENAI_API_KEY"
[backends.openai.models]
"*" = "gpt-bench"
"""
        + (BENCH_ROUTES if routes else "")
    )
    return path


def base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("HOTSWAP_", "ANTHROPIC_"))}


# -- measuring -------------------------------------------------------------------------


@dataclass
class Run:
    """Every phase result, by target and phase name, one dict per round."""

    results: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)

    def add(self, target: str, row: dict[str, Any]) -> None:
        self.results.setdefault(target, {}).setdefault(row["name"], []).append(row)
        if row["errors"]:
            self.mismatches.append(
                f"{target}/{row['name']}: {row['errors']} bad responses, "
                f"first: {row['first_error']}"
            )

    def rows(self, target: str, phase: str) -> list[dict[str, Any]]:
        return self.results.get(target, {}).get(phase, [])

    def median(self, target: str, phase: str, key: str) -> float:
        values = [r[key] for r in self.rows(target, phase) if r["ok"]]
        return statistics.median(values) if values else float("nan")

    def added(self, target: str, phase: str, key: str) -> float:
        """Median over rounds of (target - direct): within a round the targets run each
        phase back to back, so the machine's drift mostly cancels."""
        pairs = zip(self.rows(target, phase), self.rows("direct", phase), strict=False)
        diffs = [t[key] - d[key] for t, d in pairs if t["ok"] and d["ok"]]
        return statistics.median(diffs) if diffs else float("nan")


def run_loadgen(
    url: str, kind: str, pid: int, phases: list[dict[str, Any]], cpus: set[int] | None
) -> list[dict[str, Any]]:
    argv = [
        sys.executable,
        str(HERE / "loadgen.py"),
        "--url",
        url,
        "--kind",
        kind,
        "--watch-pid",
        str(pid),
        "--plan",
        json.dumps(phases),
    ]
    done = subprocess.run(argv, capture_output=True, preexec_fn=pin(cpus), check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench: loadgen failed:\n{done.stderr.decode()[-3000:]}")
    return [json.loads(line) for line in done.stdout.decode().splitlines() if line.strip()]


def slope_ms_per_mb(run: Run, target: str) -> float:
    """Least-squares slope of added p50 latency over body size."""
    xs, ys = [], []
    for phase in SIZES:
        rows = run.rows(target, phase)
        if rows:
            xs.append(rows[0]["body_bytes"] / MB)
            ys.append(run.added(target, phase, "p50_ms"))
    if len(xs) < 2:
        return float("nan")
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def cpu_per_1000(run: Run, target: str) -> float:
    cpu = sum(r["cpu_s"] for p in ("c32", "c128") for r in run.rows(target, p))
    ok = sum(r["ok"] for p in ("c32", "c128") for r in run.rows(target, p))
    return 1000 * cpu / ok if ok else float("nan")


def ledger_exchanges(home: Path) -> int | None:
    """Rows in the routers' ledger (`$HOTSWAP_HOME/ledger.db`); None: there is none."""
    path = home / "ledger.db"
    if not path.exists():
        return None
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM exchanges").fetchone()[0])
    finally:
        conn.close()


def check_ledger(run: Run, info: dict[str, Any], home: Path, other_tree: bool) -> None:
    """Every router writes the ledger, so it holds at least one row per response the routers
    answered (more: warm-ups and probes are exchanges too). Fewer is broken; no ledger at all
    only with --src (an older tree may have none)."""
    answered = sum(r["ok"] for t in ROUTERS for rs in run.results.get(t, {}).values() for r in rs)
    rows = ledger_exchanges(home)
    info["ledger"] = {"exchanges": rows, "answered_by_routers": answered}
    if rows is None and other_tree:
        return
    if rows is None or rows < answered:
        run.mismatches.append(
            f"ledger: {rows or 0} exchanges recorded, fewer than the {answered} responses "
            "the routers answered"
        )


def ledger_line(info: dict[str, Any]) -> str:
    ledger = info.get("ledger") or {}
    if ledger.get("exchanges") is None:
        return "Ledger: none written (the router under --src has no ledger)."
    return (
        f"Ledger: on, as in every router (these numbers include it): {ledger['exchanges']} "
        f"exchanges written by the two routers, for {ledger['answered_by_routers']} "
        "checked responses (plus warm-ups and probes)."
    )


# -- report ----------------------------------------------------------------------------


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def fmt(x: float, unit: str = "", digits: int = 2) -> str:
    return "n/a" if x != x else f"{x:.{digits}f}{unit}"


def report(run: Run, info: dict[str, Any]) -> str:
    m, a = run.median, run.added
    rows: list[tuple[str, str, str, str, str, str, str]] = []

    def row(
        metric: str,
        key: tuple[str, str],
        unit: str,
        target: str,
        ok: bool | None,
        added: bool = True,
    ) -> None:
        phase, k = key
        d, h, p = (m(t, phase, k) for t in TARGETS)
        rows.append(
            (
                metric,
                fmt(d, unit),
                fmt(h, unit),
                fmt(p, unit),
                fmt(a("hotswap", phase, k), unit) if added else "",
                fmt(a("passthrough", phase, k), unit) if added else "",
                f"{target} {verdict(ok)}",
            )
        )

    add_p50 = a("hotswap", "ns150", "p50_ms")
    row("150 KB non-stream p50", ("ns150", "p50_ms"), " ms", "added <= 1.5 ms", add_p50 <= 1.5)
    row("150 KB non-stream p99", ("ns150", "p99_ms"), " ms", "", None)
    add_ttfb = a("hotswap", "ttfb150", "ttfb_p50_ms")
    row("stream TTFB p50", ("ttfb150", "ttfb_p50_ms"), " ms", "added <= 1 ms", add_ttfb <= 1.0)
    row("stream TTFB p99", ("ttfb150", "ttfb_p99_ms"), " ms", "", None)
    row("stream total p50 (55 events)", ("ttfb150", "p50_ms"), " ms", "", None)
    ratio32 = m("hotswap", "c32", "per_s") / m("direct", "c32", "per_s")
    row(
        "streams/s at 32 concurrent",
        ("c32", "per_s"),
        "",
        f">= 0.5x direct (is {ratio32:.2f}x)",
        ratio32 >= 0.5,
        added=False,
    )
    ratio128 = m("hotswap", "c128", "per_s") / m("direct", "c128", "per_s")
    row(
        "streams/s at 128 concurrent",
        ("c128", "per_s"),
        "",
        f"(is {ratio128:.2f}x direct)",
        None,
        added=False,
    )
    for phase, size in SIZES.items():
        row(f"{size // 1000} KB non-stream p50", (phase, "p50_ms"), " ms", "", None)
    sent = run.rows("hotswap", "ns150")
    if sent:
        rows.append(
            (
                "150 KB body: bytes sent upstream",
                str(sent[0]["body_bytes"]),
                str(sent[0]["upstream_body_bytes"]),
                "",
                "",
                "",
                "(hotswap rewrites it)",
            )
        )

    def side(metric: str, h: str, p: str, target: str, added: bool = False) -> None:
        """A row with no direct value: hotswap and yardstick only (as values or as added)."""
        rows.append(
            (metric, "", "", "", h, p, target) if added else (metric, "", h, p, "", "", target)
        )

    slope_h, slope_p = slope_ms_per_mb(run, "hotswap"), slope_ms_per_mb(run, "passthrough")
    side(
        "added latency per MB of body",
        fmt(slope_h, " ms"),
        fmt(slope_p, " ms"),
        f"<= 4 ms/MB {verdict(slope_h <= 4)}",
        added=True,
    )
    cpu_h, cpu_p = cpu_per_1000(run, "hotswap"), cpu_per_1000(run, "passthrough")
    side(
        "CPU-s per 1000 streams (router)", fmt(cpu_h), fmt(cpu_p), f"<= 1.2 {verdict(cpu_h <= 1.2)}"
    )
    idle, idle_p = info["idle_rss_mb"]["hotswap"], info["idle_rss_mb"]["passthrough"]
    side("RSS idle (MB)", fmt(idle, "", 1), fmt(idle_p, "", 1), f"<= 60 MB {verdict(idle <= 60)}")
    peak, peak_p = (
        max((r["peak_rss_kb"] for r in run.rows(t, "c128")), default=0) / 1024
        for t in ("hotswap", "passthrough")
    )
    side(
        "RSS peak, 128 concurrent streams (MB)",
        fmt(peak, "", 1),
        fmt(peak_p, "", 1),
        f"<= 150 MB {verdict(peak <= 150)}",
    )
    hwm = info["hwm_mb"]
    side(
        "RSS at exit, peak over whole run (MB)",
        fmt(hwm["hotswap"], "", 1),
        fmt(hwm["passthrough"], "", 1),
        "",
    )
    start = info["run_startup"]
    rows.append(
        (
            "`hotswap run`: exec to claude's start (median)",
            fmt(start["direct_ms"], " ms", 1),
            fmt(start["hotswap_run_ms"], " ms", 1),
            "",
            fmt(start["added_ms"], " ms", 1),
            "",
            f"<= 60 ms {verdict(start['added_ms'] <= 60)}",
        )
    )
    sw = info["switch"]
    limits = {
        "ds": 60.0,
        "backend": None,
        "backend deepseek": None,
        "hotswap statusline": 80.0,
        "hotswap statusline (live session)": 80.0,
    }
    for name, limit in limits.items():
        if name in sw:
            ms = sw[name]["median_ms"]
            target = f"<= {limit:.0f} ms {verdict(ms <= limit)}" if limit else ""
            base, added_ms = sw["python -c pass"]["median_ms"], sw[name]["added_ms"]
            rows.append(
                (
                    f"`{name}` wall (median)",
                    fmt(base, " ms", 1),
                    fmt(ms, " ms", 1),
                    "",
                    fmt(added_ms, " ms", 1),
                    "",
                    target,
                )
            )
    head = (
        "metric",
        "direct",
        "hotswap",
        "passthrough",
        "hotswap added",
        "yardstick added",
        "target",
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def translated_report(run: Run) -> str:
    """The translated target (an OpenAI-wire backend): what translation adds, against
    direct and against hotswap's Anthropic path (the translation's own cost)."""
    a = run.added

    def vs_hotswap(phase: str, key: str) -> float:
        pairs = zip(run.rows(TRANSLATED, phase), run.rows("hotswap", phase), strict=False)
        diffs = [t[key] - h[key] for t, h in pairs if t["ok"] and h["ok"]]
        return statistics.median(diffs) if diffs else float("nan")

    p50, ttfb = a(TRANSLATED, "ns150", "p50_ms"), a(TRANSLATED, "ttfb150", "ttfb_p50_ms")
    cpu, cpu_h = cpu_per_1000(run, TRANSLATED), cpu_per_1000(run, "hotswap")
    rows = [
        ("150 KB non-stream p50, added", fmt(p50, " ms"), fmt(vs_hotswap("ns150", "p50_ms"), " ms"),
         f"<= 2 ms {verdict(p50 <= 2)}"),
        ("stream TTFB p50, added", fmt(ttfb, " ms"),
         fmt(vs_hotswap("ttfb150", "ttfb_p50_ms"), " ms"), ""),
        ("stream total p50, added", fmt(a(TRANSLATED, "ttfb150", "p50_ms"), " ms"),
         fmt(vs_hotswap("ttfb150", "p50_ms"), " ms"), ""),
        ("CPU-s per 1000 streams (router)", fmt(cpu), fmt(cpu - cpu_h),
         f"<= 2 {verdict(cpu <= 2)}"),
    ]  # fmt: skip
    head = ("translated (wire = openai)", "vs direct", "vs hotswap (translation)", "target")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


# -- main ------------------------------------------------------------------------------


def cores(no_pin: bool) -> tuple[set[int] | None, set[int] | None]:
    """(router's, load generator's): different cores when there are two."""
    avail = sorted(os.sched_getaffinity(0))
    if no_pin or len(avail) < 2:
        return None, None
    return {avail[0]}, {avail[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description="hotswap benchmark")
    parser.add_argument("--quick", action="store_true", help="~30 s smoke run, 1 round")
    parser.add_argument("--rounds", type=int, help="rounds (default 5, quick 1)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    parser.add_argument("--src", type=Path, help="run the router from this src/ dir instead")
    parser.add_argument("--json", type=Path, default=HERE / "results" / "latest.json")
    parser.add_argument(
        "--no-translated",
        action="store_true",
        help="leave out the OpenAI-wire target (for a --src tree that has no such backend)",
    )
    parser.add_argument(
        "--routes", action="store_true", help="five [[routes]] configured (none matching)"
    )
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 5)
    router_cpus, load_cpus = cores(args.no_pin)
    started = time.perf_counter()
    procs: list[Proc] = []
    with tempfile.TemporaryDirectory(prefix="hotswap-bench-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            run, info = _measure(args, rounds, tmp, router_cpus, load_cpus, procs)
        finally:
            for proc in reversed(procs):
                proc.stop()
        check_ledger(run, info, tmp / "home", args.src is not None)  # flushed at their stop
    info["wall_s"] = round(time.perf_counter() - started, 1)
    table = report(run, info)
    if not args.no_translated:
        table += "\n\n" + translated_report(run)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"info": info, "results": run.results}, indent=1))
    print(table)
    print(
        f"\n{rounds} round(s), medians; pinned router={info['router_cpus']} "
        f"load={info['load_cpus']}; {info['checked']} responses checked against the upstream; "
        f"wall {info['wall_s']} s; raw: {args.json}"
    )
    print(ledger_line(info))
    if info["router_warnings"]:
        print(f"router logged {info['router_warnings']} warning lines (see the JSON)")
    if run.mismatches:
        print(
            "\nBROKEN: responses differ from what the upstream sent, or rows are missing:",
            file=sys.stderr,
        )
        for line in run.mismatches:
            print("  " + line, file=sys.stderr)
        sys.exit(1)


def _measure(
    args: argparse.Namespace,
    rounds: int,
    tmp: Path,
    router_cpus: set[int] | None,
    load_cpus: set[int] | None,
    procs: list[Proc],
) -> tuple[Run, dict[str, Any]]:
    env = base_env()
    fake = start("fake", [sys.executable, str(HERE / "fake_upstream.py")], env, load_cpus, tmp)
    procs.append(fake)
    upstream = f"http://127.0.0.1:{fake.line.split()[-1]}"
    home = tmp / "home"
    home.mkdir()
    write_config(home, upstream, routes=args.routes)
    router_env = {
        **env,
        "HOTSWAP_HOME": str(home),
        "DEEPSEEK_API_KEY": BACKEND_KEY,
        "FIREWORKS_API_KEY": "bench-fireworks-key",
        "OPENAI_API_KEY": BACKEND_KEY,
    }
    router = start("hotswap", router_argv(args.src), router_env, router_cpus, tmp)
    procs.append(router)
    targets = TARGETS if args.no_translated else ALL_TARGETS
    translating = None
    if not args.no_translated:
        translating = start(
            TRANSLATED,
            router_argv(args.src, "--backend", "openai", "--mode-file", str(tmp / "mode-openai")),
            router_env,
            router_cpus,
            tmp,
        )
        procs.append(translating)
    yard = start(
        "passthrough",
        [sys.executable, str(HERE / "passthrough.py"), upstream],
        env,
        router_cpus,
        tmp,
    )
    procs.append(yard)
    urls = {
        "direct": f"{upstream}/v1/messages",
        "hotswap": router.line.split()[-1] + "/v1/messages",
        "passthrough": f"http://127.0.0.1:{yard.line.split()[-1]}/v1/messages",
    }
    pids = {"direct": fake.pid, "hotswap": router.pid, "passthrough": yard.pid}
    if translating is not None:
        urls[TRANSLATED] = translating.line.split()[-1] + "/v1/messages"
        pids[TRANSLATED] = translating.pid
    info: dict[str, Any] = {
        "router_cpus": sorted(router_cpus or []),
        "load_cpus": sorted(load_cpus or []),
        "rounds": rounds,
        "quick": args.quick,
        "python": sys.version.split()[0],
        "idle_rss_mb": {t: rss_kb(pids[t]) / 1024 for t in TARGETS},
    }
    run = Run()
    phases = plan(args.quick)
    for i in range(rounds):
        # Phase by phase, the three targets back to back (who goes first rotating): the
        # same phase of two targets is seconds apart, not a whole round, so the machine's
        # slow and fast spells (each lasting seconds here) mostly cancel in "added".
        for j, phase in enumerate(phases):
            k = (i + j) % len(targets)
            for target in targets[k:] + targets[:k]:
                for row in run_loadgen(urls[target], target, pids[target], [phase], load_cpus):
                    run.add(target, row)
        print(f"round {i + 1}/{rounds} done", file=sys.stderr, flush=True)
    info["hwm_mb"] = {t: rss_kb(pids[t], "VmHWM") / 1024 for t in targets}
    info["idle_after_mb"] = {t: rss_kb(pids[t]) / 1024 for t in TARGETS}
    info["checked"] = sum(r["ok"] for t in run.results.values() for rs in t.values() for r in rs)
    info["switch"] = measure_switch(8 if args.quick else 30)
    info["run_startup"] = measure_startup(5 if args.quick else 20)
    log = router.stderr_path.read_text(errors="replace")
    info["router_warnings"] = sum("WARNING" in line for line in log.splitlines())
    info["router_log_tail"] = log[-2000:]
    return run, info


if __name__ == "__main__":
    main()

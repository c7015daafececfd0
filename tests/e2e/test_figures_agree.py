"""One exchange, one money string: `hotswap cost`, `hotswap logs`, `hotswap sessions`, the
status line and the dashboard's data all show what a session's exchange cost the same way
(docs/figures.md). The session's router is live (the status line and `sessions` ask it);
the ledger holds the exchange (cost, logs and the dashboard read it)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import MakeRouter
from hotswap.config.loading import load_config
from hotswap.dashboard.data import Gatherer
from hotswap.ledger.attach import close_ledger, open_ledger
from hotswap.router.exchange import Usage
from hotswap.sessions.registry import Session, process_start_time, register
from records import record

BIN = Path(sys.executable).parent
# 14k input tokens on deepseek-v4-pro ($0.435/Mtok): $0.00609.
COST = "$0.0061"


def run(env: dict[str, str], *argv: str) -> str:
    done = subprocess.run(
        [str(BIN / argv[0]), *argv[1:]], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_one_exchange_costs_the_same_string_everywhere(
    make_router: MakeRouter, home: Path
) -> None:
    secret = "s3cr3t-for-the-figures"
    router = await make_router({}, secret=secret)
    router.state.session_id = "3f2a"
    ledger = open_ledger(router.state)
    pid = os.getpid()
    started = time.time()
    session = Session("3f2a", router.running.port, pid, os.getcwd(), started, secret, "deepseek")
    register(home / "sessions", session._replace(pid_start=process_start_time(pid)))
    router.mode_file.write_text("deepseek\n")
    router.state.observers.publish(record("deepseek", session="3f2a", usage=Usage(14_000, 0)))
    await asyncio.sleep(0)
    env = {**os.environ, "HOTSWAP_HOME": str(home), "HOTSWAP_SESSION": "3f2a"}
    env.pop("COLUMNS", None)

    statusline = await asyncio.to_thread(run, env, "hotswap", "statusline")
    sessions_text = await asyncio.to_thread(run, env, "sessions")
    sessions_json = json.loads(await asyncio.to_thread(run, env, "sessions", "--json"))
    wide = await asyncio.to_thread(run, env, "sessions", "--wide")
    assert os.getcwd() in wide and "…" not in wide
    await close_ledger(ledger)
    cost_text = await asyncio.to_thread(run, env, "hotswap", "cost")
    logs_text = await asyncio.to_thread(run, env, "hotswap", "logs")
    tick = await asyncio.to_thread(Gatherer(load_config(), {}).tick)

    assert statusline.strip() == f"⇄ deepseek · session 3f2a · {COST} · saved $0.050 · 1 req"
    header, row = sessions_text.splitlines()
    assert row.split()[header.split().index("COST")] == COST
    assert sessions_json[0]["cost"] == COST and sessions_json[0]["cost_usd"] == 0.00609
    deepseek = next(line for line in cost_text.splitlines() if line.startswith("deepseek"))
    assert deepseek.split()[-2:] == [COST, "$0.050"]
    assert f"  {COST}  " in logs_text
    assert tick.sessions[0]["cost_today"] == COST
    assert [e["cost"] for e in tick.log] == [COST]
    assert tick.spend["summary"]["cost"] == COST
    assert tick.spend["backends"][0]["cost_text"][-1] == COST
    assert tick.spend["total_text"][-1] == COST and tick.spend["savings_text"][-1] == "$0.050"

"""The status line shows the session's cost and savings, from its router's status (never
from the ledger), when Claude Code runs `hotswap statusline` with its stdin JSON."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import MakeRouter
from hotswap.ledger.attach import close_ledger, open_ledger
from hotswap.router.exchange import Usage
from hotswap.sessions.registry import Session, process_start_time, register
from hotswap.sessions.statusline import render
from records import record

HOTSWAP = Path(sys.executable).parent / "hotswap"
M = 1_000_000
CLAUDE_STDIN = json.dumps(
    {
        "session_id": "abc",
        "model": {"id": "claude-opus-5-5", "display_name": "Opus"},
        "workspace": {"current_dir": "/tmp"},
        "cost": {"total_cost_usd": 0.0},
    }
)


def test_render_spend() -> None:
    spend = {"cost_usd": 0.42, "savings_usd": 3.1, "requests": 12, "unknown_price": False}
    line = render("deepseek", None, {"spend": spend, "requests": {"deepseek": 12}})
    assert line == "⇄ deepseek · $0.42 · saved $3.10 · 12 req"
    spend = {"cost_usd": 0.0004, "savings_usd": 0.0, "requests": 1, "unknown_price": True}
    assert render("openrouter", None, {"spend": spend}) == "⇄ openrouter · ≥$0.00040 · 1 req"
    spend |= {"requests": 3, "failed": 1}  # every exchange the session made, failed ones too
    assert render("openrouter", None, {"spend": spend}).endswith(" · 3 req (1 failed)")
    assert render("anthropic", None, {"spend": {"requests": 0}}) == "⇄ anthropic"


async def test_statusline_shows_the_sessions_spend(make_router: MakeRouter, home: Path) -> None:
    secret = "s3cr3t-for-the-test"
    router = await make_router({}, secret=secret)
    router.state.session_id = "3f2a"
    ledger = open_ledger(router.state)
    register(
        home / "sessions",
        Session(
            id="3f2a",
            port=router.running.port,
            pid=os.getpid(),
            cwd=os.getcwd(),
            started=time.time(),
            secret=secret,
            backend="anthropic",
            pid_start=process_start_time(os.getpid()),
        ),
    )
    router.mode_file.write_text("deepseek\n")
    for r in (
        record("deepseek", session="3f2a", usage=Usage(M, 0)),
        record("deepseek", session="3f2a", usage=Usage(0, M)),
    ):
        router.state.observers.publish(r)
    await asyncio.sleep(0)
    env = {**os.environ, "HOTSWAP_HOME": str(home), "HOTSWAP_SESSION": "3f2a"}
    done = await asyncio.to_thread(
        subprocess.run,
        [str(HOTSWAP), "statusline"],
        input=CLAUDE_STDIN,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    await close_ledger(ledger)
    assert done.returncode == 0, done.stderr
    # 1M input + 1M output on deepseek-v4-pro, against Opus 5.5's $4 + $20:
    assert done.stdout.strip() == "⇄ deepseek · session 3f2a · $1.30 · saved $22.70 · 2 req"


async def test_statusline_shows_a_forced_model(make_router: MakeRouter, home: Path) -> None:
    """`!backend ollama --model x`: the line says `⇄ ollama · x`, not only the backend."""
    secret = "s3cr3t-for-the-test"
    router = await make_router({}, secret=secret)
    pid = os.getpid()
    session = Session("5b1c", router.running.port, pid, os.getcwd(), time.time(), secret, "ollama")
    register(home / "sessions", session._replace(pid_start=process_start_time(pid)))
    router.mode_file.write_text("ollama qwen3-coder\n")
    env = {**os.environ, "HOTSWAP_HOME": str(home), "HOTSWAP_SESSION": "5b1c"}
    run = [str(HOTSWAP), "statusline"]
    done = await asyncio.to_thread(
        subprocess.run, run, input=CLAUDE_STDIN, env=env, capture_output=True, text=True
    )
    assert done.stdout.strip() == "⇄ ollama · qwen3-coder · session 5b1c", done.stderr
    router.mode_file.write_text("ollama\n")  # the model dropped: the backend alone
    done = await asyncio.to_thread(
        subprocess.run, run, input=CLAUDE_STDIN, env=env, capture_output=True, text=True
    )
    assert done.stdout.strip() == "⇄ ollama · session 5b1c", done.stderr


def picker_stdin(model_id: str) -> str:
    return json.dumps({**json.loads(CLAUDE_STDIN), "model": {"id": model_id}})


async def test_statusline_shows_the_model_picked_in_claude_code(
    make_router: MakeRouter, home: Path
) -> None:
    """A gateway id chosen in /model (docs/claude-code-gateway.md) goes to its backend
    whatever the mode: the line names that backend and model, from Claude Code's stdin."""
    secret = "s3cr3t-for-the-test"
    router = await make_router({}, secret=secret)
    pid = os.getpid()
    session = Session("7d0e", router.running.port, pid, os.getcwd(), time.time(), secret, "ant")
    register(home / "sessions", session._replace(pid_start=process_start_time(pid)))
    router.mode_file.write_text("anthropic\n")
    env = {**os.environ, "HOTSWAP_HOME": str(home), "HOTSWAP_SESSION": "7d0e"}
    run = [str(HOTSWAP), "statusline"]

    async def line(stdin: str) -> str:
        done = await asyncio.to_thread(
            subprocess.run, run, input=stdin, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    picked = picker_stdin("claude-hotswap-ollama--qwen3-coder:30b")
    assert await line(picked) == "⇄ ollama · qwen3-coder:30b · session 7d0e"
    # an ordinary model follows the mode again; a backend not configured is no choice
    assert await line(CLAUDE_STDIN) == "⇄ anthropic · session 7d0e"
    assert await line(picker_stdin("claude-hotswap-nosuch--m")) == "⇄ anthropic · session 7d0e"
    # an alias is no backend's id (the router, routes.choose, sends such a request by the mode)
    assert await line(picker_stdin("claude-hotswap-ds--m")) == "⇄ anthropic · session 7d0e"


def test_statusline_help_is_help() -> None:
    done = subprocess.run([str(HOTSWAP), "statusline", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("usage: hotswap statusline")
    assert "⇄" not in done.stdout

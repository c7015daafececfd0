"""Record the requests the real Claude Code CLI sends that the route classes read.

    python tests/support/record_routes.py      # rewrites tests/data/routes/*.json

Each scenario runs the pinned Claude Code offline against a recording fake (side traffic
allowed: no CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC) and keeps every POST /v1/messages
it made, with its headers (the key and the rotating ids scrubbed) and its body (long
prose cut: record_shapes.scrub). The session title request only comes in interactive
mode: that scenario types one prompt into claude in tmux.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from multidict import CIMultiDict

from claude_env import CLAUDE, offline_env
from fakes import FakeUpstream, Received, ThreadedFake, default_reply, json_reply
from record_shapes import events, scrub, text, tiny_png, tool

OUT = Path(__file__).resolve().parents[1] / "data" / "routes"
KEEP_HEADERS = ("anthropic-beta", "anthropic-version", "user-agent", "x-app")
ID_HEADERS = ("x-claude-code-session-id", "x-claude-code-agent-id")


class Recorder(FakeUpstream):
    """Scripted replies for POST /v1/messages only (side requests such as HEAD /api/hello
    must not take one)."""

    async def _handle(self, request: Any) -> Any:
        raw = await request.read()
        self.received.append(
            Received(request.method, request.path_qs, CIMultiDict(request.headers), raw)
        )
        if request.method == "POST" and request.path == "/v1/messages" and self.replies:
            return await self.replies.pop(0)(request)
        if request.method != "POST":
            return await json_reply(200, {})(request)
        return await default_reply(request, raw)(request)


def _env(tmp: Path, url: str) -> dict[str, str]:
    env = offline_env(tmp, tmp / "hh", ANTHROPIC_BASE_URL=url, ANTHROPIC_API_KEY="sk-recorder")
    env.pop("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC")
    return env


def print_mode(tmp: Path, fake: FakeUpstream, prompt: str, replies: list[Any], *args: str) -> None:
    fake.replies[:] = replies
    subprocess.run(
        [str(CLAUDE), "-p", prompt, *args, "--output-format", "json"],
        env=_env(tmp, fake.url), cwd=tmp, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip


def interactive(tmp: Path, fake: FakeUpstream, prompt: str) -> None:
    """One prompt typed into interactive claude (tmux); waits for the main turn."""
    env = _env(tmp, fake.url) | {"TERM": "xterm-256color"}
    home = Path(env["HOME"]) / ".claude.json"
    state = json.loads(home.read_text())
    state["customApiKeyResponses"] = {"approved": ["sk-recorder"], "rejected": []}
    home.write_text(json.dumps(state))
    name = f"rec{os.getpid()}"
    cmd = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), str(CLAUDE)]
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "200", "-y", "50",
                    "-c", str(tmp), *cmd], check=True)  # fmt: skip
    try:
        _wait(lambda: False, 6)  # the prompt box is ready (no request tells)
        subprocess.run(["tmux", "send-keys", "-t", name, "-l", prompt], check=True)
        subprocess.run(["tmux", "send-keys", "-t", name, "Enter"], check=True)
        _wait(lambda: sum(r.method == "POST" for r in fake.received) >= 2, 30)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False)


def _wait(done: Any, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not done():
        time.sleep(0.2)  # a recording script, not a test: polling a real CLI


def keep(fake: FakeUpstream, tmp: Path, name: str, notes: list[str]) -> None:
    posts = [r for r in fake.received if r.method == "POST" and r.path_qs.startswith("/v1/")]
    out = [_request(r, str(tmp), note) for r, note in zip(posts, notes, strict=False)]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {name}: {len(out)} requests")


def _request(r: Received, tmp: str, note: str) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in r.headers.items() if k.lower() in KEEP_HEADERS}
    headers |= {k: "0000" for k in ID_HEADERS if k in {h.lower() for h in r.headers}}
    return {"note": note, "path": r.path_qs, "headers": headers, "body": scrub(r.body, tmp)}


def main() -> None:
    agent = tool("Agent", "toolu_a1", description="say hi", prompt="Say hi and nothing else.",
                 subagent_type="general-purpose")  # fmt: skip
    threaded = ThreadedFake("rec")
    threaded.fake.__class__ = Recorder  # before it starts: its route binds _handle
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as d, threaded as fake:
        tmp = Path(d).resolve()
        (tmp / "pic.png").write_bytes(tiny_png())
        print_mode(tmp, fake, "ask a helper agent to say hi",
                   [events(agent, stop="tool_use"), events(text("hi")),
                    events(text("The helper said hi."))],
                   "--allowedTools", "Bash,Read,Agent")  # fmt: skip
        notes = ["main: first turn", "main: after the Agent tool_result",
                 "subagent: its first turn", "main: the subagent's news"]  # fmt: skip
        keep(fake, tmp, "subagent", notes)
        fake.received.clear()
        print_mode(tmp, fake, "look at pic.png",
                   [events(tool("Read", "toolu_r1", file_path=str(tmp / "pic.png")),
                           stop="tool_use"), events(text("A red square."))],
                   "--allowedTools", "Bash,Read")  # fmt: skip
        keep(fake, tmp, "image", ["main: first turn", "main: the Read tool_result, an image"])
        fake.received.clear()
        print_mode(tmp, fake, "say hi", [events(text("hi"))], "--model", "haiku")
        keep(fake, tmp, "haiku", ["main: --model haiku"])
        fake.received.clear()
        if shutil.which("tmux"):
            interactive(tmp, fake, "please write a haiku about the sea")
            keep(fake, tmp, "interactive", ["background: the session title", "main: first turn"])


if __name__ == "__main__":
    main()

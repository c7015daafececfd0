"""End to end: the real Claude Code through `hotswap run --gateway URL`, switching its own
session with `ds`. The default backend (Anthropic's fake) answers the first turn with a
Bash tool call running `ds`; Claude Code runs it inside the session (the switch command
posts to the gateway with the user's key and the session's id), and its next request --
the tool's result -- reaches DeepSeek's fake. Another user's session stays on Anthropic."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from claude_env import BIN, needs_claude, offline_env
from clients import tool_result_text
from fakes import encode_events, message_events, sse_reply
from gateway_team import Team, ask, postgres_fixture, redis_fixture, team_fixture  # noqa: F401

pytestmark = needs_claude


async def test_ds_inside_claude_code_switches_its_gateway_session(
    team: Team, tmp_path: Path
) -> None:
    url = await team.start()
    alice, bob = await team.key("alice"), await team.key("bob")
    tool_call = message_events(
        "", tool_use={"name": "Bash", "input": {"command": "ds", "description": "switch"}}
    )
    team.anthropic.script(sse_reply(encode_events(tool_call)))
    team.deepseek.script(sse_reply(encode_events(message_events("DeepSeek took over."))))
    env = offline_env(tmp_path, team.home, HOTSWAP_GATEWAY_KEY=alice)
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "hotswap"), "run", "--gateway", url, "--", "-p", "hi",
        "--allowedTools", "Bash", "--output-format", "json",
        env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    assert proc.returncode == 0, err.decode() + out.decode()
    result = json.loads(out)
    assert result["is_error"] is False and result["result"] == "DeepSeek took over."
    assert len(team.anthropic.received) == 1 and len(team.deepseek.received) == 1
    first, second = team.anthropic.received[0], team.deepseek.received[0]
    session = first.headers["x-claude-code-session-id"]
    assert second.headers["x-claude-code-session-id"] == session
    assert f"alice's session {session} -> deepseek" in tool_result_text(second.body)
    assert first.headers["x-api-key"] != alice and alice not in str(dict(second.headers))
    # bob, with the same session id, is still on the gateway's default
    assert (await ask(url, bob, session=session))[0] == 200
    assert len(team.anthropic.received) == 2

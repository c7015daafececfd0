"""The real Claude Code through `hotswap run` with routes: the main conversation asks the
Agent tool for a subagent; the subagent's requests (and any background request) go to the
route's backend, the main conversation's to the mode's. Each fake sees exactly its own."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from claude_env import BIN, hotswap_run_claude, needs_claude
from fakes import ThreadedFake, sse_message

AGENT = {
    "name": "Agent",
    "id": "toolu_e2e_agent",
    "input": {
        "description": "say hi",
        "prompt": "Say hi and nothing else.",
        "subagent_type": "general-purpose",
    },
}
KEYS = {"DEEPSEEK_API_KEY": "sk-ds-e2e", "MOONSHOT_API_KEY": "sk-kimi-e2e"}


@needs_claude
def test_a_subagent_goes_by_its_route_and_the_main_turns_stay_on_the_mode(
    tmp_path: Path, home: Path
) -> None:
    with ThreadedFake("deepseek") as main, ThreadedFake("kimi") as side:
        main.script(sse_message("", tool_use=AGENT), sse_message("Started a helper."))
        (home / "config.toml").write_text(
            f'[backends.deepseek]\nbase_url = "{main.url}"\n'
            f'[backends.kimi]\nbase_url = "{side.url}"\n'
            '[[routes]]\nwhen = "background"\nto = "kimi"\n'
            '[[routes]]\nwhen = "subagent"\nto = "kimi"\n'
        )
        result = hotswap_run_claude(
            tmp_path, home, "ask a helper agent to say hi", backend="deepseek", **KEYS
        )
        assert result["is_error"] is False
        mains = [r for r in main.received if r.method == "POST"]
        sides = [r for r in side.received if r.method == "POST"]
    assert len(mains) >= 2 and sides, (len(mains), len(sides))
    assert all("x-claude-code-agent-id" not in r.headers and r.body["tools"] for r in mains)
    assert all("x-claude-code-agent-id" in r.headers for r in sides)
    assert all("sk-kimi-e2e" in r.headers.get("authorization", "") for r in sides)  # its auth
    assert any(b["type"] == "tool_use" for b in mains[1].body["messages"][2]["content"])
    done = subprocess.run(
        [str(BIN / "hotswap"), "logs", "--json", "-n", "50"],
        env={**os.environ, "HOTSWAP_HOME": str(home)}, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert {(r["backend"], r["route"]) for r in rows} == {("deepseek", None), ("kimi", "subagent")}

"""End to end: the real Claude Code CLI through `hotswap run`, with Anthropic out of credit.

The router falls back to DeepSeek without Claude Code noticing, and the switch sticks: the
`backend` command, run by Claude Code's Bash tool inside the session, prints `deepseek`, and
the next request goes to DeepSeek directly.
"""

from __future__ import annotations

from pathlib import Path

from claude_env import hotswap_run_claude, needs_claude
from clients import tool_result_text
from conftest import backends_toml
from fakes import ThreadedFake, encode_events, json_error, message_events, sse_reply

pytestmark = needs_claude


def test_out_of_credit_anthropic_falls_back_to_deepseek_and_the_switch_sticks(
    tmp_path: Path,
) -> None:
    home = tmp_path / "hotswap-home"
    home.mkdir()
    with ThreadedFake("anthropic") as ant, ThreadedFake("deepseek") as ds:
        ant.script(json_error(402, "billing_error", "Your credit balance is too low."))
        tool_call = message_events(
            "", tool_use={"name": "Bash", "input": {"command": "backend", "description": "show"}}
        )
        ds.script(
            sse_reply(encode_events(tool_call)),
            sse_reply(encode_events(message_events("DeepSeek answered after the fallback."))),
        )
        (home / "config.toml").write_text(backends_toml({"anthropic": ant.url, "deepseek": ds.url}))
        result = hotswap_run_claude(
            tmp_path, home, "hi", ANTHROPIC_API_KEY="sk-ant-user", DEEPSEEK_API_KEY="sk-ds-secret"
        )
        assert result["is_error"] is False
        assert result["result"] == "DeepSeek answered after the fallback."
        assert len(ant.received) == 1  # refused once; the next request went straight to DeepSeek
        assert len(ds.received) == 2
        first, second = (r.body for r in ds.received)
        assert first["messages"] == ant.received[0].body["messages"]  # the same request, retried
        assert first["model"].startswith("deepseek-")
        assert "deepseek" in tool_result_text(second).split()
        for sent in ds.received:
            assert sent.headers["x-api-key"] == "sk-ds-secret"
            assert "sk-ant-user" not in str(sent.headers)

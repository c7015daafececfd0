"""End to end: `hotswap run` launches the real Claude Code CLI behind its own router, and
`ds` typed by Claude Code's Bash tool inside the session moves the next request to DeepSeek.
"""

from __future__ import annotations

from pathlib import Path

from claude_env import hotswap_run_claude, needs_claude
from conftest import backends_toml
from fakes import ThreadedFake, encode_events, message_events, sse_reply

pytestmark = needs_claude


def test_ds_inside_the_session_moves_the_next_request_to_deepseek(tmp_path: Path) -> None:
    home = tmp_path / "hotswap-home"
    home.mkdir()
    with ThreadedFake("anthropic") as ant, ThreadedFake("deepseek") as ds:
        tool_call = message_events(
            "", tool_use={"name": "Bash", "input": {"command": "ds", "description": "switch"}}
        )
        ant.script(sse_reply(encode_events(tool_call)))
        ds.script(sse_reply(encode_events(message_events("Switched, answering from DeepSeek."))))
        (home / "config.toml").write_text(backends_toml({"anthropic": ant.url, "deepseek": ds.url}))
        result = hotswap_run_claude(
            tmp_path,
            home,
            "switch please",
            ANTHROPIC_API_KEY="sk-ant-user",
            DEEPSEEK_API_KEY="sk-ds-secret",
        )
        assert result["is_error"] is False
        assert result["result"] == "Switched, answering from DeepSeek."
        assert len(ant.received) == 1
        assert len(ds.received) == 1
        tool_result_turn = ds.received[0].body["messages"][-1]
        assert any(block.get("type") == "tool_result" for block in tool_result_turn["content"])
        assert ds.received[0].headers["x-api-key"] == "sk-ds-secret"
        assert "sk-ant-user" not in str(ds.received[0].headers)
        assert ds.received[0].body["model"].startswith("deepseek-")
    assert not any((home / "sessions").iterdir())  # the record is gone after claude exits

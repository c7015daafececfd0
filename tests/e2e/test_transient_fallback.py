"""End to end: the real Claude Code CLI through `hotswap run` while Anthropic is overloaded.

With `transient_fallback` on, the 529 is answered by DeepSeek for that request only, and
inside the session the status line, `sessions` and the router's log all say so; the next
request goes to Anthropic again. With it off (the default), the request stays on
Anthropic: Claude Code gets the 529, DeepSeek never sees the conversation.
"""

from __future__ import annotations

from pathlib import Path

from claude_env import hotswap_run_claude, needs_claude
from clients import tool_result_text
from conftest import backends_toml
from fakes import ThreadedFake, encode_events, json_error, message_events, sse_reply

pytestmark = needs_claude

LOOK = (
    "hotswap statusline </dev/null; sessions; grep fallback: "
    '"$HOTSWAP_HOME/sessions/$HOTSWAP_SESSION/router.log"'
)


def test_a_529_answered_by_deepseek_shows_everywhere(tmp_path: Path) -> None:
    home = tmp_path / "hotswap-home"
    home.mkdir()
    with ThreadedFake("anthropic") as ant, ThreadedFake("deepseek") as ds:
        ant.script(
            json_error(529, "overloaded_error", "Overloaded"),
            sse_reply(encode_events(message_events("Anthropic is back."))),
        )
        look = message_events("", tool_use={"name": "Bash", "input": {"command": LOOK}})
        ds.script(sse_reply(encode_events(look)))
        toml = backends_toml({"anthropic": ant.url, "deepseek": ds.url})
        (home / "config.toml").write_text(toml + "\n[router]\ntransient_fallback = true\n")
        result = hotswap_run_claude(
            tmp_path, home, "hi", ANTHROPIC_API_KEY="sk-ant-user", DEEPSEEK_API_KEY="sk-ds-e2e"
        )
        assert result["is_error"] is False, result
        assert result["result"] == "Anthropic is back."
        assert len(ds.received) == 1 and len(ant.received) == 2  # for one request only
        seen = tool_result_text(ant.received[1].body)
        assert "⇄ anthropic" in seen  # the status line: still on Anthropic...
        assert "↷ 1 req via deepseek (anthropic HTTP 529)" in seen  # ...and it says so
        assert seen.count("↷ 1 req via deepseek") >= 2  # `sessions` has the note too
        assert "fallback: anthropic -> deepseek for this request (HTTP 529" in seen  # the log


def test_a_529_stays_on_anthropic_by_default(tmp_path: Path) -> None:
    home = tmp_path / "hotswap-home"
    home.mkdir()
    with ThreadedFake("anthropic") as ant, ThreadedFake("deepseek") as ds:
        ant.script(json_error(529, "overloaded_error", "Overloaded"))
        (home / "config.toml").write_text(backends_toml({"anthropic": ant.url, "deepseek": ds.url}))
        try:
            hotswap_run_claude(
                tmp_path, home, "hi", ANTHROPIC_API_KEY="sk-ant-user", DEEPSEEK_API_KEY="sk-ds-e2e"
            )
        except AssertionError as exc:  # Claude Code exits 1 with the error
            assert "529" in str(exc) or "verloaded" in str(exc), exc
        else:
            raise AssertionError("Claude Code got an answer through another vendor")
        assert ds.received == []
        assert len(ant.received) == 1

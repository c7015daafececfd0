"""End to end: the real Claude Code CLI switches backend between tool-loop turns (`ds`, then
`ant`, typed by its own Bash tool) against strict emulators whose replies carry signed
thinking blocks. Anthropic's emulator checks every signature and the tool-loop thinking
rule, DeepSeek's wants thinking on every tool turn: the session must end without a 400.
"""

from __future__ import annotations

from pathlib import Path

import emulators as emu
from claude_env import hotswap_run_claude, needs_claude
from conftest import backends_toml
from fakes import ThreadedFake

pytestmark = needs_claude


def bash(command: str, tool_id: str) -> list[dict[str, object]]:
    call = {"command": command, "description": "switch backend"}
    return [{"type": "tool_use", "id": tool_id, "name": "Bash", "input": call}]


def test_switching_mid_tool_loop_with_thinking_never_400s(tmp_path: Path) -> None:
    home = tmp_path / "hotswap-home"
    home.mkdir()
    ant_thread, ds_thread = ThreadedFake(), ThreadedFake()
    ant_thread.fake = emu.Emulator("anthropic")  # the thread serves whatever fake it holds
    ds_thread.fake = emu.Emulator("deepseek")
    with ant_thread as ant, ds_thread as ds:
        assert isinstance(ant, emu.Emulator) and isinstance(ds, emu.Emulator)
        ant.turns += [bash("ds", "toolu_e2e1"), [{"type": "text", "text": "Back on Anthropic."}]]
        ds.turns += [bash("ant", "toolu_e2e2")]
        (home / "config.toml").write_text(backends_toml({"anthropic": ant.url, "deepseek": ds.url}))
        result = hotswap_run_claude(
            tmp_path,
            home,
            "switch twice",
            ANTHROPIC_API_KEY="sk-ant-user",
            DEEPSEEK_API_KEY="sk-ds-secret",
        )
        assert [r.message for r in ant.rejections + ds.rejections] == []
        assert result["is_error"] is False
        assert result["result"] == "Back on Anthropic."
        assert (len(ant.received), len(ds.received)) == (2, 1)
        to_ds = ds.received[0].body
        assert emu.own_blocks("anthropic", to_ds) == 0  # Anthropic's reasoning stayed home
        back = ant.received[1].body
        assert emu.own_blocks("anthropic", back) == 2  # its thinking + redacted_thinking, kept
        assert emu.own_blocks("deepseek", back) == 0
        assert all(
            b.get("signature", "").startswith("anthropic:")
            for _, _, b in emu.each_block(back)
            if b.get("type") == "thinking"
        )

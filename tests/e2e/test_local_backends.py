"""End to end: the real Claude Code CLI through each local preset's strict emulator
(`hotswap run -b NAME --model M`, a multi-step Bash tool loop), and `backend ollama --model M`
typed by Claude Code's own Bash tool moving a running session to a local server."""

from __future__ import annotations

from pathlib import Path

import pytest

import emulators as emu
from claude_env import hotswap_run_claude, needs_claude
from conftest import backends_toml
from fakes import ThreadedFake

pytestmark = needs_claude


def bash(command: str, tool_id: str) -> list[dict[str, object]]:
    call = {"command": command, "description": "step"}
    return [{"type": "tool_use", "id": tool_id, "name": "Bash", "input": call}]


@pytest.mark.parametrize("name", emu.LOCAL)
def test_a_tool_loop_through_each_local_preset(tmp_path: Path, name: str) -> None:
    home = tmp_path / "hotswap-home"
    home.mkdir()
    thread = ThreadedFake()
    thread.fake = emu.Emulator(name)
    with thread as local:
        assert isinstance(local, emu.Emulator)
        local.turns += [
            bash("echo first-step", "toolu_l1"),
            bash("echo second-step", "toolu_l2"),
            [{"type": "text", "text": f"Done on {name}."}],
        ]
        (home / "config.toml").write_text(backends_toml({name: local.url}))
        result = hotswap_run_claude(tmp_path, home, "two steps", backend=name, model="local-coder")
        assert [r.message for r in local.rejections] == []
        assert result["is_error"] is False and result["result"] == f"Done on {name}."
        assert len(local.received) == 3
        for sent in local.received:
            assert sent.body["model"] == "local-coder"
            assert "x-api-key" not in sent.headers and "Authorization" not in sent.headers


def test_backend_ollama_with_a_model_mid_session(tmp_path: Path) -> None:
    home = tmp_path / "hotswap-home"
    home.mkdir()
    ant_thread, ollama_thread = ThreadedFake(), ThreadedFake()
    ant_thread.fake = emu.Emulator("anthropic")
    ollama_thread.fake = emu.Emulator("ollama")
    with ant_thread as ant, ollama_thread as ollama:
        assert isinstance(ant, emu.Emulator) and isinstance(ollama, emu.Emulator)
        ant.turns += [bash("backend ollama --model qwen3-coder", "toolu_o1")]
        ollama.turns += [[{"type": "text", "text": "Hello from Ollama."}]]
        urls = {"anthropic": ant.url, "ollama": ollama.url}
        (home / "config.toml").write_text(backends_toml(urls))
        result = hotswap_run_claude(
            tmp_path, home, "switch to ollama", ANTHROPIC_API_KEY="sk-ant-user"
        )
        assert [r.message for r in ant.rejections + ollama.rejections] == []
        assert result["result"] == "Hello from Ollama."
        sent = ollama.received[0]
        assert sent.body["model"] == "qwen3-coder"
        assert "sk-ant-user" not in str(sent.headers)
        assert emu.own_blocks("anthropic", sent.body) == 0  # Anthropic's thinking stayed home

"""End to end: the real Claude Code CLI through `hotswap run` with an OpenAI-wire backend (a
fake Chat Completions server whose replies the `openai` package's types validate): a
multi-step Bash tool loop, and switching anthropic -> openai -> anthropic mid-conversation
against Anthropic's strict emulator, without a 400.
"""

from __future__ import annotations

import json
from pathlib import Path

import emulators as emu
from claude_env import hotswap_run_claude, needs_claude
from conftest import backends_toml
from fake_openai import FakeOpenAI, chat_sse, text_chunks, tool_chunks
from fakes import ThreadedFake

pytestmark = needs_claude


def bash_call(call_id: str, command: str) -> list[tuple[str, str, dict[str, str]]]:
    return [(call_id, "Bash", {"command": command, "description": "step"})]


def openai_toml(url: str) -> str:
    return f'[backends.openai]\nbase_url = "{url}/v1"\n'


def test_a_multi_step_bash_tool_loop_through_an_openai_backend(tmp_path: Path) -> None:
    home = tmp_path / "hotswap-home"
    home.mkdir()
    thread = ThreadedFake()
    thread.fake = FakeOpenAI("openai")
    with thread as fake:
        assert isinstance(fake, FakeOpenAI)
        fake.script(
            chat_sse(tool_chunks(bash_call("call_1", "echo first-step"), text="Step one.")),
            chat_sse(tool_chunks(bash_call("call_2", "echo second-step")), chunk_size=5),
            chat_sse(text_chunks("Both steps ran.", reasoning="The outputs look right.")),
        )
        (home / "config.toml").write_text(openai_toml(fake.url))
        result = hotswap_run_claude(
            tmp_path, home, "run two steps", backend="openai", OPENAI_API_KEY="sk-oa-secret"
        )
        assert fake.rejections == []
        assert result["is_error"] is False, result
        assert result["result"] == "Both steps ran."
        assert len(fake.received) == 3
        last = fake.received[2].body["messages"]
        tools = [m for m in last if m["role"] == "tool"]
        assert [t["tool_call_id"] for t in tools] == ["call_1", "call_2"]
        assert "first-step" in tools[0]["content"] and "second-step" in tools[1]["content"]
        for sent in fake.received:
            assert sent.path_qs == "/v1/chat/completions"
            assert sent.headers["Authorization"] == "Bearer sk-oa-secret"
            assert sent.body["model"] == "gpt-5"
            text = json.dumps(sent.body)
            assert "context_management" not in text and "cache_control" not in text


def test_switching_anthropic_openai_anthropic_never_400s(tmp_path: Path) -> None:
    home = tmp_path / "hotswap-home"
    home.mkdir()
    ant_thread, oa_thread = ThreadedFake(), ThreadedFake()
    ant_thread.fake = emu.Emulator("anthropic")
    oa_thread.fake = FakeOpenAI("openai")
    with ant_thread as ant, oa_thread as oa:
        assert isinstance(ant, emu.Emulator) and isinstance(oa, FakeOpenAI)
        call = {"command": "backend openai", "description": "switch"}
        ant.turns += [
            [{"type": "tool_use", "id": "toolu_sw1", "name": "Bash", "input": call}],
            [{"type": "text", "text": "Back on Anthropic."}],
        ]
        oa.script(
            chat_sse(
                tool_chunks(bash_call("call_sw2", "ant"), text="Switching back.")[:1]
                + text_chunks("", reasoning="OpenAI-side reasoning.")[1:2]
                + tool_chunks(bash_call("call_sw2", "ant"), text="Switching back.")[1:]
            )
        )
        toml = backends_toml({"anthropic": ant.url}) + openai_toml(oa.url)
        (home / "config.toml").write_text(toml)
        result = hotswap_run_claude(
            tmp_path,
            home,
            "switch twice",
            ANTHROPIC_API_KEY="sk-ant-user",
            OPENAI_API_KEY="sk-oa-secret",
        )
        assert [r.message for r in ant.rejections] == []
        assert oa.rejections == []
        assert result["is_error"] is False, result
        assert result["result"] == "Back on Anthropic."
        assert (len(ant.received), len(oa.received)) == (2, 1)
        assert "sk-ant-user" not in str(oa.received[0].headers)
        back = ant.received[1].body
        assert emu.own_blocks("anthropic", back) == 2  # its own thinking, kept verbatim
        assert all(
            b.get("signature", "").startswith("anthropic:")
            for _, _, b in emu.each_block(back)
            if b.get("type") == "thinking"
        )  # OpenAI's unsigned reasoning never reaches Anthropic

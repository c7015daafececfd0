"""Local servers (Ollama, llama.cpp, vLLM, SGLang, LM Studio): presets with `auth = "none"`,
`default_model` from the config, the command line or the mode file, and their emulators."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import anthropic
import pytest

import emulators as emu
from claude_env import BIN
from conftest import MakeRouter
from fakes import FakeUpstream
from hotswap.cli.main import with_model
from hotswap.config.backends import PRESETS
from hotswap.config.loading import load_config
from hotswap.errors import ConfigError
from hotswap.router.upstream import upstream_headers
from hotswap.rules.rewrite import map_model
from hotswap.sessions.modefile import read_mode

LOCAL = {"ollama": 11434, "llamacpp": 8080, "vllm": 8000, "sglang": 30000, "lmstudio": 1234}
CLIENT = {"x-api-key": "sk-ant-user", "Authorization": "Bearer sk-ant-oauth", "x-app": "cli"}


@pytest.mark.parametrize(("name", "port"), sorted(LOCAL.items()))
def test_local_presets_need_no_key_and_send_none(home: Path, name: str, port: int) -> None:
    backend = PRESETS[name]
    assert backend.base_url == f"http://127.0.0.1:{port}"
    assert backend.auth == "none" and backend.wire == "anthropic"
    headers = upstream_headers(CLIENT, backend, load_config().keys)
    assert "x-api-key" not in headers and "Authorization" not in headers  # the client's: gone
    assert headers["x-app"] == "cli"


def test_default_model_from_the_config_for_every_tier(home: Path) -> None:
    (home / "config.toml").write_text('[backends.ollama]\ndefault_model = "qwen3-coder"\n')
    ollama = load_config().backends["ollama"]
    for model in ("claude-opus-5-5", "claude-haiku-5-5", "claude-sonnet-5-5[1m]"):
        assert map_model(model, ollama) == "qwen3-coder"


def test_the_model_map_wins_over_default_model(home: Path) -> None:
    (home / "config.toml").write_text(
        '[backends.ollama]\ndefault_model = "qwen3-coder"\n'
        '[backends.ollama.models]\n"claude-haiku-*" = "qwen3:4b"\n'
    )
    ollama = load_config().backends["ollama"]
    assert map_model("claude-haiku-5-5", ollama) == "qwen3:4b"
    assert map_model("claude-opus-5-5", ollama) == "qwen3-coder"


def test_a_new_backend_with_auth_none_needs_no_key_variable(home: Path) -> None:
    (home / "config.toml").write_text(
        '[backends.box]\nbase_url = "http://10.0.0.5:8000"\nauth = "none"\ndefault_model = "big"\n'
    )
    assert load_config().backends["box"].default_model == "big"
    (home / "config.toml").write_text('[backends.box]\nbase_url = "http://x"\nauth = "bearer"\n')
    with pytest.raises(ConfigError, match=r"backends\.box\.api_key_env"):
        load_config()


def test_an_empty_default_model_is_refused_naming_the_key(home: Path) -> None:
    (home / "config.toml").write_text('[backends.ollama]\ndefault_model = " "\n')
    with pytest.raises(ConfigError, match=r"backends\.ollama\.default_model"):
        load_config()


def test_run_model_flag_sends_every_request_to_that_model(home: Path) -> None:
    config = with_model(load_config(), "ollama", "qwen3-coder")
    ollama = config.resolve("ollama")
    assert ollama is not None and ollama.default_model == "qwen3-coder"
    deepseek = with_model(load_config(), "ds", "deepseek-v4-pro").backends["deepseek"]
    assert map_model("claude-haiku-5-5", deepseek) == "deepseek-v4-pro"  # the map set aside


async def test_a_model_in_the_mode_file_reaches_the_backend(
    fakes: Callable[[str], Awaitable[FakeUpstream]], make_router: MakeRouter
) -> None:
    fake = await fakes("ollama")
    router = await make_router({"ollama": fake.url}, mode="ollama qwen3-coder:30b")
    first = router.state.read_mode().backend
    assert first.name == "ollama" and first.default_model == "qwen3-coder:30b"
    assert router.state.read_mode().backend is first  # built once, not per request
    assert router.state.status()["model"] == "qwen3-coder:30b"
    client = anthropic.AsyncAnthropic(base_url=router.url, api_key="sk-ant-user", max_retries=0)
    await client.messages.create(
        model="claude-opus-5-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )
    sent = fake.received[0]
    assert sent.body["model"] == "qwen3-coder:30b"
    assert "x-api-key" not in sent.headers and "Authorization" not in sent.headers
    router.mode_file.write_text("ollama\n")
    assert router.state.read_mode().backend.default_model is None


def run_cmd(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "HOTSWAP_HOME": str(home), "HOME": str(home)}
    return subprocess.run(
        [str(BIN / argv[0]), *argv[1:]], env=env, capture_output=True, text=True, timeout=60
    )


def test_backend_and_use_take_a_model(home: Path) -> None:
    done = run_cmd(home, "backend", "ollama", "--model", "qwen3-coder")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("-> ollama qwen3-coder")
    assert read_mode(home / "mode") == "ollama qwen3-coder"
    shown = run_cmd(home, "backend")
    assert shown.stdout.startswith("ollama qwen3-coder")
    done = run_cmd(home, "hotswap", "use", "lms", "-m", "openai/gpt-oss-20b")
    assert done.returncode == 0, done.stderr
    assert read_mode(home / "mode") == "lmstudio openai/gpt-oss-20b"
    assert run_cmd(home, "ds").returncode == 0
    assert read_mode(home / "mode") == "deepseek"  # a plain switch drops the model


def test_a_model_without_a_backend_or_with_spaces_is_refused(home: Path) -> None:
    assert run_cmd(home, "backend", "--model", "x").returncode == 2
    bad = run_cmd(home, "backend", "ollama", "--model", "two words")
    assert bad.returncode == 2 and "invalid model name" in bad.stderr
    assert not (home / "mode").exists()


def test_ollama_refuses_images_that_are_not_base64() -> None:
    image = {"type": "image", "source": {"type": "url", "url": "https://example.test/a.png"}}
    body = {"messages": [{"role": "user", "content": [image]}]}
    rejection = emu.check("ollama", body)
    assert rejection is not None and "Only base64 images are supported" in rejection.message
    image["source"] = {"type": "base64", "media_type": "image/png", "data": "iVBO"}
    assert emu.check("ollama", body) is None


def test_vllm_refuses_block_types_outside_its_schema() -> None:
    body = {"messages": [{"role": "assistant", "content": [{"type": "redacted_thinking"}]}]}
    rejection = emu.check("vllm", body)
    assert rejection is not None and "Input should be" in rejection.message
    assert emu.check("vllm", {"messages": [], "tool_choice": {"type": "none"}}) is not None


def test_doctor_asks_no_key_of_a_local_server(home: Path) -> None:
    from hotswap.cli.checks import check_keys

    used = frozenset({"openai", "ollama"})  # a mode points at each
    checks = check_keys(load_config(), {}, used)
    text = " ".join(f"{c.name} {c.detail}" for c in checks)
    assert "ollama" not in text and "lmstudio" not in text
    assert "OPENAI_API_KEY (openai)" in text  # an OpenAI-wire preset still needs its key

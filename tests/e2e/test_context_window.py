"""End to end: the real Claude Code through `hotswap run`, on a backend whose context
window a conversation outgrows. The router answers Anthropic's `prompt is too long` 400
without sending the request on, and Claude Code reacts as it does with Anthropic: it
compacts the conversation by itself (a summary request) and sends it again."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from claude_env import BIN, needs_claude, offline_env
from conftest import backends_toml
from fakes import ThreadedFake

pytestmark = needs_claude

WINDOW = 20_000  # Claude Code's own prompt and tools: ~12k tokens by the careful count


def _claude(tmp: Path, home: Path, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [str(BIN / "hotswap"), "run", "-b", "deepseek", "--", "-p", *args,
         "--output-format", "json"],
        env=offline_env(tmp, home, DEEPSEEK_API_KEY="sk-ds-window"), cwd=tmp,
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    result = json.loads(done.stdout)
    assert isinstance(result, dict), done.stderr
    return result


def test_too_long_for_the_window_makes_claude_code_compact(tmp_path: Path) -> None:
    home = tmp_path / "hotswap-home"
    home.mkdir()
    with ThreadedFake("deepseek") as ds:
        extra = f"[backends.deepseek]\ncontext_tokens = {WINDOW}\n"
        (home / "config.toml").write_text(backends_toml({"deepseek": ds.url}).replace(
            "[backends.deepseek]\n", extra, 1))  # fmt: skip
        assert _claude(tmp_path, home, "first question")["is_error"] is False
        asked = len(ds.received)
        result = _claude(tmp_path, home, "--continue", "second " + "c" * 60_000)
        assert result["is_error"] is True
        assert result.get("terminal_reason") == "prompt_too_long"
        assert str(result["result"]).startswith("Prompt is too long")
        after = [r.body for r in ds.received[asked:]]
        assert after, "Claude Code sent nothing after the 400"
        assert all("c" * 60_000 not in json.dumps(b) for b in after)  # never forwarded
        # Claude Code summarised the conversation (its compaction request) by itself.
        assert any("TEXT ONLY" in json.dumps(b["messages"][-1]) for b in after)
    log = next((home / "sessions").rglob("router.log"), None)
    assert log is None or "sk-ds-window" not in log.read_text()

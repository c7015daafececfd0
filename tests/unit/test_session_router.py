"""What a session router re-registers when its folder was removed: the mode as it was,
model included (`ollama qwen3-coder`), never an unknown name."""

from __future__ import annotations

from pathlib import Path

from hotswap.config.loading import load_config
from hotswap.sessions.session_router import _named


def test_the_mode_is_kept_with_its_model(home: Path) -> None:
    config = load_config()
    mode = home / "mode"
    mode.write_text("OLLAMA qwen3-coder\n")
    assert _named(config, mode) == "ollama qwen3-coder"
    mode.write_text("ds\n")
    assert _named(config, mode) == "deepseek"
    mode.write_text("gpt-9 x\n")
    assert _named(config, mode) is None
    assert _named(config, home / "absent") is None

"""`ds` on a conversation larger than DeepSeek's window, as a user types it inside a
session: the switch happens, and one warning says the conversation will not fit."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import backends_toml
from fakes import ThreadedFake, sse_message
from runner import clean_env, cmd, hotswap_run, post, ready


def test_ds_on_a_large_conversation_warns_and_switches(home: Path, tmp_path: Path) -> None:
    env = {**clean_env(home, tmp_path), "DEEPSEEK_API_KEY": "sk-ds-switch"}
    with ThreadedFake("anthropic") as ant:
        ant.script(sse_message(input_tokens=90_000))
        toml = backends_toml(
            {"anthropic": ant.url}, "[backends.deepseek]\ncontext_tokens = 64000\n"
        )
        (home / "config.toml").write_text(toml)
        with hotswap_run(env) as run:
            base = run.env["ANTHROPIC_BASE_URL"]
            ready(base)
            assert post(base) == 200
            inside = {**env, "HOTSWAP_SESSION": run.env["HOTSWAP_SESSION"]}
            done = cmd(inside, "ds")
            assert done.returncode == 0
            assert re.fullmatch(r"session \w+ \(port \d+\): anthropic -> deepseek\n", done.stdout)
            assert done.stderr == (
                "warning: this conversation is about 90000 tokens, more than deepseek's "
                "context window of 64000; run /compact before the next request there\n"
            )
            assert cmd(inside, "backend").stdout.startswith("deepseek  ")
            assert cmd(inside, "ant").stderr == ""  # Anthropic's window holds it
            run.finish()

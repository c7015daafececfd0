"""Small things a user met in the first hour (issue 23), each checked as the user met it."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

from claude_env import BIN
from fakes import ThreadedFake, json_reply

ROOT = Path(__file__).resolve().parents[2]


def test_models_counts_one_model_in_the_singular(home: Path) -> None:
    tags = {"models": [{"name": "qwen3-coder:30b", "model": "qwen3-coder:30b"}]}
    with ThreadedFake("ollama") as ollama:
        ollama.script(json_reply(200, tags))
        (home / "config.toml").write_text(f'[backends.ollama]\nbase_url = "{ollama.url}"\n')
        env = {"PATH": os.environ["PATH"], "HOTSWAP_HOME": str(home), "HOME": str(home)}
        done = subprocess.run(
            [str(BIN / "hotswap"), "models", "ollama"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("ollama: 1 model (from ")


def test_the_readme_names_every_command_the_install_puts_on_path() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    readme = (ROOT / "README.md").read_text()
    said = re.search(r"Each puts (\w+) commands on your `PATH`: (.*?)\.\n\n", readme, re.S)
    assert said is not None
    words = {"five": 5, "six": 6, "seven": 7}
    assert words[said.group(1)] == len(scripts)
    assert set(re.findall(r"`([a-z]+)`", said.group(2))) == set(scripts)

"""The real Claude Code CLI, offline: where it is and the environment it runs in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLAUDE = ROOT / ".cc" / "node_modules" / ".bin" / "claude"
BIN = Path(sys.executable).parent

needs_claude = pytest.mark.skipif(
    not CLAUDE.exists() and not os.environ.get("CI"),
    reason="Claude Code CLI not installed (make test installs it into .cc/)",
)


def claude_home(tmp: Path) -> Path:
    """A throwaway HOME with Claude Code's first-run dialogs already dismissed."""
    home = tmp / "claude-home"
    (home / ".claude").mkdir(parents=True, exist_ok=True)
    state = {
        "hasCompletedOnboarding": True,
        "hasSeenAutoDefaultNotice": True,
        "hasSeenAutoDefaultNudge": True,
        "projects": {str(tmp): {"hasTrustDialogAccepted": True}},
    }
    (home / ".claude.json").write_text(json.dumps(state))
    (home / ".claude" / "settings.json").write_text(
        json.dumps({"permissions": {"defaultMode": "default"}})
    )
    return home


def offline_env(tmp: Path, hotswap_home: Path, **extra: str) -> dict[str, str]:
    """`env -i`-style environment for claude and the hotswap commands."""
    env = {
        "HOME": str(claude_home(tmp)),
        "PATH": f"{BIN}:{CLAUDE.parent}:/usr/local/bin:/usr/bin:/bin",
        "HOTSWAP_HOME": str(hotswap_home),
        "HOTSWAP_CLAUDE_BIN": str(CLAUDE),
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL": "1",
        "CLAUDE_CODE_MAX_RETRIES": "0",
        # hotswap run turns model discovery on (one GET /v1/models per backend at start);
        # off here, so that the fakes of other tests see only what they script. An empty
        # value is the user's "unset": tests/e2e/test_models.py passes that.
        "CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY": "0",
        "LANG": "C.UTF-8",
    }
    env.update(extra)
    return env


def hotswap_run_claude(
    tmp: Path,
    hotswap_home: Path,
    prompt: str,
    *,
    backend: str = "anthropic",
    model: str | None = None,
    timeout_s: float = 180,
    **env: str,
) -> dict[str, object]:
    """`hotswap run -b BACKEND [--model M] -- -p PROMPT --allowedTools Bash --output-format
    json` with the real Claude Code, offline; returns its JSON result (asserting exit 0)."""
    model_args = ["--model", model] if model else []
    done = subprocess.run(
        [str(BIN / "hotswap"), "run", "-b", backend, *model_args, "--", "-p", prompt,
         "--allowedTools", "Bash", "--output-format", "json"],
        env=offline_env(tmp, hotswap_home, **env), cwd=tmp, capture_output=True, text=True,
        timeout=timeout_s,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    result = json.loads(done.stdout)
    assert isinstance(result, dict)
    return result

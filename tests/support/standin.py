"""A stand-in for the `claude` executable, for launcher lifecycle tests.

It prints what it was launched with as one JSON line, then waits: a line `exit N` on stdin
makes it exit with N, end of input makes it exit 0.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

SCRIPT = """#!{python}
import json, os, sys
seen = {{k: os.environ.get(k) for k in (
    "ANTHROPIC_BASE_URL", "HOTSWAP_SESSION", "HOTSWAP_HOME", "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_API_KEY", "ANTHROPIC_DEFAULT_OPUS_MODEL", "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "HOTSWAP_CONFIG", "NO_PROXY", "no_proxy")}}
print(json.dumps({{"env": seen, "argv": sys.argv[1:], "pid": os.getpid()}}), flush=True)
for line in sys.stdin:
    if line.startswith("exit "):
        sys.exit(int(line.split()[1]))
"""


def make_standin(folder: Path) -> Path:
    path = folder / "claude"
    path.write_text(SCRIPT.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def read_launch(line: str) -> dict[str, object]:
    data = json.loads(line)
    assert isinstance(data, dict)
    return data


__all__ = ["make_standin", "os", "read_launch"]

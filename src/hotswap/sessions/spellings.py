"""The deepclaude pull request's spellings of the switch flags: `ds -All`, `ds -Session 3202`.

hotswap's design began as a deepclaude pull request written in PowerShell, whose master
commands took PowerShell-style parameters: a single dash, any case, `-Session` naming a
session by its router's port. argparse would read `-All` as `-a -l -l` and `-Session` as
`-s ession`, so they are rewritten to hotswap's own flags before parsing, in any shell.

Stdlib only, and nothing the switch commands do not import already: they start in tens
of milliseconds.
"""

from __future__ import annotations

from pathlib import Path

from hotswap.sessions.registry import find

# The hidden flag `-Session N` becomes: N is a port or a session id (resolved by
# session_or_port once the registry is read).
EITHER_FLAG = "--session-or-port"
_ALL = "-all"
_SESSION = "-session"
# hotswap's flags that take a value: the word after them is a value, never a flag.
_VALUED = frozenset({"--session", "-s", "--port", "-p", "--model", "-m", EITHER_FLAG})


def translate(argv: list[str]) -> list[str]:
    """argv with `-All` -> `--all` and `-Session N` (also `-Session:N`, `-Session=N`) ->
    `--session-or-port N`, matched without regard to case; everything else unchanged."""
    out: list[str] = []
    value_next = False
    for arg in argv:
        if value_next:
            out.append(arg)
            value_next = False
            continue
        lower = arg.lower()
        if lower == _ALL:
            out.append("--all")
        elif lower == _SESSION:
            out.append(EITHER_FLAG)
            value_next = True
        elif lower[: len(_SESSION) + 1] in (_SESSION + ":", _SESSION + "="):
            out += [EITHER_FLAG, arg[len(_SESSION) + 1 :]]
        else:
            out.append(arg)
            value_next = arg in _VALUED
    return out


def session_or_port(sessions_dir: Path, value: str) -> tuple[str | None, int | None]:
    """(session id, port) for `-Session VALUE`: digits that are a session's port name that
    port (the pull request's meaning: `-Session 3202` is the router on port 3202); anything
    else is a session id or a prefix of one."""
    if value.isdigit() and find(sessions_dir, port=int(value)) is not None:
        return None, int(value)
    return value, None

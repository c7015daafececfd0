"""`hotswap statusline`: the line Claude Code shows under its prompt.

Claude Code runs it after every response (its `statusLine` setting, which `hotswap run`
sets). It reads the session's mode file, and asks the router for its counts and any
fallback note over a raw loopback socket with a short timeout. Stdlib only, no http.client:
it must start in tens of milliseconds.
"""

from __future__ import annotations

import json
import os
import sys

from hotswap.config import load_config
from hotswap.errors import HotswapError
from hotswap.modefile import read_mode
from hotswap.sessions import Session, find

STATUS_TIMEOUT_S = 0.25


def fetch_status(session: Session) -> dict[str, object]:
    """GET /_hotswap/status from the session's router; {} when it does not answer."""
    import socket

    request = (
        f"GET /s/{session.secret}/_hotswap/status HTTP/1.1\r\nHost: 127.0.0.1:{session.port}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection(("127.0.0.1", session.port), STATUS_TIMEOUT_S) as sock:
            sock.sendall(request)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    except OSError:
        return {}
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def render(backend: str, session: Session | None, status: dict[str, object]) -> str:
    parts = [f"⇄ {backend}"]
    if session is not None:
        parts.append(f"session {session.id}")
    requests = status.get("requests")
    if isinstance(requests, dict) and requests:
        parts.append(f"{sum(requests.values())} req")
    note = status.get("fallback") or status.get("mode_problem")
    if note:
        parts.append(f"⚠ {note}")
    return " · ".join(parts)


def statusline_line(environ: dict[str, str] | os._Environ[str]) -> str:
    config = load_config()
    session_id = environ.get("HOTSWAP_SESSION")
    found = find(config.sessions_dir, session_id=session_id) if session_id else None
    if found is None:
        mode_file, default, session = config.global_mode_file, config.default_backend, None
    else:
        session = found[0]
        mode_file, default = session.mode_file(config.sessions_dir), session.backend
    try:
        name = read_mode(mode_file) or default
    except (OSError, ValueError):
        name = "?"
    backend = config.resolve(name)
    status = fetch_status(session) if session is not None else {}
    shown = str(status.get("mode") or (backend.name if backend else name))
    return render(shown, session, status)


def main(argv: list[str] | None = None) -> int:
    """Print the status line; never fail loudly (a non-zero exit clears Claude Code's row)."""
    if not sys.stdin.isatty():
        sys.stdin.read()  # Claude Code sends one JSON line; we do not need it
    try:
        print(statusline_line(os.environ))
    except (HotswapError, OSError) as exc:
        print(f"⇄ hotswap: {exc}"[:200])
    return 0

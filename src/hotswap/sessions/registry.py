"""The session registry: one folder per running `hotswap run`, with its record and mode file.

    $HOTSWAP_HOME/sessions/<id>/session.json   port, pids, cwd, secret (0600)
    $HOTSWAP_HOME/sessions/<id>/mode           that session's mode file

Stdlib only: `sessions`, `ds` and friends read it. A record whose process is gone is
stale; listing cleans it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import NamedTuple

from hotswap.osdeps import is_linux, pid_alive, process_start_time
from hotswap.sessions.modefile import make_private_dir, write_private

RECORD = "session.json"
MODE = "mode"
ROUTER_LOG = "router.log"  # the session router's log, in the session's folder


class Session(NamedTuple):
    id: str
    port: int
    pid: int  # the hotswap process that runs the router
    cwd: str
    started: float
    secret: str
    backend: str  # the backend it started with
    pid_start: str = ""  # the process's start time, to tell a reused pid apart

    def dir(self, sessions_dir: Path) -> Path:
        return sessions_dir / self.id

    def mode_file(self, sessions_dir: Path) -> Path:
        return sessions_dir / self.id / MODE

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/s/{self.secret}"


def new_session_id(sessions_dir: Path) -> str:
    """A new session id, its folder created (private): creating it is what claims the id,
    so two launches at the same moment cannot pick the same one."""
    make_private_dir(sessions_dir)
    while True:
        candidate = os.urandom(2).hex()  # what secrets.token_hex does, without its imports
        try:
            (sessions_dir / candidate).mkdir(mode=0o700)
        except FileExistsError:
            continue
        return candidate


def new_secret() -> str:
    """secrets.token_urlsafe(24), without the ~3 ms of imports `secrets` brings (hashlib,
    random): `hotswap run` makes one before Claude Code can start."""
    import base64

    return base64.urlsafe_b64encode(os.urandom(24)).rstrip(b"=").decode("ascii")


def register(sessions_dir: Path, session: Session) -> None:
    folder = session.dir(sessions_dir)
    make_private_dir(folder)
    write_private(folder / RECORD, json.dumps(session._asdict(), indent=1).encode())


def remove(sessions_dir: Path, session_id: str) -> None:
    _rmtree(sessions_dir / session_id)


def _rmtree(path: Path) -> None:
    import shutil  # lazy: ~2.5 ms (it imports bz2, lzma) that `ds` and friends do not need

    shutil.rmtree(path, ignore_errors=True)


def load(path: Path) -> Session | None:
    try:
        data = json.loads(path.read_text())
        return Session(**{k: data[k] for k in Session._fields if k in data})
    except (OSError, ValueError, TypeError):
        return None


def is_alive(session: Session) -> bool:
    if not pid_alive(session.pid):
        return False
    if session.pid_start and is_linux():
        return process_start_time(session.pid) == session.pid_start
    return True


def list_sessions(sessions_dir: Path, clean: bool = True) -> list[tuple[Session, bool]]:
    """Every registered session with its liveness; stale records are removed when `clean`."""
    found: list[tuple[Session, bool]] = []
    try:
        entries = sorted(sessions_dir.iterdir())
    except FileNotFoundError:
        return []
    for entry in entries:
        session = load(entry / RECORD)
        if session is None:
            if clean and _abandoned(entry):
                _rmtree(entry)
            continue
        alive = is_alive(session)
        if not alive and clean:
            _rmtree(entry)
        found.append((session, alive))
    return found


def _abandoned(entry: Path) -> bool:
    """A folder without a readable record, older than a minute (not one being created)."""
    with contextlib.suppress(OSError):
        return time.time() - entry.stat().st_mtime > 60
    return False


def find(
    sessions_dir: Path, *, session_id: str | None = None, port: int | None = None
) -> tuple[Session, bool] | None:
    """A session by id (or unique id prefix) or by port, with its liveness; never cleans.

    A dead session can still be switched: its mode file is only a file.
    """
    known = list_sessions(sessions_dir, clean=False)
    if session_id is not None:
        exact = [pair for pair in known if pair[0].id == session_id]
        prefixed = [pair for pair in known if pair[0].id.startswith(session_id)]
        found = exact or (prefixed if len(prefixed) == 1 else [])
    else:
        found = [pair for pair in known if pair[0].port == port]
        found.sort(key=lambda pair: not pair[1])  # a live one first
    return found[0] if found else None


SERVE_RECORD = "serve.json"


def register_serve(state_dir: Path, port: int, mode_file: Path) -> Path:
    """Record the running `hotswap serve` ($HOTSWAP_HOME/serve.json), so that a switch of
    the global mode file can tell whether a router follows it."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    pid = os.getpid()
    data = {"pid": pid, "pid_start": process_start_time(pid), "port": port}
    data["mode_file"] = str(mode_file)
    path = state_dir / SERVE_RECORD
    write_private(path, json.dumps(data).encode())
    return path


def remove_serve(path: Path) -> None:
    """Remove the record if it is still this process's (another serve may have taken it)."""
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()


def serve_router(state_dir: Path) -> dict[str, object] | None:
    """The live `hotswap serve` record (pid, port, mode_file), or None."""
    try:
        data = json.loads((state_dir / SERVE_RECORD).read_text())
        pid, started = int(data["pid"]), str(data.get("pid_start", ""))
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not pid_alive(pid):
        return None
    if started and is_linux() and process_start_time(pid) != started:
        return None
    return data if isinstance(data, dict) else None


STATUS_TIMEOUT_S = 0.25


def router_status(session: Session, timeout_s: float = STATUS_TIMEOUT_S) -> dict[str, object]:
    """GET /_hotswap/status from the session's router; {} when it does not answer."""
    return status_at(session.port, f"/s/{session.secret}", timeout_s)


def status_at(
    port: int, prefix: str = "", timeout_s: float = STATUS_TIMEOUT_S
) -> dict[str, object]:
    """GET {prefix}/_hotswap/status from the router on a loopback port; {} when it does not
    answer. A raw socket: no http.client to import, and never an HTTP proxy (the path holds
    the session secret)."""
    import socket

    request = (
        f"GET {prefix}/_hotswap/status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout_s) as sock:
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

"""The router's seams: where a session's mode comes from, and who may use the router.

Each is a small Protocol with today's implementation beside it, so a team gateway can
plug in its own (modes in Redis, users' keys) without touching the request path. The
other two seams live with what they carry: where finished exchanges go
(exchange.ExchangeSink: the SQLite ledger today) and how a request picks its backend
(hotswap.routes.choose: the session's mode, until routes exist).
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Protocol

from hotswap.sessions.modefile import ModeReader, write_mode

SECRET_PREFIX = "/s/"


class ModeStore(Protocol):
    """Where a router reads its session's mode on every request, and where a sticky
    fallback writes the new one. `read` raises OSError or ValueError when the mode cannot
    be read (the router then keeps its last good backend)."""

    @property
    def where(self) -> str:
        """What the user would look at, for messages: `mode file /path`."""
        ...

    def read(self) -> str | None:
        """`deepseek` or `ollama qwen3-coder`; None: no mode set (the default backend)."""
        ...

    def write(self, name: str, note: str) -> None:
        """Make `name` the mode (a sticky fallback, deepclaude's switch); `note` says why,
        masked already (a gateway keeps it for the user's status)."""
        ...

    def refusal(self, backend: str) -> str | None:
        """Why this request may not go to `backend` (a gateway user's allowed backends),
        asked wherever a backend is chosen: the mode, a model id, a route, a fallback.
        None: it may."""
        ...


class ModeFile:
    """The mode of a `hotswap run` session or of `hotswap serve`: a plain file, read with
    one stat per request while it is unchanged (modefile.ModeReader)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._reader = ModeReader(path)

    @property
    def where(self) -> str:
        return f"mode file {self.path}"

    def read(self) -> str | None:
        return self._reader.read()

    def write(self, name: str, note: str) -> None:
        write_mode(self.path, name)  # (the note is the router's status's: fallback_note)

    def refusal(self, backend: str) -> str | None:
        return None  # a session's own router: every configured backend is the user's


class ClientAuthenticator(Protocol):
    """Who may use the router, decided from the request's path (and headers, for a
    gateway's keys). Returns the path to route, None to refuse (a 401)."""

    def authenticate(self, path: str) -> str | None: ...


class SessionSecret:
    """A `hotswap run` session's router: only its Claude Code knows the random secret in
    the base URL's path (`/s/SECRET/v1/messages`); the secret is stripped before routing."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def authenticate(self, path: str) -> str | None:
        if not path.startswith(SECRET_PREFIX):
            return None
        given, _, rest = path[len(SECRET_PREFIX) :].partition("/")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return None
        return "/" + rest


class LoopbackClients:
    """`hotswap serve`: every client on this machine (the Host and Origin checks do the
    rest); the path is routed as it is."""

    def authenticate(self, path: str) -> str | None:
        return path

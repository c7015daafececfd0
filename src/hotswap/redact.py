"""One redactor: every secret hotswap knows, masked wherever text leaves the process.

hotswap holds secrets it must never show: each backend's key (read from the environment),
the client's own credential (x-api-key, or Authorization: Bearer, that it forwards to
Anthropic), a session's secret (the /s/SECRET/ path prefix), the dashboard's token. A
backend may quote the key it got in an error (`invalid x-api-key: sk-...`), and that text
then travels on: to the client, the status, the log, the ledger. Rather than guard every
place that builds a message, the few places where text leaves the process pass it through
one Redactor: the upstream error bodies the router answers with (verbatim otherwise: this
is the one edit made to them), the status JSON, the `hotswap` logger, the exchange record
(so the ledger, the live log and the dashboard), and the CLI's output.

A secret becomes `…` and its last 4 characters (`…cdef`), as `hotswap backends` shows a
key; one shorter than 12 characters shows none of its characters (`…`). Secrets shorter
than MIN_SECRET_LEN are not redacted at all: no real key is that short, and masking every
`abc` or `test` in a message would garble it without protecting anything.

Fast: the text is searched for each secret (a handful) with `in` and copied only when one
is there; nothing is parsed. Stdlib only: the CLI's printer uses it too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

MIN_SECRET_LEN = 8  # shorter values are not redacted (see above)
MIN_SHOWN_LEN = 12  # shorter secrets show none of their characters when masked
MAX_LEARNT = 16  # client credentials remembered by one redactor (the oldest dropped first)


def masked(secret: str) -> str:
    """How a secret is shown: `…` and its last 4 characters (none if it is short)."""
    return f"…{secret[-4:]}" if len(secret) >= MIN_SHOWN_LEN else "…"


def mask(value: str | None) -> str:
    """How a secret is shown: `set (…f3a9)` (its last 4 characters) or `missing`."""
    if not value:
        return "missing"
    if len(value) < MIN_SHOWN_LEN:
        return "set"  # not a real key: none of its characters shown
    return f"set ({masked(value)})"


def client_credentials(headers: Mapping[str, str]) -> tuple[str, ...]:
    """The credential a client sent: its x-api-key, its Authorization's bearer token."""
    found = []
    key = headers.get("x-api-key")
    if key:
        found.append(key.strip())
    auth = headers.get("authorization")
    if auth:
        scheme, _, token = auth.strip().partition(" ")
        found.append(token.strip() if scheme.lower() == "bearer" else auth.strip())
    return tuple(found)


class Redactor:
    """Masks the secrets it was given (fixed) and the client credentials it learnt."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._fixed: set[str] = set()
        self._learnt: dict[str, None] = {}  # insertion-ordered: the oldest dropped first
        self._text: tuple[tuple[str, str], ...] = ()
        self._bytes: tuple[tuple[bytes, bytes], ...] = ()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """A secret to mask for as long as this redactor lives."""
        if secret and len(secret) >= MIN_SECRET_LEN and secret not in self._fixed:
            self._fixed.add(secret)
            self._rebuild()

    def learn(self, headers: Mapping[str, str]) -> None:
        """The client's credential from a request's headers (a dict look-up when known)."""
        for secret in client_credentials(headers):
            if len(secret) < MIN_SECRET_LEN or secret in self._fixed or secret in self._learnt:
                continue
            if len(self._learnt) >= MAX_LEARNT:
                del self._learnt[next(iter(self._learnt))]
            self._learnt[secret] = None
            self._rebuild()

    def _rebuild(self) -> None:
        # Longest first: a secret that contains another is masked whole.
        secrets = sorted(self._fixed | set(self._learnt), key=len, reverse=True)
        self._text = tuple((s, masked(s)) for s in secrets)
        self._bytes = tuple((s.encode(), m.encode()) for s, m in self._text)

    def text(self, text: str) -> str:
        """`text` with every secret masked; the very same object when it holds none."""
        for secret, mask in self._text:
            if secret in text:
                text = text.replace(secret, mask)
        return text

    def bytes(self, data: bytes) -> bytes:
        """`data` with every secret masked; the very same object when it holds none."""
        for secret, mask in self._bytes:
            if secret in data:
                data = data.replace(secret, mask)
        return data

    def optional(self, text: str | None) -> str | None:
        return None if text is None else self.text(text)


class LogRedaction(logging.Filter):
    """A logging filter that masks a redactor's secrets in each record's message and
    traceback, before any handler formats it."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redactor.text(message)
        if clean is not message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            trace = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redactor.text(trace)
        return True

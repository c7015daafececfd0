"""Who the current request is for: set by the gateway's middleware once the key is checked
and the mode looked up, read by the gateway's ModeStore (the router asks it for the mode
with no argument) and by its ExchangeSink (the record is published with `call_soon`,
which runs the observer in a copy of the request's context, so the caller travels with it).

A ContextVar, owned by one gateway object (no module-level state): each request task has
its own value, so concurrent requests of different users never see each other's.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class User:
    """A key's owner, as the keys table holds it."""

    id: int
    name: str
    daily_usd: float | None = None
    backends: tuple[str, ...] = ()  # backends this user may use; () = every one
    then: str | None = None  # where their requests go once the daily budget is spent

    def may_use(self, backend: str) -> bool:
        return not self.backends or backend in self.backends

    def refusal(self, backend: str) -> str | None:
        """Why this user may not use `backend` (a canonical name); None when they may."""
        if self.may_use(backend):
            return None
        return (
            f"hotswap gateway: {self.name} may not use backend '{backend}' "
            f"(allowed: {', '.join(self.backends)}); switch with `ds`/`backend NAME`"
        )


@dataclass(frozen=True, slots=True)
class Caller:
    user: User
    session: str | None  # Claude Code's x-claude-code-session-id
    mode: str | None  # the session's mode, else the user's; None: the gateway's default


class CallerSlot:
    """The current request's Caller (None outside a gateway request)."""

    def __init__(self) -> None:
        self._var: contextvars.ContextVar[Caller | None] = contextvars.ContextVar(
            "hotswap_gateway_caller", default=None
        )

    def get(self) -> Caller | None:
        return self._var.get()

    def set(self, caller: Caller) -> contextvars.Token[Caller | None]:
        return self._var.set(caller)

    def reset(self, token: contextvars.Token[Caller | None]) -> None:
        self._var.reset(token)

"""The request path's side of budgets (config/budgets.py): a backend whose budget is spent
either blocks (a 429 with `retry-after`) or sends its requests to the budget's `then`.

The spend itself is kept off the hot path (ledger/budgets.BudgetTracker: its own exchanges
as they finish, the shared ledger re-read every `[router] budget_refresh_s`); the tracker
hands the router a finished verdict per backend whose budget is spent
(`RouterState.budget_reached`). A request pays one dict lookup, and while no budget is
spent not even that: the dict is empty (`if state.budget_reached`, in proxy.route).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, NamedTuple

from hotswap.config.budgets import BLOCK
from hotswap.errors import BudgetSpentError

if TYPE_CHECKING:
    from hotswap.router.flow import Exchange
    from hotswap.router.state import RouterState

ROUTE_PREFIX = "budget:"  # the ledger's `route` of an exchange a budget sent or blocked


class BudgetVerdict(NamedTuple):
    """A spent budget, as the request path acts on it (built by the tracker)."""

    backend: str
    then: str  # BLOCK, or the backend to send requests to
    message: str  # `hotswap: anthropic's daily budget of $20.00 is spent ($20.31 today)...`
    resets_at: float  # Unix time the period that is spent ends


def budget_route(backend: str) -> str:
    return ROUTE_PREFIX + backend


def apply_budget(ex: Exchange, state: RouterState) -> BudgetSpentError | None:
    """Send `ex` past every spent budget on its way: to each `then` in turn (the session's
    mode switched too, when the mode sent it), or the 429 of a budget that blocks (or of a
    `then` chain that comes back on itself)."""
    reached = state.budget_reached
    verdict = reached.get(ex.active.name)
    seen, from_mode = {ex.active.name}, ex.route is None
    while verdict is not None:
        target = state.config.backends.get(verdict.then) if verdict.then != BLOCK else None
        if target is None or target.name in seen:
            ex.redirect(ex.active, budget_route(verdict.backend))
            return BudgetSpentError(verdict.message, retry_after_s(verdict.resets_at))
        if from_mode and state.read_mode().backend.name == verdict.backend:
            note = verdict.message.removeprefix("hotswap: ")
            state.switch_to(target, f"{note}; switched to {target.name}")
        ex.redirect(target, budget_route(verdict.backend))
        seen.add(target.name)
        verdict = reached.get(target.name)
    return None


def retry_after_s(resets_at: float, now: float | None = None) -> int:
    """Whole seconds until the budget's period resets (at least 1)."""
    left = resets_at - (time.time() if now is None else now)
    return max(1, math.ceil(left))

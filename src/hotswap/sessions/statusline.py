"""`hotswap statusline`: the line Claude Code shows under its prompt.

Claude Code runs it after every response (its `statusLine` setting, which `hotswap run`
sets). It finds the session the way the switch commands do, reads its mode file, and asks
its router for counts and any fallback note (sessions.router_status). Stdlib only: it must
start in tens of milliseconds.
"""

from __future__ import annotations

import sys

from hotswap.config.loading import load_config
from hotswap.errors import HotswapError
from hotswap.sessions.registry import Session, router_status
from hotswap.sessions.switch import SwitchError, request_counts, resolve_targets


def _usd(value: float) -> str:
    return f"${value:.2f}" if value >= 0.01 or value == 0 else f"${value:.4f}"


def spend_parts(spend: object) -> list[str]:
    """`$0.42 · saved $3.10` from the router's in-memory totals (status["spend"]); the
    status line never opens the ledger."""
    if not isinstance(spend, dict) or not spend.get("requests"):
        return []
    cost, saved = spend.get("cost_usd"), spend.get("savings_usd")
    if not isinstance(cost, int | float) or not isinstance(saved, int | float):
        return []
    mark = "≥" if spend.get("unknown_price") else ""  # some tokens had no price
    parts = [f"{mark}{_usd(cost)}"]
    if saved > 0:
        parts.append(f"saved {mark}{_usd(saved)}")
    return parts


def render(backend: str, session: Session | None, status: dict[str, object]) -> str:
    parts = [f"⇄ {backend}"]
    if session is not None:
        parts.append(f"session {session.id}")
    parts += spend_parts(status.get("spend"))
    requests, failed = request_counts(status)
    if requests:
        parts.append(f"{requests} req" + (f" ({failed} failed)" if failed else ""))
    via = status.get("transient_note")
    if via:
        parts.append(f"↷ {via}")
    note = status.get("fallback") or status.get("mode_problem")
    if note:
        parts.append(f"⚠ {note}")
    return " · ".join(parts)


def statusline_line() -> str:
    """The session's backend (as its router sees it, else its mode file), with counts."""
    config = load_config()
    target = resolve_targets(config)[0]
    status = router_status(target.session) if target.session and target.alive else {}
    return render(str(status.get("mode") or target.current(config)), target.session, status)


def main(argv: list[str] | None = None) -> int:
    """Print the status line; never fail loudly (a non-zero exit clears Claude Code's row)."""
    if not sys.stdin.isatty():
        sys.stdin.read()  # Claude Code sends one JSON line; we do not need it
    try:
        print(statusline_line())
    except (HotswapError, SwitchError, OSError) as exc:
        print(f"⇄ hotswap: {exc}"[:200])
    return 0

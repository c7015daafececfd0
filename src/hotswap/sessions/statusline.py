"""`hotswap statusline`: the line Claude Code shows under its prompt.

Claude Code runs it after every response (its `statusLine` setting, which `hotswap run`
sets). It finds the session the way the switch commands do, reads its mode file, and asks
its router for counts and any fallback note (sessions.router_status). Stdlib only: it must
start in tens of milliseconds.
"""

from __future__ import annotations

import json
import sys

from hotswap.config.budgets import SPAN_WORDS
from hotswap.config.loading import Config, load_config
from hotswap.config.model_ids import named_backend, parse_gateway_id
from hotswap.errors import HotswapError
from hotswap.figures import AT_LEAST, usd, usd_rate, usd_sum
from hotswap.sessions.registry import Session, router_status
from hotswap.sessions.switch import gateway_session, resolve_targets
from hotswap.sessions.switch_table import request_counts
from hotswap.sessions.switch_targets import SwitchError


def spend_parts(spend: object) -> list[str]:
    """`$0.42 · saved $3.10` from the router's in-memory totals (status["spend"]); the
    status line never opens the ledger."""
    if not isinstance(spend, dict) or not spend.get("requests"):
        return []
    cost, saved = spend.get("cost_usd"), spend.get("savings_usd")
    if not isinstance(cost, int | float) or not isinstance(saved, int | float):
        return []
    unknown = int(bool(spend.get("unknown_price")))  # some tokens had no price
    parts = [usd_sum(cost, unknown)]
    if saved > 0:
        parts.append(f"saved {AT_LEAST if unknown else ''}{usd(saved)}")
    return parts


def routes_parts(routes: object) -> list[str]:
    """`14 via deepseek (background 9, subagent 5)`: what the session's routes sent since
    its router started (status["routes"]), per backend; `routes off` when turned off."""
    if not isinstance(routes, dict) or not routes.get("configured"):
        return []
    parts = [] if routes.get("on") else ["routes off"]
    by_route, by_backend = routes.get("routed"), routes.get("routed_to")
    if not isinstance(by_route, dict) or not isinstance(by_backend, dict) or not by_backend:
        return parts
    names = ", ".join(f"{name} {n}" for name, n in sorted(by_route.items(), key=_most))
    backends = ", ".join(f"{n} via {name}" for name, n in sorted(by_backend.items(), key=_most))
    return [f"{backends} ({names})", *parts]


def budget_parts(budgets: object) -> list[str]:
    """`anthropic budget 82% of $20 today` for each budget past its `warn_at`
    (status["budgets"], ledger/budgets.py); at the limit, what happens: `→ deepseek` or
    `blocked` (until the period resets)."""
    if not isinstance(budgets, list):
        return []
    parts = []
    for row in budgets:
        if not isinstance(row, dict) or row.get("state") not in ("warn", "reached"):
            continue
        limit = row.get("limit_usd")
        if not isinstance(limit, int | float):
            continue
        text = f"{row.get('backend')} budget {row.get('percent')}% of {usd_rate(limit)}"
        text += f" {SPAN_WORDS.get(str(row.get('period')), '')}".rstrip()
        if row["state"] == "reached":
            then = row.get("then")
            text += ": blocked" if then == "block" else f" → {then}"
        parts.append(text)
    return parts


def _most(item: tuple[str, object]) -> tuple[int, str]:
    count = item[1]
    return (-count if isinstance(count, int) else 0, item[0])


def render(backend: str, session: Session | None, status: dict[str, object]) -> str:
    parts = [f"⇄ {backend}"]
    parts += routes_parts(status.get("routes"))
    if session is not None:
        parts.append(f"session {session.id}")
    parts += spend_parts(status.get("spend"))
    parts += budget_parts(status.get("budgets"))
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


def statusline_line(picked: str | None = None) -> str:
    """The session's backend (as its router sees it, else its mode file) and the model it
    is actually sent: one chosen in Claude Code's /model picker (`picked`, a gateway id),
    else one the mode forces (`!backend ollama --model x`); then the counts."""
    if gateway_session():  # its mode is the gateway's: no local file to read, no call made
        return "⇄ team gateway (`!backend` shows this session's backend)"
    config = load_config()
    target = resolve_targets(config)[0]
    status = router_status(target.session) if target.session and target.alive else {}
    # Claude Code's own word first; without it (run by hand), the last request's model
    chosen = _picked(config, picked if picked is not None else status.get("last_client_model"))
    if chosen is not None:
        return render(chosen, target.session, status)
    if not status.get("mode"):
        return render(target.current(config, " · "), target.session, status)
    model = status.get("model")
    shown = f"{status['mode']} · {model}" if model else str(status["mode"])
    return render(shown, target.session, status)


def _picked(config: Config, model_id: object) -> str | None:
    """`deepseek · deepseek-v4-pro` for the gateway id `claude-hotswap-deepseek--deepseek-v4-pro`
    (docs/claude-code-gateway.md): that backend gets the request whatever the mode. None
    for any other model id, or one naming no configured backend (the mode serves it)."""
    if not isinstance(model_id, str):
        return None
    backend = named_backend(model_id, config.backends)  # the router's own rule
    found = parse_gateway_id(model_id)
    return f"{backend.name} · {found[1]}" if backend and found else None


def picked_model(stdin: str) -> str | None:
    """The model Claude Code's main loop uses, from the JSON it sends on stdin
    (`{"model": {"id": ...}, ...}`); None when there is none to read."""
    try:
        data = json.loads(stdin) if stdin.strip() else None
    except ValueError:
        return None
    model = data.get("model") if isinstance(data, dict) else None
    found = model.get("id") if isinstance(model, dict) else None
    return found if isinstance(found, str) else None


HELP = """usage: hotswap statusline

The line Claude Code shows under its prompt: the session's backend and the model it is
sent (when the /model picker or `--model` chose one), its spend and request counts, and
any fallback. `hotswap run` sets it as Claude Code's statusLine; call it from your own
statusLine command to add it there. Reads the JSON Claude Code sends on stdin (the model
it uses); always exits 0."""


def main(argv: list[str] | None = None) -> int:
    """Print the status line; never fail loudly (a non-zero exit clears Claude Code's row)."""
    if argv and argv[0] in ("-h", "--help"):
        print(HELP)
        return 0
    stdin = "" if sys.stdin.isatty() else sys.stdin.read()  # Claude Code's one JSON line
    try:
        print(statusline_line(picked_model(stdin)))
    except (HotswapError, SwitchError, OSError) as exc:
        print(f"⇄ hotswap: {exc}"[:200])
    return 0

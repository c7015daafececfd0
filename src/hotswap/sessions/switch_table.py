"""`sessions`' rows and table: the hotswap sessions, one row each, with what each router
says of itself (its requests, spend, fallback). Stdlib only.
"""

from __future__ import annotations

import time
from pathlib import Path

from hotswap import columns
from hotswap.config.loading import Config
from hotswap.figures import age, usd_sum
from hotswap.sessions.registry import list_sessions, router_status
from hotswap.sessions.switch_targets import session_target


def session_rows(config: Config) -> list[dict[str, object]]:
    rows = []
    for session, alive in list_sessions(config.sessions_dir):
        status = router_status(session) if alive else {}
        requests, failed = request_counts(status)
        cost, unknown = spend_cost(status)
        rows.append(
            {
                "id": session.id,
                "port": session.port,
                "backend": session_target(config, session, alive).current(config),
                "cwd": session.cwd,
                "age_s": round(time.time() - session.started),
                "requests": requests,
                "failed": failed,
                "cost_usd": cost,
                "cost": "-" if cost is None else usd_sum(cost, unknown),
                "alive": alive,
                "note": router_note(status),
            }
        )
    return rows


def request_counts(status: dict[str, object]) -> tuple[int, int]:
    """A router's requests and how many failed: its spend's counts (every exchange, one that
    failed too, as `hotswap cost` counts them), else the answers it relayed."""
    spend = status.get("spend")
    if isinstance(spend, dict) and isinstance(spend.get("requests"), int):
        failed = spend.get("failed")
        return spend["requests"], failed if isinstance(failed, int) else 0
    requests = status.get("requests")
    return (sum(requests.values()) if isinstance(requests, dict) else 0), 0


def spend_cost(status: dict[str, object]) -> tuple[float | None, int]:
    """What a router's session cost so far (its spend), and whether some of it had no
    price; (None, 0) without a router to ask."""
    spend = status.get("spend")
    cost = spend.get("cost_usd") if isinstance(spend, dict) else None
    if not isinstance(spend, dict) or not isinstance(cost, int | float):
        return None, 0
    return float(cost), int(bool(spend.get("unknown_price")))


def router_note(status: dict[str, object]) -> str:
    """What a session's row says about it: a sticky fallback, requests another backend
    answered (transient fallback), a mode file problem, a ledger that cannot be written."""
    notes = []
    if status.get("fallback"):
        notes.append(str(status["fallback"]))
    if status.get("transient_note"):
        notes.append(f"↷ {status['transient_note']}")
    if status.get("mode_problem"):
        notes.append(str(status["mode_problem"]))
    ledger = status.get("ledger")
    if isinstance(ledger, dict) and ledger.get("problem"):
        notes.append(f"ledger: {ledger['problem']}")
    return "; ".join(notes)


def table(rows: list[dict[str, object]], width: int | None) -> str:
    """The sessions, fitted to `width`: the folder, backend and note give."""
    home = str(Path.home())
    header = ["ID", "PORT", "BACKEND", "CWD", "AGE", "REQUESTS", "COST", "ALIVE", "NOTE"]
    cells = []
    for r in rows:
        cwd = str(r["cwd"])
        cwd = "~" + cwd[len(home) :] if cwd.startswith(home) else cwd
        cells.append(
            [
                str(r["id"]),
                str(r["port"]),
                str(r["backend"]),
                cwd,
                age(float(str(r["age_s"]))),
                f"{r['requests']} ({r['failed']} failed)" if r["failed"] else str(r["requests"]),
                str(r["cost"]),
                "yes" if r["alive"] else "no (cleaned)",
                str(r["note"]),
            ]
        )
    return columns.table(header, cells, width, give=(2, 3, 8))

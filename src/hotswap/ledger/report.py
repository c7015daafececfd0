"""Rendering: cost tables and log lines a person reads at a glance, JSON a script parses."""

from __future__ import annotations

import textwrap
import time
from typing import Any

from hotswap import columns
from hotswap.config.prices import PRICES_CHECKED, PriceTable, price_usage
from hotswap.figures import count, duration_ms, percent, tokens, usd, usd_sum
from hotswap.ledger.queries import CostLine
from hotswap.router.exchange import Usage

_HEADERS = ("REQ", "FAIL", "FALLBACK", "INPUT", "OUTPUT", "CACHE RD", "CACHE WR", "HIT")


def _cells(line: CostLine) -> list[str]:
    u = line.usage
    return [
        line.key,
        str(line.requests),
        str(line.failures),
        str(line.fallbacks),
        tokens(u.input_tokens),
        tokens(u.output_tokens),
        tokens(u.cache_read_tokens),
        tokens(u.cache_write_tokens),
        percent(line.cache_hit_rate),
        usd_sum(line.cost_usd, line.unpriced),
        usd_sum(line.savings_usd, line.unsaved),
    ]


def cost_table(lines: list[CostLine], total: CostLine, by: str, width: int | None = None) -> str:
    """The rows, a rule, the total; the first column (a model name, a session) gives."""
    if not lines:
        return "no exchanges recorded yet (for this selection)"
    cells = [[by.upper(), *_HEADERS, "COST", "SAVED"]]
    cells += [_cells(line) for line in lines]
    cells.append(_cells(total))
    shape = columns.layout(cells, width, give=(0,), right=range(1, len(cells[0])))
    out = [shape.row(row) for row in cells[:-1]]
    out.append("-" * len(out[0]))
    out.append(shape.row(cells[-1]))
    if total.unpriced or total.unsaved:
        note = (
            f"≥ and unknown: {count(total.unpriced, 'exchange')} used a model without a "
            f"price, {total.unsaved} had no savings figure; price a model in config.toml "
            'with [backends.NAME.prices."glob"]'
        )
        out.append(note if width is None else textwrap.fill(note, width))
    return "\n".join(out)


def _json_usd(value: float, unknown: int) -> float | None:
    return None if unknown and value == 0 else round(value, 6)


def line_json(line: CostLine) -> dict[str, Any]:
    u = line.usage
    rate = line.cache_hit_rate
    return {
        "key": line.key,
        "requests": line.requests,
        "failures": line.failures,
        "fallbacks": line.fallbacks,
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cache_read_tokens": u.cache_read_tokens,
        "cache_write_tokens": u.cache_write_tokens,
        "cache_hit_rate": None if rate is None else round(rate, 4),
        "cost_usd": _json_usd(line.cost_usd, line.unpriced),
        "savings_usd": _json_usd(line.savings_usd, line.unsaved),
        "unpriced_requests": line.unpriced,
        "unsaved_requests": line.unsaved,
    }


def cost_json(
    lines: list[CostLine],
    total: CostLine,
    by: str,
    session: str | None = None,
    since: float | None = None,
) -> dict[str, Any]:
    return {
        "by": by,
        "session": session,
        "since": since,
        "prices_checked": PRICES_CHECKED,
        "rows": [line_json(line) for line in lines],
        "total": line_json(total),
    }


# -- logs -----------------------------------------------------------------------------------


def log_entry(row: dict[str, Any], table: PriceTable) -> dict[str, Any]:
    """A ledger row with its cost and savings (JSON for `logs --json`)."""
    usage = Usage(
        *(
            row[k]
            for k in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
        )
    )
    model = row["wire_model"] or row["response_model"] or row["client_model"]
    costed = price_usage(table, usage, row["backend"], model, row["client_model"])
    entry = dict(row)
    entry["cost_usd"] = None if costed.cost_usd is None else round(costed.cost_usd, 6)
    savings = costed.savings_usd
    entry["savings_usd"] = None if savings is None else round(savings, 6)
    return entry


def _local(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def log_note(entry: dict[str, Any]) -> str:
    """Why another backend answered, or what failed: the last column of `hotswap logs`."""
    notes = []
    if entry.get("route"):
        notes.append(f"route {entry['route']}")
    if entry["fell_back_from"]:
        kind = f" ({entry['fallback_kind']})" if entry["fallback_kind"] else ""
        failed = [a for a in entry["attempts"] if a["verdict"] != "deliver"]
        why = f": {failed[0]['reason']}" if failed and failed[0]["reason"] else ""
        notes.append(f"fell back from {entry['fell_back_from']}{kind}{why}")
    if entry["outcome"] != "ok":
        error = f": {entry['error']}" if entry["error"] else ""
        notes.append(f"{entry['outcome']}{error}")
    return "; ".join(notes)


# time, session, backend, model, status, tokens, cost, ttfb (then the note): the narrowest
# each column is (so a first line alone sets sensible widths for `logs -f`), the widest,
# what gives in a narrow terminal (the model, cut with …), and what goes (ttfb, tokens).
_LOG_MIN = (19, 5, 10, 18, 3, 20, 7, 11)
_LOG_CAP = {1: 8, 2: 14, 3: 36}
_LOG_GIVE = (3,)
_LOG_DROP = (7, 5)
_NOTE_MIN = 30  # what a narrow terminal keeps for the note
_NOTE_ANY = 10**6


def log_cells(entry: dict[str, Any]) -> list[str]:
    cached = entry["cache_read_tokens"]
    toks = f"{tokens(entry['input_tokens'])} in {tokens(entry['output_tokens'])} out"
    if cached:
        toks += f" {tokens(cached)} cached"
    model = entry["wire_model"] or entry["response_model"] or entry["client_model"] or "-"
    return [
        _local(entry["started"]),
        entry["session"] or "serve",
        entry["backend"] or "-",
        model,
        str(entry["status"]),
        toks,
        usd(entry["cost_usd"]),
        f"ttfb {duration_ms(entry['ttfb_ms'])}",
        log_note(entry),
    ]


def log_layout(entries: list[dict[str, Any]], width: int | None) -> columns.Layout:
    """Widths from the lines shown (each at least its _LOG_MIN, at most its _LOG_CAP), kept
    for the lines that follow, so a long model name never shifts the columns; the note
    has what is left of the width."""
    rows = [[" " * n for n in _LOG_MIN], *(log_cells(e)[:-1] for e in entries)]
    room = None if width is None else width - _NOTE_MIN - len(columns.GAP)
    shape = columns.layout(rows, room, _LOG_GIVE, (6,), _LOG_CAP, _LOG_DROP, titled=False)
    shown = [w for i, w in enumerate(shape.widths) if i not in shape.hidden]
    note = _NOTE_ANY if width is None else width - sum(shown) - len(columns.GAP) * len(shown)
    return columns.Layout((*shape.widths, note), shape.right, shape.hidden, shape.whole)


def log_line(entry: dict[str, Any], shape: columns.Layout | None = None) -> str:
    """One exchange, in the columns of `shape` (else of its own)."""
    return (shape or log_layout([entry], None)).row(log_cells(entry))

"""Rendering: cost tables and log lines a person reads at a glance, JSON a script parses."""

from __future__ import annotations

import time
from typing import Any

from hotswap.config.prices import PRICES_CHECKED, PriceTable, price_usage
from hotswap.ledger.queries import CostLine
from hotswap.router.exchange import Usage


def tokens(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 1_000:
        return f"{n / 1_000:.1f}k"
    return str(n)


def usd(value: float) -> str:
    """Cents, or four decimals below a cent (a cheap backend's exchange costs $0.0004)."""
    sign, value = ("-", -value) if value < 0 else ("", value)
    if value == 0:
        return "$0.00"
    return f"{sign}${value:.4f}" if value < 0.01 else f"{sign}${value:,.2f}"


def usd_or_unknown(value: float, unknown: int) -> str:
    """A sum with `unknown` exchanges left out: `unknown`, `≥$1.20`, or `$1.20`."""
    if unknown and value == 0:
        return "unknown"
    return ("≥" if unknown else "") + usd(value)


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


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
        _rate(line.cache_hit_rate),
        usd_or_unknown(line.cost_usd, line.unpriced),
        usd_or_unknown(line.savings_usd, line.unsaved),
    ]


def cost_table(lines: list[CostLine], total: CostLine, by: str) -> str:
    if not lines:
        return "no exchanges recorded yet (for this selection)"
    cells = [[by.upper(), *_HEADERS, "COST", "SAVED"]]
    cells += [_cells(line) for line in lines]
    cells.append(_cells(total))
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]

    def fmt(row: list[str]) -> str:
        first = row[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest])

    out = [fmt(row) for row in cells[:-1]]
    out.append("-" * len(out[0]))
    out.append(fmt(cells[-1]))
    if total.unpriced or total.unsaved:
        out.append(
            f"≥ and unknown: {total.unpriced} exchange(s) used a model without a price, "
            f"{total.unsaved} have no savings figure; price a model in config.toml with "
            '[backends.NAME.prices."glob"]'
        )
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


def log_line(entry: dict[str, Any]) -> str:
    cached = entry["cache_read_tokens"]
    toks = f"{tokens(entry['input_tokens'])} in {tokens(entry['output_tokens'])} out"
    if cached:
        toks += f" {tokens(cached)} cached"
    cost = "cost ?" if entry["cost_usd"] is None else usd(entry["cost_usd"])
    ttfb = "-" if entry["ttfb_ms"] is None else f"{entry['ttfb_ms']:.0f}ms"
    model = entry["wire_model"] or entry["response_model"] or entry["client_model"] or "-"
    parts = [
        _local(entry["started"]),
        (entry["session"] or "serve").ljust(5),
        (entry["backend"] or "-").ljust(10),
        model[-28:].ljust(18),
        str(entry["status"]),
        toks.ljust(30),
        cost.rjust(7),
        f"ttfb {ttfb}".ljust(11),
        log_note(entry),
    ]
    return "  ".join(parts).rstrip()

"""Every figure a person reads, written one way: money, prices, tokens, durations, counts.

`hotswap cost`, `logs`, `backends`, `sessions`, the status line and the dashboard all print
through here, so one exchange costs the same string everywhere (docs/figures.md has the
rules and their reasons). Stdlib only, and nothing imported: the status line and the
switch commands start in tens of milliseconds.
"""

from __future__ import annotations

UNKNOWN = "unknown"  # a price nobody knows: never shown as $0
AT_LEAST = "≥"  # a sum that leaves out exchanges without a price
TINY_USD = 0.0001  # below this a non-zero amount is `<$0.0001`, not `$0.00001234`


def usd(value: float | None) -> str:
    """An amount of money: `$1,234.56` at or above a dollar, two significant digits below
    (`$0.42`, `$0.061`, `$0.0061`), `<$0.0001` for a tiny non-zero amount, `$0.00` for
    nothing, `unknown` for None (no price)."""
    if value is None:
        return UNKNOWN
    sign, value = ("-", -value) if value < 0 else ("", value)
    if value == 0:
        return "$0.00"
    if value < TINY_USD:
        return f"{sign}<${TINY_USD}"
    rounded = float(f"{value:.2g}")  # two significant digits; 0.996 -> 1.0
    if rounded >= 1:
        return f"{sign}${value:,.2f}"
    exponent = int(f"{rounded:e}".split("e")[1])
    return f"{sign}${rounded:.{max(2, 1 - exponent)}f}"


def usd_sum(value: float, unknown: int) -> str:
    """A sum that left out `unknown` exchanges (no price): `unknown` when it is nothing but
    them, `≥$1.20` (a lower bound) when some were left out, else `$1.20`."""
    if unknown and value == 0:
        return UNKNOWN
    return (AT_LEAST if unknown else "") + usd(value)


def usd_rate(value: float) -> str:
    """A price per million tokens, exactly as published (up to 4 decimals): `$3`, `$5.50`,
    `$0.435`. Prices are read to compare and copy, not summed, so no digit is rounded off."""
    if value == int(value):
        return f"${int(value)}"
    whole, _, cents = f"{value:.4f}".rstrip("0").partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def tokens(n: int) -> str:
    """A token count: `950`, `1.2k`, `3.4M` (one decimal; 999,960 is `1.0M`, not `1000.0k`)."""
    if n < 1_000:
        return str(n)
    if round(n / 1_000, 1) < 1_000:
        return f"{n / 1_000:.1f}k"
    return f"{n / 1_000_000:.1f}M"


def duration_ms(ms: float | None) -> str:
    """A duration: `850 ms`, `1.2 s`, `3m 05s`, `2h 04m`; `-` when not measured."""
    if ms is None:
        return "-"
    if round(ms) < 1_000:
        return f"{round(ms)} ms"
    seconds = ms / 1_000
    if round(seconds, 1) < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3_600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3_600}h {whole % 3_600 // 60:02d}m"


def age(seconds: float) -> str:
    """How long ago, at a glance: `42s`, `7m`, `3h05m`, `2d`."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3_600:
        return f"{seconds // 60}m"
    if seconds < 86_400:
        return f"{seconds // 3_600}h{seconds % 3_600 // 60:02d}m"
    return f"{seconds // 86_400}d"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`1 model`, `2 models`, `0 exchanges`, `1,204 exchanges` (`plural` when not noun+s)."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def percent(rate: float | None) -> str:
    """A rate as a whole percentage (`83%`); `-` when there is nothing to divide."""
    return "-" if rate is None else f"{rate:.0%}"

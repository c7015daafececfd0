"""Tables that fit the terminal: columns two spaces apart, the long cells of the columns
that can give (model names, URLs, reasons) cut with `…`, the others whole.

One layout for every listing (`hotswap backends`, `cost`, `logs`, `sessions`), so they all
behave alike in a narrow window; `--wide` (width None) shows every cell whole. Stdlib only:
the switch commands' `sessions` uses it too. The width is the caller's (`terminal_width`
takes the environment as a Mapping: only the command lines read the process's).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import NamedTuple

ELLIPSIS = "…"
GAP = "  "
MIN_GIVE = 8  # a giving column keeps at least this much (or its header, or its widest cell)


def terminal_width(environ: Mapping[str, str], is_tty: bool) -> int | None:
    """The width to fit: `COLUMNS` when set, else the terminal's; None (no limit) when the
    output goes to a pipe or a file, where nobody reads it in a window of some width."""
    columns = environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if not is_tty:
        return None
    try:
        return os.get_terminal_size().columns  # not shutil's: it imports re (~8 ms)
    except OSError:
        return None


def cut(text: str, width: int) -> str:
    """`text` in at most `width` characters, its end replaced by `…` when it is longer."""
    if len(text) <= width:
        return text
    return text[: max(0, width - 1)] + ELLIPSIS if width > 0 else ""


class Layout(NamedTuple):
    """Column widths, fixed once: every row rendered through it lines up with the others
    (`hotswap logs -f` keeps the widths of its first lines). A NamedTuple, not a dataclass:
    dataclasses imports inspect (~12 ms), and `sessions` starts in tens of milliseconds."""

    widths: tuple[int, ...]
    right: frozenset[int] = frozenset()  # columns aligned right (figures)
    hidden: tuple[int, ...] = ()  # columns left out: no room even with the others narrowed
    whole: bool = False  # no width to fit (--wide, a pipe): a longer cell is never cut

    def row(self, cells: Sequence[str]) -> str:
        out = []
        for i, (cell, width) in enumerate(zip(cells, self.widths, strict=True)):
            if i in self.hidden:
                continue
            text = cell if self.whole else cut(cell, width)
            out.append(text.rjust(width) if i in self.right else text.ljust(width))
        return GAP.join(out).rstrip()


def layout(
    rows: Sequence[Sequence[str]],
    width: int | None,
    give: Sequence[int] = (),
    right: Sequence[int] = (),
    caps: Mapping[int, int] | None = None,
    drop: Sequence[int] = (),
    titled: bool = True,
) -> Layout:
    """Widths that fit `width` (None: no limit, no caps, no cell cut): each column as wide
    as its widest cell (at most its cap), then the widest giving column narrowed, one
    character at a time, until the table fits; when every giving column is down to
    MIN_GIVE and it still does not, the `drop` columns are left out, in their order. A titled
    table's first row is its header: no giving column is cut narrower than its title."""
    count = max((len(r) for r in rows), default=0)
    natural = [max((len(r[i]) for r in rows), default=0) for i in range(count)]
    if width is None:
        return Layout(tuple(natural), frozenset(right), whole=True)
    for i, cap in (caps or {}).items():
        natural[i] = min(natural[i], cap)
    widths, hidden = list(natural), list[int]()
    header = rows[0] if rows and titled else ()
    while True:
        shown = [i for i in range(count) if i not in hidden]
        widths = list(natural)
        room = width - len(GAP) * (len(shown) - 1)
        fits = _narrow(widths, shown, room, [i for i in give if i in shown], header)
        if fits or len(hidden) == len(drop):
            break
        hidden.append(drop[len(hidden)])
    return Layout(tuple(widths), frozenset(right), tuple(hidden))


def _narrow(
    widths: list[int], shown: list[int], room: int, give: list[int], header: Sequence[str]
) -> bool:
    """Narrow the giving columns until the shown ones fit in `room`; whether they do."""
    floor = {i: min(widths[i], max(MIN_GIVE, len(header[i]) if header else 0)) for i in give}
    excess = sum(widths[i] for i in shown) - room
    while excess > 0:
        can = [i for i in give if widths[i] > floor[i]]
        if not can:
            return False
        widest = max(can, key=lambda i: (widths[i], -i))
        widths[widest] -= 1
        excess -= 1
    return True


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    width: int | None = None,
    give: Sequence[int] = (),
    right: Sequence[int] = (),
    drop: Sequence[int] = (),
) -> str:
    """A header and its rows, fitted to `width` by narrowing the `give` columns (then
    leaving out the `drop` ones, named on a last line)."""
    cells = [list(header), *[list(r) for r in rows]]
    shape = layout(cells, width, give, right, drop=drop)
    lines = [shape.row(row) for row in cells]
    if shape.hidden:
        names = ", ".join(header[i].strip() for i in shape.hidden)
        lines.append(f"(hidden for want of room: {names}; --wide shows all)")
    return "\n".join(lines)

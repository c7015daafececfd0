"""Rows the ledger could not take when a router stopped: saved beside it, merged next time.

A router that stops while another process holds the ledger's lock (a long `hotswap cost`, a
backup, a second writer) cannot wait for it: `hotswap run` would hang at exit. What its
writer still holds is appended to `$HOTSWAP_HOME/ledger-spill.jsonl` (JSON lines, 0600;
beside the ledger, not in the session's folder, which is removed when the session ends),
and the next connection that opens the ledger for writing (any router, `hotswap cost`,
`hotswap logs`...) merges it.

Exactly once: a merge first renames the file to a name of its own (two mergers never read
one file), inserts its rows in one transaction with ON CONFLICT (exchange_id) DO NOTHING,
then deletes it. A merge cut short leaves its file behind, and the next merge inserts only
what is not there yet.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from hotswap.ledger import rows
from hotswap.router.exchange import ExchangeRecord

log = logging.getLogger("hotswap")

FILENAME = "ledger-spill.jsonl"
_CLAIMED = ".merging"  # ledger-spill.jsonl.<pid>.<n>.merging: being merged (or cut short)


def spill_path(ledger: Path) -> Path:
    return ledger.parent / FILENAME


def save(ledger: Path, records: Iterable[ExchangeRecord]) -> int:
    """Append the records to the spill file beside `ledger`, in one write (whole lines even
    when two routers spill at once). Returns how many. Raises OSError."""
    entries = [_entry(r) for r in records]
    append_lines(spill_path(ledger), entries)
    return len(entries)


def _entry(r: ExchangeRecord) -> dict[str, Any]:
    exchange = dict(zip(rows.EXCHANGE_COLUMNS, rows.exchange_row(r), strict=True))
    return {"exchange": exchange, "attempts": rows.attempt_dicts(r)}


def append_lines(path: Path, values: list[Any]) -> None:
    """`values` as JSON lines appended to `path` in one write (whole lines even when two
    processes spill at once), the file private (it names sessions and users). After a line
    cut short (a kill mid-write) the first new one starts on a line of its own. Raises
    OSError. The personal ledger's spill and the gateway's (gateway/ledger.py)."""
    if not values:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(v) + "\n" for v in values).encode()
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        end = os.fstat(fd).st_size
        if end and os.pread(fd, 1, end - 1) != b"\n":
            data = b"\n" + data
        os.write(fd, data)
    finally:
        os.close(fd)


def json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """Each line of `path` decoded, with its number; a line that is not JSON (torn) is left
    out with a warning. A missing file has none."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except ValueError:
            log.warning("%s line %d is damaged; left out", path, number)


def pending(ledger: Path) -> list[Path]:
    """Spill files waiting beside `ledger`: the live one and any merge cut short."""
    folder = ledger.parent
    try:
        names = [n for n in os.listdir(folder) if n.startswith(FILENAME)]
    except OSError:
        return []
    return sorted(folder / n for n in names)


def merge(conn: sqlite3.Connection, ledger: Path) -> int:
    """Merge every spill file beside `ledger` into it; returns the rows added. A file that
    cannot be merged now (the ledger locked) stays for the next connection."""
    added = 0
    for path in pending(ledger):
        claimed = _claim(path)
        if claimed is None:
            continue
        added += _merge_file(conn, claimed)
        claimed.unlink(missing_ok=True)
    if added:
        log.info("ledger: merged %d exchange(s) saved when the ledger was busy", added)
    return added


def _claim(path: Path) -> Path | None:
    """The file under a name only this merge uses; None when another merge took it."""
    if path.name.endswith(_CLAIMED):
        return path  # a merge cut short: merging it again adds only what is missing
    claimed = path.with_name(f"{path.name}.{os.getpid()}.{os.urandom(4).hex()}{_CLAIMED}")
    try:
        path.rename(claimed)
    except FileNotFoundError:
        return None
    return claimed


def _merge_file(conn: sqlite3.Connection, path: Path) -> int:
    """One file's rows in one transaction (raises sqlite3.Error: the file stays)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        added = sum(rows.insert_rows(conn, *entry) for entry in _entries(path))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return added


def _entries(path: Path) -> Iterator[tuple[list[Any], list[list[Any]]]]:
    """Each line's exchange row and attempt rows; a torn or foreign line is skipped."""
    names = rows.ATTEMPT_COLUMNS[1:]
    for number, entry in json_lines(path):
        try:
            saved = entry["exchange"]
            exchange = [
                saved.get(c) if c in rows.LATER_COLUMNS else saved[c] for c in rows.EXCHANGE_COLUMNS
            ]
            attempts = [[a[c] for c in names] for a in entry["attempts"]]
        except (KeyError, TypeError):
            log.warning("ledger: %s line %d is not a saved exchange; skipped", path, number)
            continue
        yield exchange, attempts

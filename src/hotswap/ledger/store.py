"""Opening the ledger: `$HOTSWAP_HOME/ledger.db`, WAL, a busy timeout, private to the user.

Many routers (one per `hotswap run`, plus `hotswap serve`) write one file at once: WAL lets
readers run beside the one writer, and `busy_timeout` makes a writer wait its turn instead
of failing. Connections are in autocommit mode; writers open `BEGIN IMMEDIATE` themselves.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from pathlib import Path

from hotswap.ledger import spill
from hotswap.ledger.schema import SchemaError, migrate

log = logging.getLogger("hotswap")

FILENAME = "ledger.db"
BUSY_TIMEOUT_MS = 5000

# What opening, reading or writing a ledger can raise (a newer schema included).
LEDGER_ERRORS = (sqlite3.Error, OSError, SchemaError)


def ledger_path(state_dir: Path) -> Path:
    return state_dir / FILENAME


def connect(path: Path, *, create: bool = True) -> sqlite3.Connection:
    """A connection to the ledger at `path`, migrated to the latest schema.

    `create`: make the file (0600, its folder 0700) if missing. Rows a stopping router
    could not write (ledger/spill.py) are merged in. Raises sqlite3.Error or OSError when
    it cannot be opened."""
    if create:
        _create_private(path)
    elif not path.exists():
        raise FileNotFoundError(f"no ledger at {path}")
    conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable at each checkpoint
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    _merge_spilled(conn, path)
    return conn


def _merge_spilled(conn: sqlite3.Connection, path: Path) -> None:
    """A spill file that cannot be merged now waits for the next connection."""
    try:
        spill.merge(conn, path)
    except LEDGER_ERRORS as exc:
        log.warning("ledger: saved exchanges not merged into %s yet: %s", path, exc)


def open_read_only(path: Path) -> sqlite3.Connection:
    """A connection that never writes the ledger (no migration, no file created): for
    looking at it (`hotswap doctor`). Raises sqlite3.Error or OSError."""
    if not path.exists():
        raise FileNotFoundError(f"no ledger at {path}")
    uri = f"{path.resolve().as_uri()}?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)


def _create_private(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another router made it first
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def prune(conn: sqlite3.Connection, before: float) -> int:
    """Delete the exchanges (and their attempts) started before `before` (Unix seconds)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "DELETE FROM attempts WHERE exchange IN (SELECT id FROM exchanges WHERE started < ?)",
            (before,),
        )
        count = conn.execute("DELETE FROM exchanges WHERE started < ?", (before,)).rowcount
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return int(count)

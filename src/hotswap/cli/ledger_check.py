"""The doctor's look at the usage ledger (`$HOTSWAP_HOME/ledger.db`): readable, a schema this
hotswap knows, private, how big. It opens the file read-only: it never migrates the schema
and never creates the file (routers do both, on their first request)."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from hotswap.cli.checks import FAIL, OK, Check
from hotswap.config.loading import Config

NAME = "ledger"
_UNITS = ("bytes", "KB", "MB", "GB", "TB")


def size_text(n: int) -> str:
    """`512 bytes`, `1.5 MB`: powers of 1000, like `hotswap cost`'s README figures."""
    value = float(n)
    for unit in _UNITS:
        if value < 1000 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _read(path: Path) -> tuple[int, int]:
    """(schema version, exchanges) of the ledger at `path`, read-only."""
    from hotswap.ledger.schema import version
    from hotswap.ledger.store import open_read_only

    conn = open_read_only(path)
    try:
        schema = version(conn)
        if schema == 0:  # made by a router that never got to migrate it: empty
            return 0, 0
        return schema, int(conn.execute("SELECT count(*) FROM exchanges").fetchone()[0])
    finally:
        conn.close()


def check_ledger(config: Config) -> list[Check]:
    from hotswap.ledger.schema import LATEST
    from hotswap.ledger.store import ledger_path

    path = ledger_path(config.state_dir)
    if not path.exists():
        return [Check(NAME, OK, f"{path} absent: created on the first request")]
    try:
        mode = path.stat().st_mode
        schema, rows = _read(path)
    except sqlite3.OperationalError as exc:  # cannot open, locked past the busy timeout
        fix = f"check who owns {path} and its folder: chown $USER {path} && chmod 600 {path}"
        return [Check(NAME, FAIL, f"{path}: {exc}", fix)]
    except sqlite3.DatabaseError as exc:  # not a database, or a damaged one
        fix = f"mv {path} {path}.broken  (routers start a new one; `hotswap cost` loses the old)"
        return [Check(NAME, FAIL, f"{path} is not a readable ledger: {exc}", fix)]
    except OSError as exc:
        return [Check(NAME, FAIL, f"{path}: {exc}", f"check {path} and its permissions")]
    if schema > LATEST:
        why = f"{path} was written by a newer hotswap (schema v{schema}; this one knows v{LATEST})"
        fix = f"upgrade hotswap (as you installed it), or mv {path} {path}.newer to start over"
        return [Check(NAME, FAIL, why, fix)]
    count = f"{rows:,} exchange" + ("" if rows == 1 else "s")
    detail = f"{path}: {count}, {size_text(path.stat().st_size)}, schema v{schema}"
    if schema < LATEST:
        detail += f" (moved to v{LATEST} by the next router)"
    if sys.platform != "win32" and mode & 0o077:
        fix = f"chmod 600 {path}  (or `hotswap doctor --fix`)"
        return [Check(NAME, FAIL, f"{detail}; readable by others (mode {mode & 0o777:o})", fix)]
    return [Check(NAME, OK, f"{detail}, private")]

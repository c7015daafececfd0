"""The ledger file: private, WAL, a busy timeout; pruning old exchanges."""

from __future__ import annotations

import stat
import time
from pathlib import Path

from hotswap.ledger import rows
from hotswap.ledger.store import BUSY_TIMEOUT_MS, connect, prune
from records import record


def test_the_ledger_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ledger.db"
    conn = connect(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA busy_timeout").fetchone() == (BUSY_TIMEOUT_MS,)


def test_prune_deletes_old_exchanges_and_their_attempts(tmp_path: Path) -> None:
    conn = connect(tmp_path / "ledger.db")
    now = time.time()
    conn.execute("BEGIN")
    rows.insert(conn, [record(started=now - 40 * 86400), record(started=now - 86400)])
    conn.execute("COMMIT")
    assert prune(conn, now - 30 * 86400) == 1
    assert conn.execute("SELECT COUNT(*) FROM exchanges").fetchone() == (1,)
    assert conn.execute("SELECT COUNT(*) FROM attempts").fetchone() == (1,)


def test_no_prompt_text_and_no_key_columns(tmp_path: Path) -> None:
    conn = connect(tmp_path / "ledger.db")
    columns = {
        r[1] for t in ("exchanges", "attempts") for r in conn.execute(f"PRAGMA table_info({t})")
    }
    assert not {c for c in columns if any(w in c for w in ("prompt", "key", "content", "text"))}

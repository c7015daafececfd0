"""The ledger's schema, as numbered forward-only migrations.

`PRAGMA user_version` holds how many have run. A migration is only ever appended; one that
shipped is never edited (a ledger written by an older hotswap must move forward).
No prompt text and no key: only what a cost report or a log line needs.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # 1: exchanges and their attempts
    """
    CREATE TABLE exchanges (
        id INTEGER PRIMARY KEY,
        exchange_id TEXT NOT NULL,
        started REAL NOT NULL,            -- Unix seconds
        session TEXT,                     -- NULL: a shared `hotswap serve` router
        endpoint TEXT NOT NULL,
        stream INTEGER NOT NULL,
        client_model TEXT,
        active TEXT NOT NULL,
        backend TEXT,
        wire_model TEXT,
        response_model TEXT,
        status INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        error TEXT,
        fell_back_from TEXT,
        fallback_kind TEXT,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cache_read_tokens INTEGER NOT NULL DEFAULT 0,
        cache_write_tokens INTEGER NOT NULL DEFAULT 0,
        stop_reason TEXT,
        ttfb_ms REAL,
        duration_ms REAL NOT NULL DEFAULT 0,
        request_bytes INTEGER NOT NULL DEFAULT 0,
        response_bytes INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX exchanges_started ON exchanges (started);
    CREATE INDEX exchanges_session ON exchanges (session, started);
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        exchange INTEGER NOT NULL REFERENCES exchanges (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        backend TEXT NOT NULL,
        status INTEGER NOT NULL,
        verdict TEXT NOT NULL,
        reason TEXT,
        wire_model TEXT,
        ttfb_ms REAL,
        duration_ms REAL NOT NULL DEFAULT 0
    );
    """,
    # 2: pruning deletes attempts by exchange; without this it scans the table per row
    """
    CREATE INDEX attempts_exchange ON attempts (exchange);
    """,
    # 3: an exchange is written once (rows spilled at exit are merged with INSERT OR IGNORE:
    # a merge cut short and run again adds nothing twice); a failed exchange names the
    # backend it was sent to (its last attempt's), as the router records it from now on
    """
    DELETE FROM exchanges WHERE id NOT IN (SELECT MIN(id) FROM exchanges GROUP BY exchange_id);
    CREATE UNIQUE INDEX exchanges_exchange_id ON exchanges (exchange_id);
    UPDATE exchanges SET backend = (
        SELECT a.backend FROM attempts a WHERE a.exchange = exchanges.id ORDER BY a.seq DESC
        LIMIT 1
    ) WHERE backend IS NULL;
    """,
    # 4: the route (config [[routes]]) that sent an exchange to its backend; NULL: the mode
    """
    ALTER TABLE exchanges ADD COLUMN route TEXT;
    """,
    # 5: who in Claude Code spent it: its conversation and, for a subagent, the agent
    # (`hotswap cost --by conversation`, `--by agent`)
    """
    ALTER TABLE exchanges ADD COLUMN conversation TEXT;
    ALTER TABLE exchanges ADD COLUMN agent TEXT;
    CREATE INDEX exchanges_conversation ON exchanges (conversation, started);
    """,
)
LATEST = len(MIGRATIONS)


class SchemaError(Exception):
    """The ledger was written by a newer hotswap."""


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int = LATEST) -> int:
    """Run the migrations after the file's version, up to `target`, each in its own
    transaction (so concurrent routers do not run one twice). Returns the new version."""
    current = version(conn)
    if current > LATEST:
        raise SchemaError(
            f"ledger schema version {current} is newer than this hotswap knows ({LATEST})"
        )
    while current < target:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = version(conn)  # another process may have moved it meanwhile
            if current < target:
                for statement in _statements(MIGRATIONS[current]):
                    conn.execute(statement)
                current += 1
                conn.execute(f"PRAGMA user_version = {current}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return current


def _statements(script: str) -> list[str]:
    """A migration's statements (executescript would commit the open transaction)."""
    return [s.strip() for s in script.split(";") if s.strip() and not _only_comments(s)]


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())

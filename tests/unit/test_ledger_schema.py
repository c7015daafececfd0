"""Migrations: from an empty file to the latest, from version 1 forward, never backwards."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hotswap.ledger import rows
from hotswap.ledger.schema import LATEST, MIGRATIONS, SchemaError, migrate, version
from hotswap.ledger.store import connect
from hotswap.router.exchange import AttemptRecord, ExchangeRecord
from records import record


def _indexes(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


def test_an_empty_file_is_migrated_to_the_latest_version(tmp_path: Path) -> None:
    conn = connect(tmp_path / "ledger.db")
    assert version(conn) == LATEST == len(MIGRATIONS) >= 2
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"exchanges", "attempts"} <= tables
    assert "attempts_exchange" in _indexes(conn)


def test_version_1_moves_forward_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    old = sqlite3.connect(path, isolation_level=None)
    assert migrate(old, target=1) == 1
    assert "attempts_exchange" not in _indexes(old)
    old.execute("BEGIN")
    _insert_as_version_1(old, record("deepseek"))
    old.execute("COMMIT")
    old.close()

    conn = connect(path)  # what a newer router or `hotswap cost` does
    assert version(conn) == LATEST
    assert "attempts_exchange" in _indexes(conn)
    assert conn.execute("SELECT backend FROM exchanges").fetchall() == [("deepseek",)]
    assert conn.execute("SELECT COUNT(*) FROM attempts").fetchone() == (1,)


def _insert_as_version_1(conn: sqlite3.Connection, r: ExchangeRecord) -> None:
    """What an older hotswap wrote: a plain INSERT (no unique exchange id then)."""
    then = [i for i, c in enumerate(rows.EXCHANGE_COLUMNS) if c not in rows.LATER_COLUMNS]
    row = rows.exchange_row(r)
    names = ", ".join(rows.EXCHANGE_COLUMNS[i] for i in then)
    cursor = conn.execute(
        f"INSERT INTO exchanges ({names}) VALUES ({', '.join('?' * len(then))})",
        [row[i] for i in then],
    )
    for a in rows.attempt_rows(r):
        marks = ", ".join("?" * len(rows.ATTEMPT_COLUMNS))
        conn.execute(
            f"INSERT INTO attempts ({', '.join(rows.ATTEMPT_COLUMNS)}) VALUES ({marks})",
            (cursor.lastrowid, *a),
        )


def test_version_2_moves_forward_once_per_exchange_and_names_failed_backends(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    old = sqlite3.connect(path, isolation_level=None)
    assert migrate(old, target=2) == 2
    twice = record("deepseek")
    failed = record(
        None,
        status=529,
        outcome="failed",
        attempts=(AttemptRecord("anthropic", 529, "retry", "HTTP 529"),),
    )
    old.execute("BEGIN")
    for r in (twice, twice, failed, record(None, status=400, outcome="failed", attempts=())):
        _insert_as_version_1(old, r)
    old.execute("COMMIT")
    old.close()

    conn = connect(path)
    got = conn.execute("SELECT exchange_id, backend FROM exchanges ORDER BY id").fetchall()
    assert got[:2] == [(twice.id, "deepseek"), (failed.id, "anthropic")] and len(got) == 3
    assert got[2][1] is None  # never reached a backend
    assert conn.execute("SELECT COUNT(*) FROM attempts").fetchone() == (2,)


def test_migrating_twice_changes_nothing(tmp_path: Path) -> None:
    conn = connect(tmp_path / "ledger.db")
    assert migrate(conn) == LATEST
    connect(tmp_path / "ledger.db").close()
    assert version(conn) == LATEST


def test_a_ledger_from_a_newer_hotswap_is_refused_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    with pytest.raises(SchemaError, match="newer"):
        connect(path)

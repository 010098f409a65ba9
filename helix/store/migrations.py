"""Named, ordered schema migrations, recorded in the database.

Append new migrations at the end with a new name; never edit one that has shipped. Each runs in its
own transaction together with the row that records it.
"""

from __future__ import annotations

import sqlite3
import time

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_request_log",
        """
        CREATE TABLE requests (
            id TEXT PRIMARY KEY,
            ts REAL NOT NULL,
            endpoint TEXT NOT NULL,
            key_id TEXT,
            user TEXT,
            model_requested TEXT,
            provider TEXT,
            model TEXT,
            stream INTEGER NOT NULL DEFAULT 0,
            status INTEGER NOT NULL,
            error_code TEXT,
            cache TEXT,
            latency_ms REAL,
            overhead_ms REAL,
            ttft_ms REAL,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            cached_tokens INTEGER,
            cost_usd REAL,
            saved_usd REAL
        );
        CREATE INDEX requests_ts ON requests (ts);
        CREATE INDEX requests_key_ts ON requests (key_id, ts);
        """,
    ),
]


def applied(conn: sqlite3.Connection) -> list[str]:
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    return [row[0] for row in conn.execute("SELECT name FROM _migrations ORDER BY name")]


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply pending migrations; return the names applied now."""
    done = set(applied(conn))
    unknown = done - {name for name, _ in MIGRATIONS}
    if unknown:
        raise RuntimeError(
            f"this database was migrated by a newer Helix ({', '.join(sorted(unknown))}); upgrade Helix"
        )
    new: list[str] = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        # executescript would commit on its own; run statements one by one inside one transaction.
        conn.execute("BEGIN IMMEDIATE")
        try:
            if name in set(applied(conn)):  # another process got there first
                conn.execute("ROLLBACK")
                continue
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, time.time()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        new.append(name)
    return new


def _statements(script: str) -> list[str]:
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements

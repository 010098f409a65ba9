"""Per-database settings Helix creates itself (the `instance_state` table), such as secret keys."""

from __future__ import annotations

from collections.abc import Callable

from helix.store.db import Connection


def get_or_create(conn: Connection, name: str, make: Callable[[], str]) -> str:
    """The value stored under `name`, storing `make()` first if there is none (safe across processes)."""
    row = conn.execute("SELECT value FROM instance_state WHERE name = ?", (name,)).fetchone()
    if row is not None:
        return str(row[0])
    conn.execute("INSERT OR IGNORE INTO instance_state (name, value) VALUES (?, ?)", (name, make()))
    return str(conn.execute("SELECT value FROM instance_state WHERE name = ?", (name,)).fetchone()[0])

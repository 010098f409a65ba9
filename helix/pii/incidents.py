"""Reading the PII incident log (written by the redaction stage): types, counts and actions, never values."""

from __future__ import annotations

import sqlite3
from typing import Any


def recent(conn: sqlite3.Connection, since: float, limit: int) -> list[dict[str, Any]]:
    cursor = conn.execute(
        "SELECT ts, request_id, key_id, user, entity_type, count, max_score, action FROM pii_incidents"
        " WHERE ts >= ? ORDER BY ts DESC, id DESC LIMIT ?",
        (since, limit),
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def totals(conn: sqlite3.Connection, since: float) -> list[dict[str, Any]]:
    cursor = conn.execute(
        "SELECT entity_type, action, count(DISTINCT request_id) AS requests, sum(count) AS values_found"
        " FROM pii_incidents WHERE ts >= ? GROUP BY entity_type, action ORDER BY values_found DESC",
        (since,),
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

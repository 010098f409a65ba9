"""Reading the PII incident log (written by the redaction stage): types, counts and actions, never values."""

from __future__ import annotations

from typing import Any

from helix.store.db import Connection


def recent(conn: Connection, since: float, limit: int) -> list[dict[str, Any]]:
    cursor = conn.execute(
        "SELECT i.ts, i.request_id, i.key_id, k.name AS key_name, i.user, i.entity_type, i.count, i.max_score,"
        " i.action FROM pii_incidents AS i LEFT JOIN keys AS k ON k.id = i.key_id"
        " WHERE i.ts >= ? ORDER BY i.ts DESC, i.id DESC LIMIT ?",
        (since, limit),
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def totals(conn: Connection, since: float) -> list[dict[str, Any]]:
    cursor = conn.execute(
        "SELECT entity_type, action, count(DISTINCT request_id) AS requests, sum(count) AS values_found"
        " FROM pii_incidents WHERE ts >= ? GROUP BY entity_type, action ORDER BY values_found DESC",
        (since,),
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

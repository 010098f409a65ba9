"""Spend, read from the request log, and the budget alerts already sent.

Spend is not stored per key or per user: it is the sum of `requests.cost_usd` over a budget period.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

from helix.periods import period_bounds
from helix.store.db import Connection
from helix.virtual_keys import KeyRecord

RECORD_ALERT = (
    "INSERT OR IGNORE INTO budget_alerts (subject, period_start, threshold, ts, spent_usd, budget_usd, delivered)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
ALERT_DELIVERED = "UPDATE budget_alerts SET delivered = ? WHERE subject = ? AND period_start = ? AND threshold = ?"


def claim_alert(conn: Connection, row: tuple[Any, ...]) -> bool:
    """Record an alert (RECORD_ALERT's parameters); False when another process or instance already did, which
    then is the one to announce it."""
    return int(conn.execute(RECORD_ALERT, row).rowcount) == 1


def key_spend(conn: Connection, key_id: str, since: float) -> float:
    row = conn.execute(
        "SELECT coalesce(sum(cost_usd), 0) FROM requests WHERE key_id = ? AND ts >= ?", (key_id, since)
    ).fetchone()
    return float(row[0])


def user_spend(conn: Connection, key_id: str | None, since: float) -> dict[str, float]:
    """Spend per end user of one key (None: requests made without a key) since `since`."""
    rows = conn.execute(
        "SELECT user, sum(cost_usd) FROM requests WHERE key_id IS ? AND user IS NOT NULL AND ts >= ? GROUP BY user",
        (key_id, since),
    )
    return {row[0]: float(row[1] or 0) for row in rows}


def alerts_sent(conn: Connection, subject: str, period_start: float) -> set[int]:
    rows = conn.execute(
        "SELECT threshold FROM budget_alerts WHERE subject = ? AND period_start = ?", (subject, period_start)
    )
    return {int(row[0]) for row in rows}


def report(conn: Connection, keys: Iterable[KeyRecord], now: float | None = None) -> list[dict[str, Any]]:
    """Each key with its spend and request count over its current budget period, for lists and dashboards."""
    now = time.time() if now is None else now
    rows = []
    for key in keys:
        start, end = period_bounds(key.spec.period, now)
        spent, requests = conn.execute(
            "SELECT coalesce(sum(cost_usd), 0), count(*) FROM requests WHERE key_id = ? AND ts >= ?",
            (key.id, start),
        ).fetchone()
        rows.append(
            {
                **key.to_json(),
                "status": key.status(now),
                "spent_usd": float(spent),
                "requests": int(requests),
                "period_start": start,
                "period_end": None if math.isinf(end) else end,
                "budget_used": _used(float(spent), key.spec.budget),
            }
        )
    return rows


def _used(spent: float, budget: float | None) -> float | None:
    """The share of a budget spent; a budget of $0 (a key that may spend nothing) is used up from the start."""
    if budget is None:
        return None
    return spent / budget if budget > 0 else 1.0


def top_users(conn: Connection, key_id: str, since: float, limit: int = 10) -> list[dict[str, Any]]:
    cursor = conn.execute(
        "SELECT user, count(*) AS requests, coalesce(sum(cost_usd), 0) AS spent_usd FROM requests"
        " WHERE key_id = ? AND ts >= ? AND user IS NOT NULL GROUP BY user ORDER BY spent_usd DESC, requests DESC"
        " LIMIT ?",
        (key_id, since, limit),
    )
    return [{"user": row[0], "requests": row[1], "spent_usd": float(row[2])} for row in cursor]

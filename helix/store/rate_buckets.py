"""Shared token buckets for rate limits across instances (`quota/leases.py` takes leases from them).

A bucket row holds its level at `updated`; every lease refills it first (at `rate` units per second, up to
`limit`) and takes the amount only if it is there, in one conditional UPDATE, so instances never take the
same units twice.
"""

from __future__ import annotations

from helix.store.db import Connection

_CREATE = "INSERT OR IGNORE INTO rate_buckets (subject, level, updated) VALUES (?, ?, ?)"
# The level refilled up to now, capped at the limit (parameters: now, rate, limit, limit, now, rate).
_REFILLED = "CASE WHEN level + (? - updated) * ? > ? THEN ? ELSE level + (? - updated) * ? END"
_TAKE = f"UPDATE rate_buckets SET level = {_REFILLED} - ?, updated = ? WHERE subject = ? AND {_REFILLED} >= ?"
_READ = "SELECT level, updated FROM rate_buckets WHERE subject = ?"


def lease(
    conn: Connection, subject: str, limit: float, rate: float, amounts: list[float], now: float
) -> tuple[float, float]:
    """Take the first of `amounts` (largest first) the shared bucket has room for: (taken, level left)."""
    refilled = (now, rate, limit, limit, now, rate)
    conn.execute(_CREATE, (subject, limit, now))
    conn.execute("BEGIN IMMEDIATE")
    try:
        taken = 0.0
        for amount in amounts:
            if conn.execute(_TAKE, (*refilled, amount, now, subject, *refilled, amount)).rowcount == 1:
                taken = amount
                break
        level, updated = conn.execute(_READ, (subject,)).fetchone()
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return taken, min(limit, float(level) + max(0.0, now - float(updated)) * rate)

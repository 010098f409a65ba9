"""Reservations: the estimated cost of every budgeted request in flight, on disk until its log row lands.

A budgeted request writes its reservation when it is admitted; its request-log row deletes it (a trigger,
so both happen in one transaction). The row itself is committed before the answer is sent (see the log
stage), so after a `kill -9` every answered request is in the log, and what is left here is requests
that were in flight. `reconcile()` runs at start-up and charges each of those its estimate, as a
stream cut short is charged: the provider may well have billed it.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from helix.call import Call
from helix.store import request_log
from helix.store.db import Connection

log = logging.getLogger("helix.store")

# What the request log knows of a call before its outcome, plus who holds the reservation and its estimate.
_LOGGED = (*request_log.COLUMNS[: request_log.COLUMNS.index("status")], "cost_usd")
COLUMNS = (*_LOGGED, "pid")
INSERT = f"INSERT INTO reservations ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
DELETE = "DELETE FROM reservations WHERE id = ?"
INTERRUPTED = "interrupted"
SHARED_STALE_SECONDS = 3600.0
_COMMITTED = (
    "SELECT (SELECT coalesce(sum(cost_usd), 0) FROM requests WHERE key_id = ? AND ts >= ?),"
    " (SELECT coalesce(sum(cost_usd), 0) FROM reservations WHERE key_id = ? AND ts >= ?)"
)
_CHARGE = (
    f"INSERT OR IGNORE INTO requests ({', '.join(_LOGGED)}, status, error_code)"
    f" SELECT {', '.join(_LOGGED)}, 500, '{INTERRUPTED}' FROM reservations WHERE id = ?"
)


def row(call: Call, cost: float) -> tuple[Any, ...]:
    known = {**request_log.fields(call), "pid": os.getpid(), "cost_usd": cost}
    return tuple(known[column] for column in COLUMNS)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def reconcile(conn: Connection, shared: bool = False) -> tuple[int, float]:
    """Charge the reservations of processes that are gone; returns how many and their estimated cost.

    On a database shared by instances on other hosts a pid says nothing: there, a reservation is left over
    once it is older than any request can last (`SHARED_STALE_SECONDS`)."""
    rows = conn.execute("SELECT id, pid, cost_usd, ts FROM reservations").fetchall()
    stale = time.time() - SHARED_STALE_SECONDS
    orphans = [(r[0], float(r[2] or 0)) for r in rows if (float(r[3]) < stale if shared else not _alive(int(r[1])))]
    if not orphans:
        return 0, 0.0
    conn.execute("BEGIN IMMEDIATE")
    try:
        for request_id, _ in orphans:
            conn.execute(_CHARGE, (request_id,))
            conn.execute(DELETE, (request_id,))  # already gone if the charge fired the trigger
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    total = sum(cost for _, cost in orphans)
    log.warning(
        "charged %d request(s) left in flight when Helix last stopped, at their estimate ($%.6f in all)",
        len(orphans),
        total,
    )
    return len(orphans), total


def reserve_within(
    conn: Connection, row: tuple[Any, ...], key_id: str, since: float, budget: float, prompt_cost: float
) -> tuple[bool, float, float]:
    """Write a reservation only if the key's budget has room, atomically for every process and instance
    sharing the database: (taken, spent, reserved), spent and reserved over the period from `since`.

    The key's row is locked first (an update that changes nothing, and bumps no version), so admissions of
    one key take turns while the sums are read and the reservation written; other keys do not wait."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("UPDATE keys SET last_used_at = last_used_at WHERE id = ?", (key_id,))
        spent, reserved = conn.execute(_COMMITTED, (key_id, since, key_id, since)).fetchone()
        spent, reserved = float(spent), float(reserved)
        committed = spent + reserved
        if committed >= budget or committed + prompt_cost > budget:
            conn.execute("ROLLBACK")
            return False, spent, reserved
        conn.execute(INSERT, row)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return True, spent, reserved


def record(conn: Connection, row: tuple[Any, ...]) -> None:
    conn.execute(INSERT, row)

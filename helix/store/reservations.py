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


def reconcile(conn: Connection) -> tuple[int, float]:
    """Charge the reservations of processes that are gone; returns how many and their estimated cost."""
    orphans = [
        (r[0], float(r[2] or 0))
        for r in conn.execute("SELECT id, pid, cost_usd FROM reservations").fetchall()
        if not _alive(int(r[1]))
    ]
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

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
import sqlite3
import time
from contextlib import suppress
from typing import Any

from helix.call import Call
from helix.store import budget_spend, request_log
from helix.store.budget_spend import Budget
from helix.store.db import Connection, is_locked, transaction
from helix.store.pg import ConnectionLost

log = logging.getLogger("helix.store")

# What the request log knows of a call before its outcome, plus who holds the reservation and its estimate,
# and on a shared database the budget_spend rows it holds against, with their limits and the prompt's cost
# (what the admission trigger checks: store/budget_spend.py).
_LOGGED = (*request_log.COLUMNS[: request_log.COLUMNS.index("status")], "cost_usd")
_HOLDS = ("key_subject", "key_period_start", "key_limit", "user_subject", "user_period_start", "user_limit")
COLUMNS = (*_LOGGED, "pid", *_HOLDS, "prompt_cost_usd")
INSERT = f"INSERT INTO reservations ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
_ADMIT = f"{INSERT} RETURNING id"
# A reservation whose admission found a budget without its row for this period: its seed is a transaction (and
# may lose a race for a lock once, so: admit, seed, seed again, admit).
_TRIES = 4
DELETE = "DELETE FROM reservations WHERE id = ?"
INTERRUPTED = "interrupted"
SHARED_STALE_SECONDS = 3600.0
_CHARGE = (
    f"INSERT OR IGNORE INTO requests ({', '.join(_LOGGED)}, status, error_code)"
    f" SELECT {', '.join(_LOGGED)}, 500, '{INTERRUPTED}' FROM reservations WHERE id = ?"
)


def row(call: Call, cost: float, budgets: tuple[Budget, ...] = (), prompt_cost: float = 0.0) -> tuple[Any, ...]:
    """The reservation of `call`'s estimate `cost`, holding against `budgets` (shared database only), which
    must have room for `prompt_cost`."""
    return of(request_log.fields(call), cost, budgets, prompt_cost)


def of(
    fields: dict[str, Any], cost: float, budgets: tuple[Budget, ...] = (), prompt_cost: float = 0.0
) -> tuple[Any, ...]:
    """The reservation of a request the log knows these `fields` of (by column)."""
    known: dict[str, Any] = {**fields, "pid": os.getpid(), "cost_usd": cost, "prompt_cost_usd": prompt_cost}
    for budget in budgets:
        side = "key" if budget.user is None else "user"
        known[f"{side}_subject"], known[f"{side}_period_start"] = budget.subject, budget.start
        known[f"{side}_limit"] = budget.limit
    return tuple(known.get(column) for column in COLUMNS)


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
    with transaction(conn):
        for request_id, _ in orphans:
            conn.execute(_CHARGE, (request_id,))
            conn.execute(DELETE, (request_id,))  # already gone if the charge fired the trigger
    total = sum(cost for _, cost in orphans)
    log.warning(
        "charged %d request(s) left in flight when Helix last stopped, at their estimate ($%.6f in all)",
        len(orphans),
        total,
    )
    return len(orphans), total


def reserve_within(
    conn: Connection, row: tuple[Any, ...], budgets: tuple[Budget, ...], prompt_cost: float
) -> tuple[Budget | None, list[tuple[float, float]]]:
    """Write a reservation (`row`, holding against `budgets`) only if every one of them has room, atomically
    for every process and instance sharing the database: (the budget that refused, or None when taken;
    (spent, reserved) of each budget, as the database has them after). Each budget is one row
    (`budget_spend`), so this takes O(1).

    The admission is the reservation's `INSERT` alone (its trigger takes from the budgets, or skips the row);
    on PostgreSQL, with the connection in autocommit, each budget's row is locked for that one statement.
    The budgets are read after it without a lock: for the caller's ledgers, and when the row was skipped to
    tell a refusal from a budget without its row for this period yet, which is then seeded (a transaction)
    and the admission tried again."""
    try:
        return _reserve(conn, row, budgets, prompt_cost)
    except ConnectionLost:
        # The reservation may have landed before the session went, and the caller refuses the request: take it
        # back if the database is there again (a new session). If not, it is charged at its estimate later, as
        # a crashed instance's is: one estimate too much, never too little.
        with suppress(sqlite3.Error):
            conn.execute(DELETE, (row[0],))
        raise


def _reserve(
    conn: Connection, row: tuple[Any, ...], budgets: tuple[Budget, ...], prompt_cost: float
) -> tuple[Budget | None, list[tuple[float, float]]]:
    found: list[tuple[float, float]] = []
    for _ in range(_TRIES):
        taken = bool(conn.execute(_ADMIT, row).fetchall())
        current = [budget_spend.current(conn, budget) for budget in budgets]
        found = [numbers or (0.0, 0.0) for numbers in current]
        if taken:
            return None, found
        missing = [budget for budget, numbers in zip(budgets, current, strict=True) if numbers is None]
        if missing:
            try:
                _seed(conn, missing)
            except sqlite3.OperationalError as exc:
                # Seeding locks the budget's reservations in flight, and a writer settling two of them in the other
                # order deadlocks with it: PostgreSQL rolls one back, and the seed is simply tried again.
                if isinstance(exc, ConnectionLost) or not is_locked(exc):
                    raise
            continue
        for budget, (spent, reserved) in zip(budgets, found, strict=True):
            if not budget_spend.has_room(budget, spent, reserved, prompt_cost):
                return budget, found
        # Room after all: reservations settled between the two statements. Try again.
    return budgets[-1], found


def _seed(conn: Connection, budgets: list[Budget]) -> None:
    with transaction(conn):
        for budget in budgets:
            budget_spend.seed(conn, budget)

"""Running spend per budget and period, so that admission on a shared database is O(1) and one key's
admissions do not queue behind its request log.

Each budget (a key's, or one end user's) has, per period, two rows that only their own side writes:
- `budget_spend` (admissions): the spend the log held when the row was seeded, and every estimate reserved
  since. Admission is one `INSERT` of the request's reservation, whose `BEFORE INSERT` trigger (migration
  `0014_budget_settled`) adds the estimate to each budget the reservation holds against only while the
  budget has room for the prompt, or skips the row (and takes nothing) when one has not: one statement,
  atomic for every instance (the row's lock, held for that statement alone).
- `budget_settled` (the request log's writers): what the log rows of the budget's reservations charged since
  the seed, and the estimates their deletion released (by trigger, in the writer's transaction: a log row,
  a cancelled request, the start-up charge of a crashed one).
A budget's spend is then `budget_spend.spent + budget_settled.spent`, its reservations in flight
`budget_spend.reserved - budget_settled.released`. The writer's commit (which waits for the disk) no longer
holds the row every admission of the key needs. An admission may read a settlement a moment old; that
only counts a request at its estimate instead of its cost (the bound on overshoot already allows for it).

A budget's rows are created by the first admission of its period, from the request log and the reservations
in flight (the one range scan), and replace the subject's rows of earlier periods; the same seed deletes the
rows of every budget whose period ended before its own began (`period_end`), so rows of keys and end users
gone quiet last at most until a budget's next period starts. They are deleted when their budget goes away
(`forget`), so one set again later starts from the log, which then includes the requests made without one.
Seeding locks the reservations it counts, so a log row committing meanwhile is counted once: in the log the
seed reads, or charged to the settled row by the trigger once the seed has committed.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass

from helix.store.db import Connection, is_locked, transaction
from helix.store.pg import ConnectionLost


@dataclass(frozen=True, slots=True)
class Budget:
    """One budget a request is admitted against."""

    subject: str  # the budget_spend row's subject: which budget, over which kind of period
    start: float  # the current period's start
    limit: float
    key_id: str | None
    user: str | None = None  # a per-user budget: this end user's, among the key's (or among keyless requests)
    end: float = math.inf  # the current period's end


def key_prefix(key_id: str, period: str) -> str:
    return f"key:{key_id}:{period}"


def user_prefix(key_id: str | None, period: str) -> str:
    return f"user:{key_id or ''}:{period}:"


def of_key(key_id: str, period: str, start: float, limit: float, end: float = math.inf) -> Budget:
    return Budget(key_prefix(key_id, period), start, limit, key_id, end=end)


def of_user(key_id: str | None, user: str, period: str, start: float, limit: float, end: float = math.inf) -> Budget:
    return Budget(user_prefix(key_id, period) + user, start, limit, key_id, user, end)


def has_room(budget: Budget, spent: float, reserved: float, prompt_cost: float) -> bool:
    """The admission rule (also the trigger's): room left, and for the prompt at least."""
    return spent + reserved < budget.limit and spent + reserved + prompt_cost <= budget.limit


_READ = (
    "SELECT s.spent + t.spent, s.reserved - t.released FROM budget_spend s JOIN budget_settled t"
    " ON t.subject = s.subject AND t.period_start = s.period_start WHERE s.subject = ? AND s.period_start = ?"
)
# The reservations in flight against a budget, locked (an update that changes nothing) so that a log row
# settling one of them waits for the seed to commit, then charges the seeded row (PostgreSQL's trigger).
_IN_FLIGHT = (
    "UPDATE reservations SET cost_usd = cost_usd"
    " WHERE (key_subject = ? AND key_period_start = ?) OR (user_subject = ? AND user_period_start = ?)"
    " RETURNING cost_usd"
)
_SEED = (
    "INSERT OR IGNORE INTO budget_spend (subject, period_start, period_end, spent, reserved)"
    " SELECT ?, ?, ?, ({spent}), ?"
)
_SEED_KEY = _SEED.format(spent="SELECT coalesce(sum(cost_usd), 0) FROM requests WHERE key_id = ? AND ts >= ?")
_SEED_USER = _SEED.format(
    spent="SELECT coalesce(sum(cost_usd), 0) FROM requests WHERE key_id IS ? AND user = ? AND ts >= ?"
)
_SETTLED = "INSERT INTO budget_settled (subject, period_start, spent, released) VALUES (?, ?, 0, 0)"
_EARLIER = "DELETE FROM {table} WHERE subject = ? AND period_start < ?"
_THIS = "DELETE FROM {table} WHERE subject = ? AND period_start = ?"
# Rows of periods that ended before a given moment (an index range on `period_end`), the settled side first.
_ENDED = (
    "DELETE FROM budget_settled WHERE (subject, period_start) IN"
    " (SELECT subject, period_start FROM budget_spend WHERE period_end <= ?)",
    "DELETE FROM budget_spend WHERE period_end <= ?",
)
_FORGET = "DELETE FROM {table} WHERE substr(subject, 1, ?) = ?"
_TABLES = ("budget_spend", "budget_settled")
_FORGET_TRIES = 3


def current(conn: Connection, budget: Budget) -> tuple[float, float] | None:
    """The budget's (spent, reserved in flight) this period, or None before its first admission."""
    row = conn.execute(_READ, (budget.subject, budget.start)).fetchone()
    return None if row is None else (float(row[0]), float(row[1]))


def seed(conn: Connection, budget: Budget) -> None:
    """Within the caller's transaction: the budget's rows for its period, with the spend from the log and the
    reservations in flight against it (read first, and locked: a request settling meanwhile is either in the
    log already or charged to these rows). Drops the subject's earlier rows, and those of every budget whose
    period ended before this one began (whatever the clock says then, never a budget in use)."""
    flight = conn.execute(_IN_FLIGHT, (budget.subject, budget.start) * 2).fetchall()
    reserved = sum(float(row[0]) for row in flight)
    start, end = budget.start, (budget.end if math.isfinite(budget.end) else None)
    for statement in _ENDED:
        conn.execute(statement, (start,))
    if budget.user is None:
        seeded = conn.execute(_SEED_KEY, (budget.subject, start, end, budget.key_id, start, reserved))
    else:
        seeded = conn.execute(_SEED_USER, (budget.subject, start, end, budget.key_id, budget.user, start, reserved))
    if seeded.rowcount:  # not seeded meanwhile by another instance: the settled side starts from nothing too
        conn.execute(_THIS.format(table="budget_settled"), (budget.subject, start))
        conn.execute(_SETTLED, (budget.subject, start))
    for table in _TABLES:
        conn.execute(_EARLIER.format(table=table), (budget.subject, start))


def forget(conn: Connection, prefixes: list[str]) -> None:
    """Delete the rows of budgets that are gone (a key's: `key_prefix`; a per-user rule's: `user_prefix`).

    A seed takes the two tables' rows in the other order, so on PostgreSQL the two can deadlock and one is rolled
    back: this one is then tried again (the seed retries on its side too)."""
    for attempt in range(_FORGET_TRIES):
        try:
            with transaction(conn):
                for prefix in prefixes:
                    for table in _TABLES:
                        conn.execute(_FORGET.format(table=table), (len(prefix), prefix))
            return
        except sqlite3.OperationalError as exc:
            if isinstance(exc, ConnectionLost) or not is_locked(exc) or attempt == _FORGET_TRIES - 1:
                raise

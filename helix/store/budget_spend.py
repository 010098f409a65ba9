"""Running spend per budget and period, so that admission on a shared database is O(1).

One `budget_spend` row per budget (a key's, or one end user's) and period: what its requests have spent and
what those in flight have reserved. Admission (`reserve`) is one conditional UPDATE per budget: it adds the
request's estimate to `reserved` only while spent + reserved leaves room for the prompt, atomically for
every instance (the row's lock). The request names the rows it holds against in its reservation, and the
triggers of migration `0012_budget_spend` keep them exact: the request's log row charges its real cost to
`spent` (in the transaction that writes the row), and the reservation's deletion (by that row, by a
cancelled request, or by the start-up charge of a crashed one) releases its estimate from `reserved`.

A row is created by the first admission of its period, from the request log and the reservations in flight
(the one range scan), and replaces the subject's rows of earlier periods. It is deleted when its budget
goes away (`forget`), so a budget set again later starts from the log, which then includes the requests
made without one. Seeding locks the reservations it counts, so a log row committing meanwhile is counted
once: in the log the seed reads, or charged to the row by the trigger once the seed has committed.
"""

from __future__ import annotations

from dataclasses import dataclass

from helix.store.db import Connection


@dataclass(frozen=True, slots=True)
class Budget:
    """One budget a request is admitted against."""

    subject: str  # the budget_spend row's subject: which budget, over which kind of period
    start: float  # the current period's start
    limit: float
    key_id: str | None
    user: str | None = None  # a per-user budget: this end user's, among the key's (or among keyless requests)


def key_prefix(key_id: str, period: str) -> str:
    return f"key:{key_id}:{period}"


def user_prefix(key_id: str | None, period: str) -> str:
    return f"user:{key_id or ''}:{period}:"


def of_key(key_id: str, period: str, start: float, limit: float) -> Budget:
    return Budget(key_prefix(key_id, period), start, limit, key_id)


def of_user(key_id: str | None, user: str, period: str, start: float, limit: float) -> Budget:
    return Budget(user_prefix(key_id, period) + user, start, limit, key_id, user)


_TAKE = (
    "UPDATE budget_spend SET reserved = reserved + ? WHERE subject = ? AND period_start = ?"
    " AND spent + reserved < ? AND spent + reserved + ? <= ? RETURNING spent, reserved"
)
_GIVE_BACK = "UPDATE budget_spend SET reserved = reserved - ? WHERE subject = ? AND period_start = ?"
_READ = "SELECT spent, reserved FROM budget_spend WHERE subject = ? AND period_start = ?"
# The reservations in flight against a budget, locked (an update that changes nothing) so that a log row
# settling one of them waits for the seed to commit, then charges the seeded row (PostgreSQL's trigger).
_IN_FLIGHT = (
    "UPDATE reservations SET cost_usd = cost_usd"
    " WHERE (key_subject = ? AND key_period_start = ?) OR (user_subject = ? AND user_period_start = ?)"
    " RETURNING cost_usd"
)
_SEED = "INSERT OR IGNORE INTO budget_spend (subject, period_start, spent, reserved) SELECT ?, ?, ({spent}), ?"
_SEED_KEY = _SEED.format(spent="SELECT coalesce(sum(cost_usd), 0) FROM requests WHERE key_id = ? AND ts >= ?")
_SEED_USER = _SEED.format(
    spent="SELECT coalesce(sum(cost_usd), 0) FROM requests WHERE key_id IS ? AND user = ? AND ts >= ?"
)
_EARLIER = "DELETE FROM budget_spend WHERE subject = ? AND period_start < ?"
_FORGET = "DELETE FROM budget_spend WHERE substr(subject, 1, ?) = ?"


def take(conn: Connection, budget: Budget, cost: float, prompt_cost: float) -> tuple[bool, float, float]:
    """Within the caller's transaction: reserve `cost` against `budget` if it has room for `prompt_cost`.
    Returns (taken, spent, reserved), the last two as they were before this request."""
    limit, spent, reserved = budget.limit, 0.0, 0.0
    for _ in range(3):
        taken = conn.execute(_TAKE, (cost, budget.subject, budget.start, limit, prompt_cost, limit)).fetchall()
        if taken:
            return True, float(taken[0][0]), float(taken[0][1]) - cost
        current = conn.execute(_READ, (budget.subject, budget.start)).fetchall()
        if not current:
            _seed(conn, budget)
            continue
        spent, reserved = float(current[0][0]), float(current[0][1])
        if spent + reserved >= limit or spent + reserved + prompt_cost > limit:
            return False, spent, reserved
        # Room after all: another admission's seed committed between the two reads. Take it now.
    return False, spent, reserved


def give_back(conn: Connection, budget: Budget, cost: float) -> None:
    """Within the caller's transaction: undo a `take()` of `cost` (another budget refused the request)."""
    conn.execute(_GIVE_BACK, (cost, budget.subject, budget.start))


def _seed(conn: Connection, budget: Budget) -> None:
    """The budget's row for its period: spend from the log, and the reservations in flight against it (read
    first, and locked: a request settling meanwhile is either in the log already or charged to this row)."""
    flight = conn.execute(_IN_FLIGHT, (budget.subject, budget.start) * 2).fetchall()
    reserved = sum(float(row[0]) for row in flight)
    start = budget.start
    if budget.user is None:
        conn.execute(_SEED_KEY, (budget.subject, start, budget.key_id, start, reserved))
    else:
        conn.execute(_SEED_USER, (budget.subject, start, budget.key_id, budget.user, start, reserved))
    conn.execute(_EARLIER, (budget.subject, start))


def forget(conn: Connection, prefixes: list[str]) -> None:
    """Delete the rows of budgets that are gone (a key's: `key_prefix`; a per-user rule's: `user_prefix`)."""
    for prefix in prefixes:
        conn.execute(_FORGET, (len(prefix), prefix))

"""Budgets held in a database shared by several Helix instances (PostgreSQL): keys' and end users' alike.

Each instance's ledgers (`quota/ledger.py`) only see what that instance spent and reserved. With a shared
database the reservation itself is the check: `reserve()` writes the request's reservation only if every
budget that applies to it (the key's, the end user's) still has room, in one statement
(`store/reservations.reserve_within`), each budget one row of running spend (`store/budget_spend.py`).
Concurrent requests on all instances therefore overshoot a budget by at most the difference between a
request's estimate and its real cost, as on one instance. The ledgers are brought up to the database's
numbers on the way, so headers, refusals and alerts are the whole fleet's.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from helix.call import Call
from helix.dburl import PostgresUrl
from helix.quota.ledger import Ledger
from helix.store import budget_spend, reservations
from helix.store.budget_spend import Budget
from helix.store.db import PerThread
from helix.virtual_keys import KeyRecord

# An admission holds its budgets' row locks until it commits, so every admission of one key waits for the
# commit before it; a commit that waits for the WAL to reach the disk (an fsync: ~4 ms here) would cap a key
# at a few hundred admissions a second. Reservations are committed asynchronously instead: they are in the
# database for every other connection at once and survive any Helix crash; a crash of the PostgreSQL server
# itself can lose the last moments' worth (docs/scale-out.md, "Durability").
ADMISSION_SETTINGS = ("SET synchronous_commit = off",)


class SharedBudgets:
    def __init__(self, location: PostgresUrl) -> None:
        self._connections = PerThread(location, ADMISSION_SETTINGS)

    async def reserve(
        self,
        call: Call,
        key: KeyRecord | None,
        key_ledger: Ledger | None,
        user_ledger: Ledger | None,
        prompt_cost: float,
        cost: float,
    ) -> tuple[bool, Ledger] | None:
        """Write the call's reservation; None when taken, else whether the per-user budget refused (not the
        key's) and its ledger as the database has it."""
        key_id = key.id if key is not None else None
        ledgers: list[Ledger] = []
        budgets: list[Budget] = []
        if key_id is not None and key_ledger is not None and key_ledger.budget is not None:
            ledgers.append(key_ledger)
            budgets.append(
                budget_spend.of_key(key_id, key_ledger.period, key_ledger.start, key_ledger.budget, key_ledger.end)
            )
        if call.user and user_ledger is not None and user_ledger.budget is not None:
            ledgers.append(user_ledger)
            budgets.append(
                budget_spend.of_user(
                    key_id, call.user, user_ledger.period, user_ledger.start, user_ledger.budget, user_ledger.end
                )
            )
        held = tuple(budgets)
        row = reservations.row(call, cost, held, prompt_cost)
        refused, found = await asyncio.to_thread(
            lambda: reservations.reserve_within(self._connections.get(), row, held, prompt_cost)
        )
        for ledger, (spent, _) in zip(ledgers, found, strict=True):
            ledger.spent = spent
        if refused is None:
            return None
        at = budgets.index(refused)
        return refused.user is not None, replace(ledgers[at], reserved=found[at][1])

    async def current(self, key_id: str, ledger: Ledger) -> tuple[float, float] | None:
        """The key's budget as every instance has spent and reserved it this period (None: none has admitted a
        request against it yet)."""
        assert ledger.budget is not None
        budget = budget_spend.of_key(key_id, ledger.period, ledger.start, ledger.budget, ledger.end)
        return await asyncio.to_thread(lambda: budget_spend.current(self._connections.get(), budget))

    async def forget(self, prefixes: list[str]) -> None:
        """Drop the running spend of budgets that are gone (their prefixes: `budget_spend.key_prefix` and
        `user_prefix`), so that one set again later is counted afresh from the request log."""
        if prefixes:
            await asyncio.to_thread(lambda: budget_spend.forget(self._connections.get(), prefixes))

    def close(self) -> None:
        self._connections.close()

"""Budgets held in a database shared by several Helix instances (PostgreSQL).

Each instance's ledgers (`quota/ledger.py`) only see what that instance spent and reserved. With a shared
database the reservation itself is the check: `reserve()` sums the key's spend and every instance's
reservations and writes this request's only if the budget still has room, in one transaction that takes
the key's row lock (`store/reservations.reserve_within`). Concurrent requests on all instances therefore
overshoot a budget by at most the difference between a request's estimate and its real cost, as on one
instance. The ledger is brought up to the database's numbers on the way, so headers and alerts are the
whole fleet's. Per-user budgets stay per instance: only their reservation (for crash safety) is written.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from helix.call import Call
from helix.dburl import PostgresUrl
from helix.quota.ledger import Ledger
from helix.store import reservations
from helix.store.db import PerThread


class SharedBudgets:
    def __init__(self, location: PostgresUrl) -> None:
        self._connections = PerThread(location)

    async def reserve(
        self, call: Call, key_id: str | None, ledger: Ledger | None, prompt_cost: float, cost: float
    ) -> Ledger | None:
        """Write the call's reservation; None when taken, else the ledger as the database has it (refused)."""
        row = reservations.row(call, cost)
        if key_id is None or ledger is None or ledger.budget is None:
            await asyncio.to_thread(lambda: reservations.record(self._connections.get(), row))
            return None
        budget = ledger.budget
        taken, spent, reserved = await asyncio.to_thread(
            lambda: reservations.reserve_within(self._connections.get(), row, key_id, ledger.start, budget, prompt_cost)
        )
        ledger.spent = spent
        return None if taken else replace(ledger, reserved=reserved)

    def close(self) -> None:
        self._connections.close()

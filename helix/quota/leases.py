"""Rate limits shared by instances: each instance holds a lease of units taken from a bucket in the database.

A `LeasedBucket` stands where a local `Bucket` would: the limits stage checks and takes from it without
touching the database while the lease covers the request; when it does not, `SharedRates.top_up()` takes
a new lease first (`store/rate_buckets.lease`), a chunk of `LEASE_FRACTION` of the limit, or just what
the request needs when the shared bucket is nearly empty. The shared bucket refills at the limit's rate,
so all instances together admit what one bucket would, minus the leases held idle: at most
`LEASE_FRACTION` of the limit per instance (2%: within 10% up to five instances), and one database write
per chunk rather than per request.
"""

from __future__ import annotations

import asyncio
import math

from helix.dburl import PostgresUrl
from helix.quota.buckets import Bucket
from helix.store import rate_buckets
from helix.store.db import PerThread

LEASE_FRACTION = 0.02


class LeasedBucket(Bucket):
    """A bucket whose units are this instance's lease; it refills only by taking another one."""

    __slots__ = ("shared_level", "subject")

    def __init__(self, subject: str, limit: int, window: float, now: float) -> None:
        super().__init__(limit, window, now)
        self.subject = subject
        self.level = 0.0  # nothing leased yet
        self.shared_level = float(limit)  # the shared bucket's level at the last lease

    def _refill(self, now: float) -> None:
        return

    def wait(self, amount: float, now: float) -> float:
        if amount <= self.level:
            return 0.0
        if amount > self.limit:
            return math.inf
        return max(0.001, (amount - self.level - self.shared_level) / self.rate)

    def resize(self, limit: int, window: float, now: float) -> None:
        self.limit, self.window, self.rate = float(limit), window, limit / window

    def short_of(self, amount: float) -> float:
        return max(0.0, amount - self.level)

    @property
    def remaining(self) -> int:
        return max(0, int(self.level + self.shared_level))

    @property
    def reset_seconds(self) -> float:
        return max(0.0, (self.limit - self.level - self.shared_level) / self.rate)


class SharedRates:
    def __init__(self, location: PostgresUrl) -> None:
        self._connections = PerThread(location)

    async def top_up(self, needs: list[tuple[LeasedBucket, float]], now: float) -> None:
        """Lease what each bucket is short of for its amount (at least a chunk, when the shared one has it)."""
        short = [(bucket, bucket.short_of(amount)) for bucket, amount in needs if bucket.short_of(amount) > 0]
        if short:
            await asyncio.to_thread(self._lease, short, now)

    def _lease(self, short: list[tuple[LeasedBucket, float]], now: float) -> None:
        conn = self._connections.get()
        for bucket, missing in short:
            chunk = max(missing, math.ceil(bucket.limit * LEASE_FRACTION))
            amounts = [chunk, missing] if chunk > missing else [missing]
            taken, left = rate_buckets.lease(conn, bucket.subject, bucket.limit, bucket.rate, amounts, now)
            bucket.level += taken
            bucket.shared_level = left

    def close(self) -> None:
        self._connections.close()

"""What open pages read: the database through fresh read-only connections in a worker thread (a consistent
view, in one transaction), and a cheap change marker that tells a page whether anything new was written.

The marker is read at most once per half refresh interval however many pages are open, so an idle tab costs
one tiny query every few seconds and sends nothing to the browser.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from helix.dburl import Location
from helix.store.db import Connection, in_thread

T = TypeVar("T")

# The newest request, PII incident, key change and cache change: if none moved, no page has news.
MARKER = (
    "SELECT (SELECT coalesce(max(rowid), 0) FROM requests), (SELECT coalesce(max(id), 0) FROM pii_incidents),"
    " (SELECT version FROM keys_version), (SELECT value FROM cache_generation)"
)
Marker = tuple[int, ...]


class Feed:
    def __init__(self, db_path: Location, refresh_seconds: float) -> None:
        self.db_path = db_path
        self.refresh_seconds = refresh_seconds
        self._marker: Marker = ()
        self._read_at = 0.0
        self._lock = asyncio.Lock()

    async def marker(self) -> Marker:
        async with self._lock:
            if not self._marker or time.monotonic() - self._read_at >= self.refresh_seconds / 2:
                self._marker = await self.read(lambda conn: tuple(conn.execute(MARKER).fetchone()))
                self._read_at = time.monotonic()
            return self._marker

    async def read(self, work: Callable[[Connection], T]) -> T:
        def consistent(conn: Connection) -> T:
            conn.execute("BEGIN")
            return work(conn)

        return await in_thread(self.db_path, consistent, reader=True)

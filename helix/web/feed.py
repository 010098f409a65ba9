"""The latest snapshot for every open page: read off the event loop, at most once per refresh interval
however many pages are open, on a fresh read-only connection (a consistent view, in one transaction)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from helix.store.db import connect
from helix.web import snapshot
from helix.web.snapshot import Snapshot


class Feed:
    def __init__(self, db_path: Path, refresh_seconds: float) -> None:
        self.db_path = db_path
        self.refresh_seconds = refresh_seconds
        self._latest: Snapshot | None = None
        self._read_at = 0.0
        self._lock = asyncio.Lock()

    async def latest(self) -> Snapshot:
        async with self._lock:
            # Pages refresh on their own timers: a snapshot younger than half an interval is still fresh.
            if self._latest is None or time.monotonic() - self._read_at >= self.refresh_seconds / 2:
                self._latest = await asyncio.to_thread(self.read)
                self._read_at = time.monotonic()
            return self._latest

    def read(self) -> Snapshot:
        conn = connect(self.db_path, readonly=True)
        try:
            conn.execute("BEGIN")
            return snapshot.load(conn)
        finally:
            conn.close()

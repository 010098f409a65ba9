"""The single writer: one task owns the write connection and batches inserts.

Request handlers call `submit()`, which only appends to an in-memory queue, so a write never delays a
response. The task drains the queue in batches gathered over a short window: one transaction each,
consecutive rows of the same statement sent with executemany. `close()` drains everything before
returning, so a clean shutdown loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from helix.store.db import connect_async

log = logging.getLogger("helix.store")

MAX_BATCH = 2000
# Wait this long after the first queued row before writing, so one transaction carries many rows:
# thousands of tiny commits a second would compete with the proxy for the CPU.
BATCH_WINDOW_SECONDS = 0.05
_STOP = object()


class Writer:
    def __init__(self, path: str | Path) -> None:
        self._path = path
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._conn: aiosqlite.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self.written = 0
        self.failed_batches = 0

    async def start(self) -> None:
        self._conn = await connect_async(self._path)
        self._task = asyncio.create_task(self._run(), name="helix-writer")

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def submit(self, sql: str, params: Sequence[Any]) -> None:
        self._queue.put_nowait((sql, params))

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` on the event loop once everything submitted before it is committed."""
        self._queue.put_nowait(callback)

    async def flush(self) -> None:
        """Wait until everything submitted so far is committed."""
        done = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(done)
        await done

    async def close(self) -> None:
        if self._task is None:
            return
        self._queue.put_nowait(_STOP)
        await self._task
        self._task = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            batch = [await self._queue.get()]
            if isinstance(batch[0], tuple):
                await asyncio.sleep(BATCH_WINDOW_SECONDS)
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            rows = [item for item in batch if isinstance(item, tuple)]
            if rows:
                await self._write(rows)
            for item in batch:
                if item is _STOP:
                    stopping = True
                elif isinstance(item, asyncio.Future):
                    if not item.done():
                        item.set_result(None)
                elif callable(item):
                    try:
                        item()
                    except Exception:
                        log.exception("an after-commit callback failed")

    async def _write(self, rows: list[tuple[str, Sequence[Any]]]) -> None:
        assert self._conn is not None
        groups: list[tuple[str, list[Sequence[Any]]]] = []
        for sql, params in rows:
            if groups and groups[-1][0] == sql:
                groups[-1][1].append(params)
            else:
                groups.append((sql, [params]))
        try:
            await self._conn.execute("BEGIN")
            for sql, params_list in groups:
                await self._conn.executemany(sql, params_list)
            await self._conn.execute("COMMIT")
            self.written += len(rows)
        except Exception:
            self.failed_batches += 1
            log.exception("writing %d rows to the database failed", len(rows))
            try:
                await self._conn.execute("ROLLBACK")
            except Exception:
                log.debug("rollback after a failed batch also failed", exc_info=True)

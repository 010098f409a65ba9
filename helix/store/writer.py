"""The single writer: one task owns the write connection and batches inserts.

Request handlers call `submit()`, which only appends to an in-memory queue, so a write never delays a
response. The task drains the queue in batches gathered over a short window: one transaction each,
consecutive rows of the same statement sent with executemany. `close()` drains everything before
returning, so a clean shutdown loses nothing while the database is there; one while it is out of reach (or
locked by another process) waits for it `SHUTDOWN_SECONDS` at most, in all. `flush()` cuts the window
short: a caller that must know its rows are on disk (spend of a budgeted request) waits for one commit, not
for the window.

A row never takes others down with it: when a batch fails, it is retried row by row and only the rows
that fail on their own are dropped. A database locked by another process, or out of reach (PostgreSQL
restarting, the writer's session killed), is waited for with backoff, up to `RETRY_SECONDS`, before
anything is dropped; the session is opened again meanwhile. A batch is not applied twice when its COMMIT
was cut off (`pg.AsyncConnection`). Every dropped row is counted, logged and recorded in `write_failures`
(read by `helix doctor` and /admin/stats), so lost spend is never silent.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from typing import Any, TypeVar

from helix.dburl import Location
from helix.store.db import BUSY_TIMEOUT_MS, AsyncConnection, cannot_write, connect_async, is_locked
from helix.store.pg import ConnectionLost

log = logging.getLogger("helix.store")

MAX_BATCH = 2000
# Wait this long after the first queued row before writing, so one transaction carries many rows:
# thousands of tiny commits a second would compete with the proxy for the CPU.
BATCH_WINDOW_SECONDS = 0.05
# How long a batch keeps retrying while another process holds the write lock (each try itself waits
# the connection's busy timeout) or the database is out of reach, before its rows are dropped and recorded.
RETRY_SECONDS = 60.0
# How long a clean shutdown waits, in all, for a database out of reach (or locked) to take what is queued. Past
# it nothing more is tried: the rows not written are dropped, counted and logged (to stderr), as past
# RETRY_SECONDS; a write cut short then (SQLite's runs on in its thread) may still land, counted as dropped.
SHUTDOWN_SECONDS = 10.0
_MAX_BACKOFF_SECONDS = 1.0
_STOP = object()
_TARGET = re.compile(r"^\s*(INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)", re.IGNORECASE)
RECORD_FAILURE = "INSERT INTO write_failures (ts, target, error, rows) VALUES (?, ?, ?, ?)"

T = TypeVar("T")
Row = tuple[str, Sequence[Any]]
# What one row can fail with: the database's refusal, or Python's sqlite3 refusing to bind an integer wider
# than 64 bits (OverflowError, not one of its own errors).
ROW_ERRORS = (sqlite3.Error, OverflowError)


def is_transient(exc: BaseException) -> bool:
    """Whether the same write can succeed later: the database was locked or out of reach, not the rows."""
    return isinstance(exc, ConnectionLost) or is_locked(exc)


def target_of(sql: str) -> str:
    """The table a statement writes to ("requests"), for counting what could not be written."""
    match = _TARGET.match(sql)
    return match.group(2) if match else sql.split(None, 1)[0]


class Writer:
    def __init__(
        self,
        path: Location,
        *,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._retry_seconds = retry_seconds
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._conn: AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop_by: float | None = None  # monotonic time past which a shutdown tries nothing more
        self.written = 0
        self.failed_batches = 0
        self.dropped: dict[str, int] = {}  # rows that could not be written, per table, since start
        self.last_error: str | None = None
        # Why the database takes no write at all (a full disk, a read-only file), until a write lands again: a
        # budgeted request is refused meanwhile, as its spend could not be kept.
        self.unwritable: str | None = None

    async def start(self) -> None:
        self._conn = await connect_async(self._path, busy_timeout_ms=self._busy_timeout_ms)
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

    async def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far is committed (or, failing that, dropped and recorded).

        With a timeout, give up waiting (not writing) after that long and return False."""
        done = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(done)
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(done), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self, timeout: float = SHUTDOWN_SECONDS) -> None:
        """Write everything queued, then stop; the database is waited for `timeout` at most, in all."""
        if self._task is None:
            return
        self._stop_by = time.monotonic() + timeout
        self._queue.put_nowait(_STOP)
        self._wake.set()
        await self._task
        self._task = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            batch = [await self._queue.get()]
            if isinstance(batch[0], tuple) and not self._wake.is_set():
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), BATCH_WINDOW_SECONDS)
            self._wake.clear()
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            rows = [item for item in batch if isinstance(item, tuple)]
            if rows:
                try:
                    await self._write(rows)
                except Exception as exc:  # the writer must outlive anything a batch does
                    log.exception("the database writer failed on a batch of %d rows", len(rows))
                    await self._dropped(rows, f"the writer failed unexpectedly ({exc!r})")
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

    async def _write(self, rows: list[Row]) -> None:
        try:
            await self._commit_retrying(rows)
            return
        except ROW_ERRORS as exc:
            self.failed_batches += 1
            self._note(exc)
            if is_transient(exc):
                state = "unreachable" if isinstance(exc, ConnectionLost) else "locked"
                waited = f"for {self._retry_seconds:.0f} s" if self._stop_by is None else "until the shutdown gave up"
                await self._dropped(rows, f"the database stayed {state} {waited} ({exc})")
                return
            if len(rows) == 1:
                await self._dropped(rows, str(exc))
                return
            log.warning("a batch of %d rows failed (%s); writing them one by one", len(rows), exc)
        for one in rows:  # keep every row that is fine on its own
            try:
                await self._commit_retrying([one])
            except ROW_ERRORS as exc:
                self._note(exc)
                await self._dropped([one], str(exc))

    def _note(self, exc: BaseException) -> None:
        if cannot_write(exc):
            self.unwritable = str(exc)

    async def _commit_retrying(self, rows: list[Row]) -> None:
        """Commit `rows` in one transaction, retrying while the database is locked or out of reach."""
        deadline = time.monotonic() + self._retry_seconds
        backoff = 0.05
        while True:
            try:
                await self._in_time(self._commit(rows))
                return
            except Exception as exc:
                await self._rollback()  # whatever failed, the next batch must not start inside this one's transaction
                if self._stop_by is not None:
                    deadline = min(deadline, self._stop_by)
                if not is_transient(exc) or time.monotonic() >= deadline:
                    raise
                log.warning("%s; retrying in %.2f s", exc, backoff)
                await asyncio.sleep(min(backoff, deadline - time.monotonic()))
                backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)

    async def _in_time(self, work: Awaitable[T]) -> T:
        """`work` (a statement, a transaction), given up once a shutdown's time is over: a session that waits
        for a host that does not answer (to connect, or for a reply) would otherwise hold up the exit."""
        if self._stop_by is None:
            return await work
        try:
            return await asyncio.wait_for(work, max(0.0, self._stop_by - time.monotonic()))
        except TimeoutError:
            raise ConnectionLost("the database is unavailable: no answer before the shutdown's deadline") from None

    async def _commit(self, rows: list[Row]) -> None:
        assert self._conn is not None
        groups: list[tuple[str, list[Sequence[Any]]]] = []
        for sql, params in rows:
            if groups and groups[-1][0] == sql:
                groups[-1][1].append(params)
            else:
                groups.append((sql, [params]))
        await self._conn.write(groups)
        self.written += len(rows)
        self.unwritable = None

    async def _rollback(self) -> None:
        assert self._conn is not None
        if self._conn.in_transaction:
            try:
                await self._in_time(self._conn.execute("ROLLBACK"))
            except sqlite3.Error:
                log.debug("rollback after a failed write also failed", exc_info=True)

    async def _dropped(self, rows: list[Row], error: str) -> None:
        """Count, log and record rows that could not be written."""
        counts: dict[str, int] = {}
        for sql, _ in rows:
            target = target_of(sql)
            counts[target] = counts.get(target, 0) + 1
        for target, count in counts.items():
            self.dropped[target] = self.dropped.get(target, 0) + count
        self.last_error = error
        # ERROR, not WARNING: a dropped `requests` row is spend a budget no longer sees after a restart.
        what = ", ".join(f"{n} {t} row(s)" for t, n in counts.items())
        log.error("could not write %s to the database: %s", what, error)
        records: list[Row] = [(RECORD_FAILURE, (time.time(), t, error[:500], n)) for t, n in counts.items()]
        try:
            await self._in_time(self._commit(records))
        except sqlite3.Error as exc:
            await self._rollback()
            log.error("could not record the dropped rows either: %s", exc)

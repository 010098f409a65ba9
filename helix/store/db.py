"""Connections to the database: a SQLite file (WAL, busy timeout, sqlite-vec) or a shared PostgreSQL
database (`helix/store/pg.py`), with migrations applied. Callers see one `Connection` either way."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol, TypeVar

from helix.dburl import Location, PostgresUrl
from helix.store.migrations import migrate as _migrate
from helix.store.vec import ensure_vec_loaded

T = TypeVar("T")
BUSY_TIMEOUT_MS = 5000
_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
)
_READER_PRAGMAS = ("PRAGMA foreign_keys = ON",)  # the journal mode is the file's, set by its writers
# How much nicer than the event loop the writer's thread is. Its commits are SQLite work without the GIL
# (~10-15 us a row, a millisecond or more per batch at a few thousand requests a second). Five steps nicer,
# the loop's thread gets the larger share of a contended core and the writer still about a quarter.
WRITER_NICE_STEPS = 5
# Rows the writer's thread inserts between two offers of its core (`_write`). Being nicer is not enough: a
# woken thread does not preempt one that is within its time slice (EEVDF, at nice 5 or 19 alike), so a
# request arriving during a commit of ~150 rows (1.5 ms) waited for all of it: the exact hit's p99 at one
# connection. Sixteen rows are ~0.2 ms of SQLite; after them the writer steps aside if the loop wants the core.
WRITE_CHUNK_ROWS = 16


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchmany(self, size: int) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the store's queries need of a connection: `sqlite3.Connection`, or `pg.Connection`."""

    @property
    def in_transaction(self) -> bool: ...
    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...
    def executemany(self, sql: str, seq_of_parameters: Sequence[Sequence[Any]], /) -> Any: ...
    def commit(self) -> None: ...
    def close(self) -> None: ...


# One transaction's statements, each with its rows of parameters, in order.
Groups = Sequence[tuple[str, Sequence[Sequence[Any]]]]


class AsyncConnection(Protocol):
    """The writer's connection: `WriterConnection` (SQLite), or `pg.AsyncConnection`."""

    @property
    def in_transaction(self) -> bool: ...
    async def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...
    async def write(self, groups: Groups) -> None:
        """One transaction: BEGIN IMMEDIATE, every statement with each of its rows, COMMIT."""
        ...

    async def close(self) -> None: ...


@contextmanager
def transaction(conn: Connection) -> Iterator[None]:
    """One write transaction on an autocommit connection: committed at the end, rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def is_locked(exc: BaseException) -> bool:
    """A write that lost a race for a lock (SQLite busy past its timeout, a PostgreSQL deadlock victim): the same
    write can succeed when tried again."""
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


# SQLite's primary result codes of a file that takes no write at all: read-only, an I/O error, full.
_UNWRITABLE_CODES = frozenset({8, 10, 13})  # SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL


def cannot_write(exc: BaseException) -> bool:
    """A write refused by the file, not for its rows: a full disk, a read-only file, an I/O error."""
    code = getattr(exc, "sqlite_errorcode", None) if isinstance(exc, sqlite3.Error) else None
    return isinstance(code, int) and code & 0xFF in _UNWRITABLE_CODES


def file_identity(path: Path) -> tuple[int, int] | None:
    """The file at `path` (its device and inode), or None when there is none: a server's open file and the one its
    path names now differ once the file was deleted or replaced under it."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _prepare(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ensure_vec_loaded()


def connect(
    location: str | Location,
    *,
    migrate: bool = True,
    reader: bool = False,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    settings: Sequence[str] = (),
    on_loop: bool = False,
) -> Connection:
    """A synchronous connection (CLI, start-up, worker threads). `migrate=False` skips bringing the schema up
    to date (someone already did: the server at start-up); `reader=True` opens the file read-only
    (`mode=ro`), for connections that must never write, and implies `migrate=False`. `settings`: statements
    the connection runs once opened (`SET ...`; on PostgreSQL again whenever its session is reopened).
    `on_loop`: the connection is used on the event loop, so on PostgreSQL a lost session is opened again in
    a thread, its statements failing at once meanwhile (a SQLite file needs no reopening)."""
    if isinstance(location, PostgresUrl):
        from helix.store import pg

        conn: Connection = pg.Connection.open(
            location, lock_timeout_ms=busy_timeout_ms, settings=settings, on_loop=on_loop
        )
        if migrate and not reader:
            _migrate(conn, postgres=True)
        return conn
    conn = connect_sqlite(location, migrate=migrate, reader=reader, busy_timeout_ms=busy_timeout_ms)
    for setting in settings:
        conn.execute(setting)
    return conn


def connect_sqlite(
    path: str | Path, *, migrate: bool = True, reader: bool = False, busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> sqlite3.Connection:
    path = Path(path)
    _prepare(path)
    # isolation_level=None: we issue BEGIN ourselves where we need a transaction.
    timeout = busy_timeout_ms / 1000
    if reader:
        target = f"{path.resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(target, uri=True, isolation_level=None, check_same_thread=False, timeout=timeout)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=timeout)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    for pragma in _READER_PRAGMAS if reader else _PRAGMAS:
        conn.execute(pragma)
    if migrate and not reader:
        _migrate(conn)
    return conn


async def connect_async(location: str | Location, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> AsyncConnection:
    """The writer's connection; call `connect()` once first so the schema exists."""
    if isinstance(location, PostgresUrl):
        from helix.store import pg

        return await pg.AsyncConnection.open(location)
    return await WriterConnection.open(Path(location), busy_timeout_ms)


class WriterConnection:
    """The writer's SQLite connection, on a thread of its own that runs a whole transaction per hand-off.

    Every hand-off wakes that thread, then the event loop's: one per statement (BEGIN, each INSERT batch,
    COMMIT) made four or more of each per batch, and each wake-up may cost the event loop its core for a
    while. The thread also runs nicer than the loop (`WRITER_NICE_STEPS`) and offers its core every
    `WRITE_CHUNK_ROWS` rows."""

    def __init__(self, conn: sqlite3.Connection, thread: ThreadPoolExecutor) -> None:
        self._conn = conn
        self._thread = thread

    @classmethod
    async def open(cls, path: Path, busy_timeout_ms: int) -> WriterConnection:
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="helix-writer")

        def opened() -> sqlite3.Connection:
            lower_thread_priority(WRITER_NICE_STEPS)
            return connect_sqlite(path, migrate=False, busy_timeout_ms=busy_timeout_ms)

        try:
            conn = await asyncio.get_running_loop().run_in_executor(thread, opened)
        except BaseException:
            thread.shutdown(wait=False)
            raise
        return cls(conn, thread)

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        """The statement's rows (if any)."""
        return await self._run(lambda: self._conn.execute(sql, parameters).fetchall())

    async def write(self, groups: Groups) -> None:
        await self._run(lambda: _write(self._conn, groups))

    async def close(self) -> None:
        await self._run(self._conn.close)
        self._thread.shutdown(wait=False)

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, work)


def _write(conn: sqlite3.Connection, groups: Groups) -> None:
    with transaction(conn):  # a failure is rolled back within the same hand-off
        for sql, rows in groups:
            for start in range(0, len(rows), WRITE_CHUNK_ROWS):
                conn.executemany(sql, rows[start : start + WRITE_CHUNK_ROWS])
                offer_core()


def offer_core() -> None:
    """Let another thread that is waiting for this core run first (`sched_yield`; Windows has none)."""
    if sys.platform != "win32":
        os.sched_yield()


def lower_thread_priority(steps: int) -> None:
    """Make the calling thread `steps` nicer (Linux, where the nice value is per thread; elsewhere nothing)."""
    if sys.platform != "linux":
        return
    thread = threading.get_native_id()
    with suppress(OSError):  # not allowed here (a sandbox): the thread keeps the loop's priority
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + steps))


class PerThread:
    """A connection for each thread that asks (the workers of `asyncio.to_thread`), opened on first use
    and kept: for frequent small transactions on a shared database, where opening one costs milliseconds."""

    def __init__(self, location: Location, settings: Sequence[str] = ()) -> None:
        """`settings`: statements each connection runs once opened (`SET ...`)."""
        self._location = location
        self._settings = settings
        self._local = threading.local()
        self._opened: list[Connection] = []
        self._lock = threading.Lock()

    def get(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self._location, migrate=False, settings=self._settings)
            with self._lock:
                self._opened.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()


async def in_thread(location: str | Location, work: Callable[[Connection], T], *, reader: bool = False) -> T:
    """Run `work` on a connection of its own in a worker thread (reads that must not block the event loop,
    and the rare writes that do not go through the single writer: key changes, dashboard sessions)."""

    def run() -> T:
        conn = connect(location, reader=reader)
        try:
            return work(conn)
        finally:
            conn.close()

    return await asyncio.to_thread(run)

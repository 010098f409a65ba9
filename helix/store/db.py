"""Connections to the database: a SQLite file (WAL, busy timeout, sqlite-vec) or a shared PostgreSQL
database (`helix/store/pg.py`), with migrations applied. Callers see one `Connection` either way."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

import aiosqlite

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


class AsyncConnection(Protocol):
    """The writer's connection: `aiosqlite.Connection`, or `pg.AsyncConnection`."""

    @property
    def in_transaction(self) -> bool: ...
    async def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...
    async def executemany(self, sql: str, seq_of_parameters: Sequence[Sequence[Any]], /) -> Any: ...
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


def _prepare(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ensure_vec_loaded()


def connect(
    location: str | Location,
    *,
    migrate: bool = True,
    reader: bool = False,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
) -> Connection:
    """A synchronous connection (CLI, start-up, worker threads). `migrate=False` skips bringing the schema up
    to date (someone already did: the server at start-up); `reader=True` opens the file read-only
    (`mode=ro`), for connections that must never write, and implies `migrate=False`."""
    if isinstance(location, PostgresUrl):
        from helix.store import pg

        conn: Connection = pg.Connection.open(location, lock_timeout_ms=busy_timeout_ms)
        if migrate and not reader:
            _migrate(conn, postgres=True)
        return conn
    return connect_sqlite(location, migrate=migrate, reader=reader, busy_timeout_ms=busy_timeout_ms)


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
    path = Path(location)
    _prepare(path)
    conn = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
    conn.row_factory = aiosqlite.Row
    await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    for pragma in _PRAGMAS:
        await conn.execute(pragma)
    return conn


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
            conn = self._local.conn = connect(self._location, migrate=False)
            for setting in self._settings:
                conn.execute(setting)
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

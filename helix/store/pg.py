"""PostgreSQL connections that behave like the store's SQLite ones (psycopg 3).

The store's code speaks Python's DB-API the way the `sqlite3` module spells it: `conn.execute(sql, params)`
returning a cursor, rows readable by index and by column name, explicit `BEGIN`/`COMMIT` on an autocommit
connection, and `sqlite3`'s exception classes. `Connection` and `AsyncConnection` give it that on
PostgreSQL: statements go through `dialect.postgres()` (cached per statement), numerics come back as
floats, and errors are raised as the `sqlite3` classes the callers catch (a unique violation is an
`IntegrityError`; anything else an `OperationalError`), chained to psycopg's own.

psycopg is imported only here and only when a PostgreSQL URL is used, so the SQLite default neither needs
nor loads it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from helix.store.dialect import postgres

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT_SECONDS = 5


class Row(tuple[Any, ...]):
    """A result row readable like `sqlite3.Row`: by index, or by column name; `keys()` lists the names."""

    _names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, item: Any) -> Any:  # type: ignore[override]
        if isinstance(item, str):
            return tuple.__getitem__(self, self._names[item])
        return tuple.__getitem__(self, item)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: Any) -> Any:
    description = cursor.description or ()
    names = {column.name: i for i, column in enumerate(description)}
    return lambda values: Row(values, names)


def driver() -> Any:
    try:
        import psycopg
    except ImportError:
        raise sqlite3.OperationalError(
            "PostgreSQL needs the psycopg driver: pip install 'helix-gateway[postgres]'"
        ) from None
    return psycopg


def _configure(conn: Any) -> None:
    from psycopg.types.numeric import FloatLoader

    # sum() of integers is `numeric` in PostgreSQL; the store's callers expect plain numbers, as from SQLite.
    conn.adapters.register_loader("numeric", FloatLoader)


def translate_error(exc: Exception) -> sqlite3.Error:
    psycopg = driver()
    if isinstance(exc, psycopg.errors.IntegrityError):
        error: sqlite3.Error = sqlite3.IntegrityError(str(exc).strip())
    elif isinstance(exc, psycopg.errors.DeadlockDetected | psycopg.errors.LockNotAvailable):
        error = sqlite3.OperationalError(f"database is locked ({str(exc).strip()})")
    else:
        error = sqlite3.OperationalError(str(exc).strip())
    error.__cause__ = exc
    return error


@contextmanager
def _errors() -> Iterator[None]:
    psycopg = driver()
    try:
        yield
    except psycopg.Error as exc:
        raise translate_error(exc) from exc


class Cursor:
    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor
        self.row_factory: Any = None  # rows are always readable by name; kept for sqlite3 compatibility

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def description(self) -> Any:
        return self._cursor.description

    def fetchone(self) -> Any:
        with _errors():
            return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[Any]:
        with _errors():
            return self._cursor.fetchall() if self._cursor.description else []

    def fetchmany(self, size: int) -> list[Any]:
        with _errors():
            return self._cursor.fetchmany(size) if self._cursor.description else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class Connection:
    """A synchronous PostgreSQL connection with the surface of the store's `sqlite3.Connection`s.

    Long-lived ones (the key ring's, the cache's) outlive a database restart: a connection found broken
    outside a transaction is opened again before the next statement."""

    def __init__(self, url: str, lock_timeout_ms: int) -> None:
        self._url, self._lock_timeout_ms = url, lock_timeout_ms
        self._conn = self._open()
        self.row_factory: Any = None

    @classmethod
    def open(cls, url: str, lock_timeout_ms: int) -> Connection:
        """`lock_timeout_ms` bounds a wait for a lock, as SQLite's busy timeout does; past it, "locked"."""
        return cls(url, lock_timeout_ms)

    def _open(self) -> psycopg.Connection[Any]:
        psycopg = driver()
        with _errors():
            conn = psycopg.connect(self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
            conn.execute(f"SET lock_timeout = {int(self._lock_timeout_ms)}")
        _configure(conn)
        conn.row_factory = _row_factory
        return conn

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self._conn.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        if self._conn.broken:
            self._conn = self._open()
        with _errors():
            return Cursor(self._conn.execute(postgres(sql), tuple(parameters)))  # type: ignore[arg-type]

    def executemany(self, sql: str, seq_of_parameters: Sequence[Sequence[Any]]) -> Cursor:
        cursor = self._conn.cursor()
        with _errors():
            cursor.executemany(postgres(sql), [tuple(p) for p in seq_of_parameters])  # type: ignore[arg-type]
        return Cursor(cursor)

    def commit(self) -> None:
        if self.in_transaction:
            self.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.execute("ROLLBACK")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        if kind is None:
            self.commit()
        else:
            self.rollback()


class AsyncConnection:
    """The writer's connection on PostgreSQL (`db.AsyncConnection`)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    @classmethod
    async def open(cls, url: str) -> AsyncConnection:
        psycopg = driver()
        with _errors():
            conn = await psycopg.AsyncConnection.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
        _configure(conn)
        return cls(conn)

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self._conn.info.transaction_status != TransactionStatus.IDLE

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        with _errors():
            await self._conn.execute(postgres(sql), tuple(parameters))  # type: ignore[arg-type]

    async def executemany(self, sql: str, seq_of_parameters: Sequence[Sequence[Any]]) -> None:
        with _errors():
            async with self._conn.cursor() as cursor:
                await cursor.executemany(postgres(sql), [tuple(p) for p in seq_of_parameters])  # type: ignore[arg-type]

    async def write(self, groups: Sequence[tuple[str, Sequence[Sequence[Any]]]]) -> None:
        """One transaction (`db.AsyncConnection.write`)."""
        await self.execute("BEGIN IMMEDIATE")
        for sql, rows in groups:
            await self.executemany(sql, rows)
        await self.execute("COMMIT")

    async def close(self) -> None:
        await self._conn.close()

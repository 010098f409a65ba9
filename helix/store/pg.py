"""PostgreSQL connections that behave like the store's SQLite ones (psycopg 3).

The store's code speaks Python's DB-API the way the `sqlite3` module spells it: `conn.execute(sql, params)`
returning a cursor, rows readable by index and by column name, explicit `BEGIN`/`COMMIT` on an autocommit
connection, and `sqlite3`'s exception classes. `Connection` and `AsyncConnection` give it that on
PostgreSQL: statements go through `dialect.postgres()` (cached per statement), numerics come back as
floats, and errors are raised as the `sqlite3` classes the callers catch (a unique violation is an
`IntegrityError`; a session lost or a server out of reach `ConnectionLost`; anything else an
`OperationalError`), chained to psycopg's own.

A database restart (or a killed session) ends every connection. A connection the server hung up on while
idle is noticed before the next statement (the server says goodbye and closes the socket: one poll, no
round trip) and opened again, so nothing fails for it; a statement in flight when it went fails with
`ConnectionLost`, and the next one opens a new connection. A connection used on the event loop never waits
for a new session: it is opened in a thread while the statements that need it fail at once (`ConnectionLost`).
Every connection reports what it found (`outage()`): a new session that could not be had (refused, timed out,
or in coming for over SLOW_CONNECT_SECONDS), or the database answering again; readiness is read from that,
without a round trip of its own. A lost session alone says nothing: the server may be back already.

psycopg is imported only here and only when a PostgreSQL URL is used, so the SQLite default neither needs
nor loads it.
"""

from __future__ import annotations

import select
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from helix.store.dialect import postgres

if TYPE_CHECKING:
    import psycopg

Groups = Sequence[tuple[str, Sequence[Sequence[Any]]]]  # db.Groups (db imports this module, not the reverse)
T = TypeVar("T")

CONNECT_TIMEOUT_SECONDS = 5
# After a reconnect that failed slowly (a host that does not answer, not a refusal), statements fail at once
# (ConnectionLost) for this long before the next attempt, so a thread does not wait out CONNECT_TIMEOUT_SECONDS
# at every statement. A refused attempt takes a millisecond: it is made again by the next statement, so
# service resumes with the server. (Connections used on the event loop reconnect in a thread instead.)
RECONNECT_PAUSE_SECONDS = 10.0
SLOW_CONNECT_SECONDS = 0.5
# SQLSTATEs of a session that is gone or cannot be had: connection exceptions (class 08), and a server
# shutting down (57P01 admin, 57P02 crash) or not yet taking connections (57P03). psycopg's own client-side
# errors (no server, the socket closed) have no SQLSTATE.
_LOST_CLASS = "08"
_LOST_STATES = frozenset({"57P01", "57P02", "57P03"})


class ConnectionLost(sqlite3.OperationalError):
    """The database could not be reached: the session was lost (a restart, a killed session, the network) or
    a new one could not be opened. Transient: the same work can succeed once the database is back. A
    statement in flight when it happened may or may not have taken effect."""


# url: (when, why) its connections first failed to open a session, until one is had or a statement answered.
_outages: dict[str, tuple[float, str]] = {}


def outage(url: str) -> tuple[float, str] | None:
    """Since when (time.time()) and why the database at `url` has been out of reach: this process's connections
    could not open a session there, and none has been had, nor a statement answered, since (None then)."""
    return _outages.get(url)


def _unreachable(url: str, error: ConnectionLost) -> ConnectionLost:
    _outages.setdefault(url, (time.time(), str(error)))
    return error


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
    from psycopg.adapt import Loader

    class PlainNumber(Loader):
        """sum() of integers is `numeric` in PostgreSQL; the store's callers expect plain numbers, as from SQLite: a
        whole one an int (token counts), any other a float (Decimal, or floats throughout, would say 120.0 tokens)."""

        def load(self, data: Any) -> int | float:
            text = bytes(data).decode()
            return int(text) if text.lstrip("-").isdigit() else float(text)

    conn.adapters.register_loader("numeric", PlainNumber)


def _lost(exc: Exception, psycopg: Any) -> bool:
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    return state is None or state.startswith(_LOST_CLASS) or state in _LOST_STATES


def translate_error(exc: Exception) -> sqlite3.Error:
    psycopg = driver()
    if _lost(exc, psycopg):
        error: sqlite3.Error = ConnectionLost(f"the database is unavailable: {str(exc).strip()}")
    elif isinstance(exc, psycopg.errors.IntegrityError):
        error = sqlite3.IntegrityError(str(exc).strip())
    elif isinstance(exc, psycopg.errors.DeadlockDetected | psycopg.errors.LockNotAvailable):
        error = sqlite3.OperationalError(f"database is locked ({str(exc).strip()})")
    else:
        error = sqlite3.OperationalError(str(exc).strip())
    error.__cause__ = exc
    return error


def _hung_up(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> bool:
    """Whether the server has ended this session: found broken, or idle with something to read. The server
    writes to an idle session unasked only to say goodbye (a restart, a killed session) or to close it, so
    one poll of the socket tells, without a round trip; a rare notice taken for a goodbye costs a reconnect."""
    from psycopg.pq import TransactionStatus

    if conn.broken:
        return True
    if conn.closed or conn.info.transaction_status != TransactionStatus.IDLE:
        return False
    try:
        return _readable(conn.pgconn.socket)
    except (OSError, driver().OperationalError):
        return True


def _readable(fd: int) -> bool:
    if hasattr(select, "poll"):  # not limited to descriptors below 1024, as select() is
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])


def _in_transaction(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> bool:
    """A lost session holds no transaction any more."""
    from psycopg.pq import TransactionStatus

    return not conn.broken and conn.info.transaction_status != TransactionStatus.IDLE


@contextmanager
def _errors(url: str | None = None, *, connecting: bool = False) -> Iterator[None]:
    """psycopg's errors as `sqlite3`'s; with `url`, what they say of the database is kept for `outage()`: a
    session that could not be opened (`connecting`), or an answer."""
    psycopg = driver()
    try:
        yield
    except psycopg.Error as exc:
        error = translate_error(exc)
        if url is not None:
            if not isinstance(error, ConnectionLost):  # the server answered
                _outages.pop(url, None)
            elif connecting:
                _unreachable(url, error)
        raise error from exc
    if url is not None:
        _outages.pop(url, None)


def _in_background(work: Callable[[], T]) -> Future[T]:
    """`work` on a thread of its own (a daemon: one waiting for a silent host does not hold up the exit)."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # handed to whoever reads the future
            future.set_exception(exc)

    threading.Thread(target=run, name="helix-pg-reconnect", daemon=True).start()
    return future


def _close_opened(attempt: Future[psycopg.Connection[Any]]) -> None:
    if attempt.exception() is None:
        attempt.result().close()


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

    Long-lived ones (the key ring's, the cache's, admissions') outlive a database restart: a session the
    server ended is opened again before the next statement (`settings` with it). On a connection used on the
    event loop (`on_loop`), the new session is opened in a thread, and statements fail at once until it is."""

    def __init__(self, url: str, lock_timeout_ms: int, settings: Sequence[str], on_loop: bool) -> None:
        self._url, self._settings = url, (f"SET lock_timeout = {int(lock_timeout_ms)}", *settings)
        self._on_loop = on_loop
        self._conn = self._open()
        self._next_attempt = 0.0  # monotonic time before which a reconnect is not tried (after a slow failure)
        self._attempt: Future[psycopg.Connection[Any]] | None = None  # a new session being opened in a thread
        self._attempt_started = 0.0
        self.row_factory: Any = None

    @classmethod
    def open(cls, url: str, lock_timeout_ms: int, settings: Sequence[str] = (), *, on_loop: bool = False) -> Connection:
        """`lock_timeout_ms` bounds a wait for a lock, as SQLite's busy timeout does; past it, "locked".
        `settings`: statements run on each session once opened (`SET ...`). `on_loop`: used on the event
        loop, which a reconnect must not block."""
        return cls(url, lock_timeout_ms, settings, on_loop)

    def _open(self) -> psycopg.Connection[Any]:
        psycopg = driver()
        with _errors(self._url, connecting=True):
            conn = psycopg.connect(self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
            for setting in self._settings:
                conn.execute(setting)
        _configure(conn)
        conn.row_factory = _row_factory
        return conn

    def _live(self) -> psycopg.Connection[Any]:
        if self._attempt is not None:
            if not self._attempt.done():
                lost = ConnectionLost("the database is unavailable: a new session is taking long to open")
                if time.monotonic() - self._attempt_started >= SLOW_CONNECT_SECONDS:
                    raise _unreachable(self._url, lost)  # a host that does not answer
                raise lost
            attempt, self._attempt = self._attempt, None
            if attempt.exception() is None:
                self._conn.close()
                self._conn = attempt.result()
        if not _hung_up(self._conn):  # the old one is kept until a new one opens, so this is asked again next time
            return self._conn
        if self._on_loop:
            self._attempt, self._attempt_started = _in_background(self._open), time.monotonic()
            raise ConnectionLost("the database is unavailable: the session was lost; opening a new one")
        if time.monotonic() < self._next_attempt:
            raise _unreachable(
                self._url, ConnectionLost("the database is unavailable: the last attempt to reconnect timed out")
            )
        started = time.monotonic()
        try:
            fresh = self._open()
        except ConnectionLost:
            if time.monotonic() - started >= SLOW_CONNECT_SECONDS:
                self._next_attempt = time.monotonic() + RECONNECT_PAUSE_SECONDS
            raise
        self._conn.close()
        self._conn = fresh
        return self._conn

    @property
    def in_transaction(self) -> bool:
        return _in_transaction(self._conn)

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        conn = self._live()
        with _errors(self._url):
            return Cursor(conn.execute(postgres(sql), tuple(parameters)))  # type: ignore[arg-type]

    def executemany(self, sql: str, seq_of_parameters: Sequence[Sequence[Any]]) -> Cursor:
        cursor = self._live().cursor()
        with _errors(self._url):
            cursor.executemany(postgres(sql), [tuple(p) for p in seq_of_parameters])  # type: ignore[arg-type]
        return Cursor(cursor)

    def commit(self) -> None:
        if self.in_transaction:
            self.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.execute("ROLLBACK")

    def close(self) -> None:
        if self._attempt is not None:  # a session still being opened is closed once it is
            self._attempt.add_done_callback(_close_opened)
            self._attempt = None
        self._conn.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        if kind is None:
            self.commit()
        else:
            self.rollback()


class AsyncConnection:
    """The writer's connection on PostgreSQL (`db.AsyncConnection`), opened again as `Connection` is.

    A write whose COMMIT was cut off (`ConnectionLost`) may have landed. Its transaction id is kept: when the
    same write is tried again, the server is asked first (`pg_xact_status`) and a landed one is not applied
    a second time."""

    def __init__(self, url: str, conn: psycopg.AsyncConnection[Any]) -> None:
        self._url, self._conn = url, conn
        self._cut_off: tuple[str, Groups] | None = None  # (transaction id, its groups)

    @classmethod
    async def open(cls, url: str) -> AsyncConnection:
        return cls(url, await cls._connect(url))

    @staticmethod
    async def _connect(url: str) -> psycopg.AsyncConnection[Any]:
        psycopg = driver()
        with _errors(url, connecting=True):
            conn = await psycopg.AsyncConnection.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
        _configure(conn)
        return conn

    async def _live(self) -> psycopg.AsyncConnection[Any]:
        if _hung_up(self._conn):  # as `Connection._live`
            fresh = await self._connect(self._url)
            await self._conn.close()
            self._conn = fresh
        return self._conn

    @property
    def in_transaction(self) -> bool:
        return _in_transaction(self._conn)

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        """The statement's first value, if it returns rows."""
        conn = await self._live()
        with _errors(self._url):
            cursor = await conn.execute(postgres(sql), tuple(parameters))  # type: ignore[arg-type]
            row = await cursor.fetchone() if cursor.description else None
        return None if row is None else row[0]

    async def executemany(self, sql: str, seq_of_parameters: Sequence[Sequence[Any]]) -> None:
        conn = await self._live()
        with _errors(self._url):
            async with conn.cursor() as cursor:
                await cursor.executemany(postgres(sql), [tuple(p) for p in seq_of_parameters])  # type: ignore[arg-type]

    async def write(self, groups: Groups) -> None:
        """One transaction (`db.AsyncConnection.write`); not applied twice when tried again after a cut-off COMMIT."""
        if self._cut_off is not None:
            xid, cut = self._cut_off
            landed = cut == groups and await self._committed(xid)  # unreachable: asked again next time
            self._cut_off = None
            if landed:
                return
        await self.execute("BEGIN")
        xid = await self.execute("SELECT pg_current_xact_id()::text")
        for sql, rows in groups:
            await self.executemany(sql, rows)
        try:
            await self.execute("COMMIT")
        except ConnectionLost:
            self._cut_off = (xid, groups)
            raise

    async def _committed(self, xid: str) -> bool:
        status = await self.execute("SELECT pg_xact_status(?::xid8)", (xid,))
        if status == "in progress":  # the server has not finished with the lost session yet
            raise ConnectionLost(f"the database has not yet finished transaction {xid} of a lost session")
        return bool(status == "committed")

    async def close(self) -> None:
        await self._conn.close()

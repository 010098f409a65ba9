"""The SQLite file: migrations recorded, sqlite-vec on every connection, the writer loses nothing."""

from __future__ import annotations

import asyncio
import sqlite3
import struct
from pathlib import Path

from helix.store.db import connect, connect_async
from helix.store.migrations import MIGRATIONS
from helix.store.writer import Writer


def test_vec0_query_on_this_python(tmp_path: Path) -> None:
    conn = connect(tmp_path / "v.db")
    conn.execute("CREATE VIRTUAL TABLE v USING vec0(e float[3])")
    for rowid, vector in ((1, (1.0, 0.0, 0.0)), (2, (0.0, 1.0, 0.0)), (3, (0.7, 0.7, 0.0))):
        conn.execute("INSERT INTO v(rowid, e) VALUES (?, ?)", (rowid, struct.pack("3f", *vector)))
    rows = conn.execute(
        "SELECT rowid, distance FROM v WHERE e MATCH ? AND k = 2 ORDER BY distance",
        (struct.pack("3f", 1, 0, 0),),
    ).fetchall()
    assert [r[0] for r in rows] == [1, 3]
    # A plain stdlib connection opened afterwards has it too (auto-extension), as does the writer's, in its thread.
    assert sqlite3.connect(":memory:").execute("select vec_version()").fetchone()[0].startswith("v0.1")

    async def from_the_writers_thread() -> str:
        aconn = await connect_async(tmp_path / "v.db")
        try:
            return str((await aconn.execute("select vec_version()"))[0][0])
        finally:
            await aconn.close()

    assert asyncio.run(from_the_writers_thread()).startswith("v0.1")


def test_migrations_are_named_recorded_and_run_once(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    connect(path).close()
    conn = connect(path)  # second open applies nothing new
    names = [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY name")]
    assert names == sorted(name for name, _ in MIGRATIONS)  # recorded by name; applied in list order
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_writer_batches_and_drains_on_close(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    connect(path).close()

    async def scenario() -> int:
        writer = Writer(path)
        await writer.start()
        for i in range(5000):
            writer.submit("INSERT INTO requests (id, ts, endpoint, status) VALUES (?, ?, 'chat', 200)", (f"r{i}", i))
        await writer.close()  # must write everything still queued
        return writer.written

    assert asyncio.run(scenario()) == 5000
    assert sqlite3.connect(path).execute("SELECT count(*) FROM requests").fetchone()[0] == 5000


def test_writer_survives_a_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    connect(path).close()

    async def scenario() -> None:
        writer = Writer(path)
        await writer.start()
        writer.submit("INSERT INTO requests (id, ts, endpoint, status) VALUES (?, ?, 'chat', 200)", ("a", 1))
        await writer.flush()
        writer.submit("INSERT INTO requests (id, ts, endpoint, status) VALUES (?, ?, 'chat', 200)", ("a", 1))
        await writer.flush()
        writer.submit("INSERT INTO requests (id, ts, endpoint, status) VALUES (?, ?, 'chat', 200)", ("b", 2))
        await writer.close()
        assert writer.failed_batches == 1

    asyncio.run(scenario())
    assert sqlite3.connect(path).execute("SELECT count(*) FROM requests").fetchone()[0] == 2

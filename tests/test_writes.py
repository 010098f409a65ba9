"""Nothing lost: bad header values are refused, a failing row or a locked database never drops other rows."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from helix.config import load_config
from helix.doctor import run_checks
from helix.store import db
from helix.store.db import WRITE_CHUNK_ROWS, WRITER_NICE_STEPS, WriterConnection, connect
from helix.store.writer import Writer
from tests.conftest import Helix, add_key, start_helix
from tests.fake_upstream import FakeState, ServerThread

ADMIN = "hxa-test-admin-key-0123456789abcdef"
PRICED = '[pricing."openai/gpt-4o-mini"]\ninput = 1000.0\noutput = 1000.0\n'


@pytest.fixture
def priced(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> Iterator[Helix]:
    instance = start_helix(tmp_path, upstream[0].url, f'[auth]\nadmin_key = "{ADMIN}"\n{PRICED}')
    yield instance
    instance.server.stop()


def chat(helix: Helix, text: str, key: str = "anything", headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
    return httpx.post(
        f"{helix.url}/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {key}", **(headers or {})},
        timeout=30,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("x-helix-cache-ttl", "nan"),
        ("x-helix-cache-ttl", "inf"),
        ("x-helix-cache-ttl", "-5"),
        ("x-helix-cache-ttl", "1e300"),
        ("x-helix-cache-threshold", "NaN"),
        ("x-helix-cache-threshold", "1.5"),
        ("x-helix-cache-namespace", "n" * 300),
        ("x-helix-user", "u" * 300),
    ],
)
def test_bad_header_values_are_a_400(helix: Helix, name: str, value: str) -> None:
    response = chat(helix, f"header {name}", headers={name: value})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == name


def test_nan_ttl_cannot_hide_a_keys_spend(priced: Helix) -> None:
    key = add_key(priced, "app", budget=1000.0)
    other = add_key(priced, "other")
    assert chat(priced, "poison", key, {"x-helix-cache-ttl": "nan"}).status_code == 400
    assert chat(priced, "paid for", key).status_code == 200
    assert chat(priced, "neighbour", other).status_code == 200
    rows = priced.rows("SELECT status, cost_usd FROM requests ORDER BY ts")
    assert [r["status"] for r in rows] == [400, 200, 200]
    assert all(r["cost_usd"] > 0 for r in rows[1:])


def test_a_failing_row_does_not_take_its_batch_with_it(priced: Helix) -> None:
    key = add_key(priced, "app", budget=1000.0)
    conn = sqlite3.connect(priced.db_path)
    # Any row can fail for reasons of its own (a constraint, a full disk on a big blob): make every cache
    # entry fail while request-log rows of the same batches must still land.
    conn.execute("CREATE TRIGGER refuse_cache BEFORE INSERT ON cache_entries BEGIN SELECT RAISE(ABORT, 'refused'); END")
    conn.close()
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda i: chat(priced, f"question {i}", key), range(16)))
    assert [r.status_code for r in responses] == [200] * 16
    charged = sum(float(r.headers["x-helix-cost-usd"]) for r in responses)
    rows = priced.rows("SELECT count(*) AS n, sum(cost_usd) AS spend FROM requests WHERE status = 200")
    assert rows[0]["n"] == 16 and rows[0]["spend"] == pytest.approx(charged)
    assert priced.gateway.writer.dropped == {"cache_entries": 16}
    stats = httpx.get(f"{priced.url}/admin/stats", headers={"authorization": f"Bearer {ADMIN}"}, timeout=10).json()
    assert stats["dropped_writes"] == {"cache_entries": 16}
    assert [(f["target"], f["rows"]) for f in stats["write_failures"]] == [("cache_entries", 16)]
    assert "refused" in stats["write_failures"][0]["last_error"]
    config = load_config(None, env={"HELIX_STORAGE__PATH": str(priced.db_path)})
    (writes,) = [c for c in run_checks(config, {}, None) if c.name == "writes"]
    assert writes.level == "warn" and "16 cache_entries" in writes.detail


def test_writer_waits_out_a_lock_held_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    connect(path).close()
    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        locked.set()
        release.wait(10)
        other.execute("COMMIT")
        other.close()

    async def scenario() -> Writer:
        # A busy timeout far shorter than the lock is held: only retrying can save the rows.
        writer = Writer(path, busy_timeout_ms=100, retry_seconds=10)
        await writer.start()
        holder = threading.Thread(target=hold_lock)
        holder.start()
        locked.wait(5)
        for i in range(3):
            writer.submit(
                "INSERT INTO requests (id, ts, endpoint, status, cost_usd) VALUES (?, ?, 'chat', 200, 1)",
                (
                    f"r{i}",
                    time.time(),
                ),
            )
        loop = asyncio.get_running_loop()
        loop.call_later(1.0, release.set)
        await writer.flush()
        await writer.close()
        holder.join()
        return writer

    writer = asyncio.run(scenario())
    assert writer.dropped == {}
    assert sqlite3.connect(path).execute("SELECT sum(cost_usd) FROM requests").fetchone()[0] == 3


# A row the database refuses, and one the driver cannot even bind (Python's sqlite3 raises OverflowError,
# not one of its own errors, for an integer wider than 64 bits).
@pytest.mark.parametrize(("bad_ts", "error"), [(None, "NOT NULL"), (10**30, "too large")])
def test_writer_records_rows_it_gives_up_on(tmp_path: Path, bad_ts: int | None, error: str) -> None:
    path = tmp_path / "bad.db"
    connect(path).close()
    insert = "INSERT INTO requests (id, ts, endpoint, status) VALUES (?, ?, 'chat', 200)"

    async def scenario() -> Writer:
        writer = Writer(path)
        await writer.start()
        writer.submit(insert, ("a", 1))
        writer.submit(insert, ("b", bad_ts))
        writer.submit(insert, ("c", 3))
        await writer.close()
        return writer

    writer = asyncio.run(scenario())
    assert writer.dropped == {"requests": 1} and error in (writer.last_error or "")
    conn = sqlite3.connect(path)
    assert [r[0] for r in conn.execute("SELECT id FROM requests ORDER BY id")] == ["a", "c"]
    assert conn.execute("SELECT target, rows FROM write_failures").fetchall() == [("requests", 1)]


def test_a_flush_with_a_timeout_gives_up_waiting_but_not_writing(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    connect(path).close()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")

    async def scenario() -> tuple[bool, bool]:
        writer = Writer(path, busy_timeout_ms=50, retry_seconds=10)
        await writer.start()
        writer.submit("INSERT INTO requests (id, ts, endpoint, status) VALUES ('late', 1, 'chat', 200)", ())
        gave_up = await writer.flush(timeout=0.3)
        other.execute("COMMIT")
        committed = await writer.flush(timeout=10)
        await writer.close()
        return gave_up, committed

    assert asyncio.run(scenario()) == (False, True)
    assert sqlite3.connect(path).execute("SELECT id FROM requests").fetchall() == [("late",)]


def _nice_by_thread() -> dict[int, int]:
    """This process's threads and their nice values (/proc/self/task/<tid>/stat, field 19)."""
    found = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            found[int(task.name)] = int((task / "stat").read_text().rsplit(")", 1)[1].split()[16])
        except (OSError, IndexError):
            continue  # the thread ended meanwhile
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="nice values per thread are Linux's")
def test_the_writer_thread_runs_nicer_than_the_event_loop(tmp_path: Path) -> None:
    path = tmp_path / "nice.db"
    connect(path).close()

    async def scenario() -> tuple[dict[int, int], int]:
        before = _nice_by_thread()
        writer = Writer(path)
        await writer.start()
        try:
            writer.submit("INSERT INTO requests (id, ts, endpoint, status) VALUES ('n', 1, 'chat', 200)", ())
            await writer.flush(timeout=10)
            started = {tid: nice for tid, nice in _nice_by_thread().items() if tid not in before}
        finally:
            await writer.close()
        return started, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    started, loop_nice = asyncio.run(scenario())
    assert list(started.values()) == [min(19, loop_nice + WRITER_NICE_STEPS)]
    assert sqlite3.connect(path).execute("SELECT id FROM requests").fetchall() == [("n",)]


def test_a_commit_offers_the_core_between_chunks_of_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer's thread steps aside every WRITE_CHUNK_ROWS rows, inside the transaction, so a request that
    arrives during a large commit waits for one chunk, not for the whole batch."""
    path = tmp_path / "chunks.db"
    connect(path).close()
    seen = sqlite3.connect(path, check_same_thread=False)  # another connection: sees what is committed
    mine: list[sqlite3.Connection] = []
    offered: list[tuple[int, int]] = []  # (rows in the open transaction, rows committed) at each offer

    def offer() -> None:
        offered.append((mine[0].execute("SELECT count(*) FROM requests").fetchone()[0], _committed(seen)))

    monkeypatch.setattr(db, "offer_core", offer)
    rows = [(f"r{i}", i, "chat", 200) for i in range(2 * WRITE_CHUNK_ROWS + 3)]

    async def scenario() -> None:
        conn = await WriterConnection.open(path, 5000)
        mine.append(conn._conn)
        try:
            await conn.write([("INSERT INTO requests (id, ts, endpoint, status) VALUES (?, ?, ?, ?)", rows)])
        finally:
            await conn.close()

    asyncio.run(scenario())
    chunk = WRITE_CHUNK_ROWS
    assert offered == [(chunk, 0), (2 * chunk, 0), (len(rows), 0)]
    assert _committed(seen) == len(rows)


def _committed(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM requests").fetchone()[0])


def test_a_full_disk_refuses_budgeted_requests_rather_than_lose_their_spend(priced: Helix) -> None:
    """On a full disk, budgeted requests were answered and their reservation and log rows dropped: after a restart the
    key had spent nothing of it (faults round 21). They are refused (503) until a write lands again."""
    key, filler = add_key(priced, "app", budget=1000.0), add_key(priced, "filler")
    assert chat(priced, "before", key).status_code == 200
    priced.flush()
    writer = priced.gateway.writer
    (pages,) = priced.server.run(writer._conn.execute("PRAGMA page_count"))[0]  # type: ignore[union-attr]
    # The file can grow no more: SQLite's own page limit gives the SQLITE_FULL a full disk gives.
    priced.server.run(writer._conn.execute(f"PRAGMA max_page_count = {pages}"))  # type: ignore[union-attr]
    for i in range(400):  # until not even a log row fits in the pages the file has
        assert chat(priced, f"filling {i} " + "words " * 40, filler).status_code == 200
        priced.flush()
        if writer.dropped.get("requests") and writer.unwritable is not None:
            break
    assert writer.unwritable is not None and "full" in writer.unwritable
    refused = chat(priced, "under a budget", key)
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "database_unavailable" and "disk" in refused.json()["error"]["message"]

    priced.server.run(writer._conn.execute("PRAGMA max_page_count = 1073741823"))  # type: ignore[union-attr]
    chat(priced, "after space was freed", filler)  # its log row lands: the file takes writes again
    priced.flush()
    assert writer.unwritable is None
    answered = chat(priced, "under a budget, again", key)
    assert answered.status_code == 200, answered.text
    priced.flush()
    spent = priced.rows(
        "SELECT count(*) AS n, sum(cost_usd) AS spend FROM requests JOIN keys ON keys.id = requests.key_id"
        " WHERE keys.name = 'app' AND status = 200"
    )
    assert spent[0]["n"] == 2 and spent[0]["spend"] > 0  # every budgeted answer's spend on disk

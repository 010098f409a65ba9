"""Every store concept on both backends (`database`: a SQLite file, then a PostgreSQL schema): the same
functions and the same SQL, so the same answers."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from helix.cache import entries
from helix.cache.index import sign_bits
from helix.dburl import Location, PostgresUrl, is_shared
from helix.pii import incidents
from helix.store import (
    budget_spend,
    migrations,
    queries,
    rate_buckets,
    request_log,
    reservations,
    series,
    sessions,
    spend,
)
from helix.store import keys as key_store
from helix.store.budget_spend import Budget
from helix.store.db import Connection, connect
from helix.store.instance import get_or_create
from helix.store.pg import ConnectionLost
from helix.store.writer import Writer
from helix.virtual_keys import KeyExists, KeySpec
from tests.postgres import named, terminate

Statement = tuple[str, tuple[Any, ...]]


def _known(request_id: str, ts: float, key_id: str | None, cost: float, **more: Any) -> dict[str, Any]:
    known = {
        "id": request_id,
        "ts": ts,
        "endpoint": "chat",
        "key_id": key_id,
        "stream": 0,
        "status": 200,
        "cost_usd": cost,
    }
    return {**known, **more}


def _log_row(request_id: str, ts: float, key_id: str | None, cost: float, **more: Any) -> tuple[Any, ...]:
    return request_log.row(_known(request_id, ts, key_id, cost, **more))


def _write(location: Location, rows: list[tuple[str, tuple[Any, ...]]]) -> Writer:
    async def run() -> Writer:
        writer = Writer(location)
        await writer.start()
        for sql, params in rows:
            writer.submit(sql, params)
        await writer.close()
        return writer

    return asyncio.run(run())


def test_migrations_are_named_recorded_and_run_once(database: Location) -> None:
    connect(database).close()
    conn = connect(database)
    try:
        names = migrations.applied(conn)
        expected = [name for name, _ in migrations.migrations(is_shared(database))]
        assert names == sorted(expected)
        assert migrations.migrate(conn, postgres=is_shared(database)) == []
    finally:
        conn.close()


def test_keys_their_version_and_spend(database: Location) -> None:
    conn = connect(database)
    try:
        before = key_store.version(conn)
        record, secret = key_store.create(conn, "alice", KeySpec(budget=2.0, rpm=10, models=("gpt-*",)))
        assert key_store.version(conn) > before
        with pytest.raises(KeyExists):
            key_store.create(conn, "alice", KeySpec())
        found = key_store.find(conn, "alice")
        assert found.hash == key_store.hash_secret(secret) and found.spec.models == ("gpt-*",)
        changed = key_store.version(conn)
        key_store.update(conn, "alice", {"budget": 3.0})
        assert key_store.version(conn) > changed and key_store.find(conn, "alice").spec.budget == 3.0
        now = time.time()
        for sql, params in [
            (request_log.INSERT, _log_row("r1", now, record.id, 0.25, user="u1")),
            (request_log.INSERT, _log_row("r2", now, record.id, 0.5, user="u2")),
            (request_log.INSERT, _log_row("r3", now, None, 1.0, user="u1")),
        ]:
            conn.execute(sql, params)
        assert spend.key_spend(conn, record.id, now - 1) == pytest.approx(0.75)
        assert spend.user_spend(conn, None, now - 1) == {"u1": pytest.approx(1.0)}
        [row] = spend.report(conn, key_store.list_keys(conn), now)
        assert row["requests"] == 2 and row["budget_used"] == pytest.approx(0.25)
        assert [u["user"] for u in spend.top_users(conn, record.id, now - 1)] == ["u2", "u1"]
        assert spend.claim_alert(conn, ("key:x", 0.0, 50, now, 1.0, 2.0, None))
        assert not spend.claim_alert(conn, ("key:x", 0.0, 50, now, 1.0, 2.0, None))  # another's to announce
        assert spend.alerts_sent(conn, "key:x", 0.0) == {50}
        key_store.revoke(conn, "alice")
        assert key_store.list_keys(conn) == [] and len(key_store.all_keys(conn)) == 1
    finally:
        conn.close()


def test_spend_counts_are_whole_numbers_on_every_backend(database: Location) -> None:
    """PostgreSQL sums integers as `numeric`: read as floats, `helix spend --json` said 120.0 tokens."""
    conn = connect(database)
    try:
        now = time.time()
        for i, tokens in enumerate((100, 20)):
            row = _log_row(f"t{i}", now, None, 0.5, model="m", prompt_tokens=tokens, completion_tokens=tokens * 2)
            conn.execute(request_log.INSERT, row)
        [row] = queries.spend("model", now - 60).rows(conn)
        counts = {k: row[k] for k in ("requests", "errors", "cache_hits", "prompt_tokens", "completion_tokens")}
        assert counts == {"requests": 2, "errors": 0, "cache_hits": 0, "prompt_tokens": 120, "completion_tokens": 240}
        assert all(type(v) is int for v in counts.values()), counts
        assert row["cost"] == pytest.approx(1.0) and type(row["cost"]) is float
    finally:
        conn.close()


def test_the_log_row_settles_its_reservation_through_the_writer(database: Location) -> None:
    connect(database).close()
    now = time.time()
    reservation = reservations.of(_known("r1", now, None, 0.0), 0.4)
    writer = _write(
        database,
        [
            (reservations.INSERT, reservation),
            (request_log.INSERT, _log_row("r1", now, None, 0.3, helix_headers='{"x": 1}')),
        ],
    )
    assert writer.written == 2 and not writer.dropped
    conn = connect(database)
    try:
        assert conn.execute("SELECT count(*) FROM reservations").fetchone()[0] == 0
        assert conn.execute("SELECT helix_headers FROM requests WHERE id = ?", ("r1",)).fetchone()[0] == '{"x": 1}'
    finally:
        conn.close()


def test_a_duplicate_row_is_dropped_alone_and_recorded(database: Location) -> None:
    connect(database).close()
    now = time.time()
    row = _log_row("same", now, None, 0.1)
    writer = _write(
        database,
        [(request_log.INSERT, row), (request_log.INSERT, row), (request_log.INSERT, _log_row("b", now, None, 0.1))],
    )
    assert writer.written == 2 + 1  # two rows and the failure record
    assert writer.dropped == {"requests": 1}


def _spend_row(conn: Connection, budget: Budget) -> tuple[float, Any] | None:
    found = budget_spend.current(conn, budget)
    return None if found is None else (found[0], pytest.approx(found[1]))


def test_budget_reservations_are_atomic_across_connections(database: Location) -> None:
    """Twenty admissions at once against room for five: exactly five reservations are taken; the running
    spend then follows what the log charges and what deleted reservations release."""
    conn = connect(database)
    record, _ = key_store.create(conn, "team", KeySpec(budget=1.0))
    conn.execute(request_log.INSERT, _log_row("before", time.time(), record.id, 0.2))  # spent before any admission
    conn.close()
    now = time.time()
    budget = budget_spend.of_key(record.id, "day", now - 60, 1.0)

    def admit(i: int) -> bool:
        own = connect(database, migrate=False)
        try:
            row = reservations.of(_known(f"q{i}", now, record.id, 0.0), 0.2, (budget,), 0.01)
            refused, _ = reservations.reserve_within(own, row, (budget,), 0.01)
            return refused is None
        finally:
            own.close()

    with ThreadPoolExecutor(8) as pool:
        taken = [i for i, ok in zip(range(20), pool.map(admit, range(20)), strict=True) if ok]
    assert len(taken) == 4  # 0.2 spent + 4 x 0.2 reserved
    conn = connect(database)
    try:
        assert conn.execute("SELECT count(*) FROM reservations").fetchone()[0] == 4
        assert _spend_row(conn, budget) == (0.2, 0.8)
        conn.execute(request_log.INSERT, _log_row(f"q{taken[0]}", now, record.id, 0.1))  # settled at its cost
        assert _spend_row(conn, budget) == (pytest.approx(0.3), 0.6)
        conn.execute(reservations.DELETE, (f"q{taken[1]}",))  # cancelled: released, nothing charged
        assert _spend_row(conn, budget) == (pytest.approx(0.3), 0.4)
        late = reservations.of(_known("late", now, record.id, 0.0), 0.2, (budget,), 0.01)
        refused, found = reservations.reserve_within(conn, late, (budget,), 0.01)
        assert refused is None and found == [(pytest.approx(0.3), pytest.approx(0.6))]
        greedy = reservations.of(_known("greedy", now, record.id, 0.0), 0.5, (budget,), 0.2)
        refused, found = reservations.reserve_within(conn, greedy, (budget,), 0.2)
        assert refused == budget and found == [(pytest.approx(0.3), pytest.approx(0.6))]
        assert conn.execute("SELECT count(*) FROM reservations WHERE id = 'greedy'").fetchone()[0] == 0
    finally:
        conn.close()


def test_per_user_budgets_hold_through_the_same_rows(database: Location) -> None:
    """A per-user budget is a budget_spend row like a key's: seeded from the user's logged spend, checked in
    the same transaction as the key's, and forgotten when the rule goes (counted afresh when it returns)."""
    conn = connect(database)
    record, _ = key_store.create(conn, "shop", KeySpec(budget=10.0))
    now = time.time()
    conn.execute(request_log.INSERT, _log_row("old", now, record.id, 0.3, user="alice"))
    key = budget_spend.of_key(record.id, "day", now - 60, 10.0)
    alice = budget_spend.of_user(record.id, "alice", "day", now - 60, 0.5)
    bob = budget_spend.of_user(record.id, "bob", "day", now - 60, 0.5)
    keyless = budget_spend.of_user(None, "alice", "day", now - 60, 0.5)

    def admit(request_id: str, *budgets: Budget, user: str | None = None, cost: float = 0.1) -> Budget | None:
        row = reservations.of(_known(request_id, now, budgets[0].key_id, 0.0, user=user), cost, budgets, 0.01)
        refused, _ = reservations.reserve_within(conn, row, budgets, 0.01)
        return refused

    try:
        assert admit("a1", key, alice, user="alice", cost=0.2) is None  # 0.3 spent, 0.2 reserved: all of it
        assert admit("a2", key, alice, user="alice") == alice  # refused ...
        assert _spend_row(conn, key) == (0.3, 0.2)  # ... and the key's reservation rolled back with it
        assert admit("b1", key, bob, user="bob", cost=0.4) is None  # another user, another row
        assert admit("k1", keyless, user="alice", cost=0.4) is None  # keyless alice is not the key's alice
        assert _spend_row(conn, alice) == (0.3, 0.2)
        conn.execute(request_log.INSERT, _log_row("a1", now, record.id, 0.05, user="alice"))
        assert _spend_row(conn, alice) == (pytest.approx(0.35), 0.0)
        assert _spend_row(conn, key) == (pytest.approx(0.35), 0.4)

        budget_spend.forget(conn, [budget_spend.user_prefix(record.id, "day")])  # the key's user rule went
        assert _spend_row(conn, alice) is None and _spend_row(conn, bob) is None
        assert _spend_row(conn, key) is not None and _spend_row(conn, keyless) is not None
        conn.execute(request_log.INSERT, _log_row("free", now, record.id, 0.2, user="alice"))  # no rule: no hold
        assert admit("a3", key, alice, user="alice") == alice  # the rule is back: 0.55 spent, from the log
        assert _spend_row(conn, alice) == (pytest.approx(0.55), 0.0)

        later = budget_spend.of_user(record.id, "alice", "day", now, 1.0)  # the next period: a row of its own
        assert admit("a4", key, later, user="alice") is None
        assert _spend_row(conn, later) == (pytest.approx(0.55), 0.1)  # (every request here is after its start)
        assert _spend_row(conn, alice) is None  # the earlier period's row is gone
    finally:
        conn.close()


def test_a_first_admission_counts_a_request_settling_meanwhile_once(database: Location) -> None:
    """A budget's row is seeded while another connection's log row is settling one of its reservations: the
    seed waits for that commit, so the request counts once, at its cost (not at its estimate, nor twice)."""
    conn = connect(database)
    record, _ = key_store.create(conn, "team", KeySpec(budget=1.0))
    now = time.time()
    old = budget_spend.of_key(record.id, "day", now - 120, 1.0)
    budget = budget_spend.of_key(record.id, "day", now - 60, 1.0)
    held = reservations.of(_known("r", now, record.id, 0.0), 0.4, (old,), 0.01)
    assert reservations.reserve_within(conn, held, (old,), 0.01)[0] is None
    conn.execute("UPDATE reservations SET key_period_start = ?", (budget.start,))  # as if made in this period
    conn.close()

    writer = connect(database, migrate=False)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute(request_log.INSERT, _log_row("r", now, record.id, 0.1))  # settles, not committed yet

    def admit() -> list[tuple[float, float]]:
        own = connect(database, migrate=False)
        try:
            row = reservations.of(_known("next", now, record.id, 0.0), 0.2, (budget,), 0.01)
            return reservations.reserve_within(own, row, (budget,), 0.01)[1]
        finally:
            own.close()

    with ThreadPoolExecutor(1) as pool:
        admitted = pool.submit(admit)
        time.sleep(0.5)  # the admission is waiting for the settlement's lock by now (or starts after it)
        writer.execute("COMMIT")
        found = admitted.result(timeout=30)
    writer.close()
    assert found == [(pytest.approx(0.1), pytest.approx(0.2))]
    conn = connect(database, migrate=False)
    try:
        assert _spend_row(conn, budget) == (pytest.approx(0.1), 0.2)
    finally:
        conn.close()


def test_rows_of_ended_periods_go_with_the_next_seed(database: Location) -> None:
    """Running-spend rows of a period that has ended (a key gone quiet, an end user who never came back) are
    dropped by the next budget seeded anywhere; current and total budgets keep theirs."""
    conn = connect(database)
    now = time.time()
    quiet, _ = key_store.create(conn, "quiet", KeySpec(budget=1.0))
    busy, _ = key_store.create(conn, "busy", KeySpec(budget=1.0))
    lifetime, _ = key_store.create(conn, "lifetime", KeySpec(budget=1.0, period="total"))
    yesterday = budget_spend.of_key(quiet.id, "day", now - 2 * 86400, 1.0, now - 86400)
    its_user = budget_spend.of_user(quiet.id, "alice", "day", now - 2 * 86400, 1.0, now - 86400)
    total = budget_spend.of_key(lifetime.id, "total", 0.0, 1.0)
    today = budget_spend.of_key(busy.id, "day", now - 60, 1.0, now + 86400)

    def admit(request_id: str, *budgets: Budget) -> None:
        row = reservations.of(_known(request_id, now, budgets[0].key_id, 0.0, user="alice"), 0.1, budgets, 0.01)
        assert reservations.reserve_within(conn, row, budgets, 0.01)[0] is None

    def rows(budget: Budget) -> list[int]:
        return [
            conn.execute(f"SELECT count(*) FROM {table} WHERE subject = ?", (budget.subject,)).fetchone()[0]
            for table in ("budget_spend", "budget_settled")
        ]

    try:
        admit("t", total)
        admit("q", yesterday, its_user)  # as by a request admitted just before midnight
        assert rows(yesterday) == rows(its_user) == rows(total) == [1, 1]
        admit("b", today)
        assert rows(yesterday) == rows(its_user) == [0, 0]
        assert rows(total) == rows(today) == [1, 1]
        conn.execute(request_log.INSERT, _log_row("q", now, quiet.id, 0.05, user="alice"))  # settles into nothing
        assert conn.execute("SELECT count(*) FROM reservations WHERE id = 'q'").fetchone()[0] == 0
    finally:
        conn.close()


def test_an_admission_does_not_wait_for_a_settlement_being_committed(pg_url: PostgresUrl) -> None:
    """The writer's transaction (whose commit waits for the disk) charges the settled side of a budget, not the
    row admissions take from: an admission of the same key goes through while it is open."""
    conn = connect(pg_url)
    record, _ = key_store.create(conn, "team", KeySpec(budget=1.0))
    now = time.time()
    budget = budget_spend.of_key(record.id, "day", now - 60, 1.0)
    held = reservations.of(_known("r", now, record.id, 0.0), 0.4, (budget,), 0.01)
    assert reservations.reserve_within(conn, held, (budget,), 0.01)[0] is None
    writer = connect(pg_url, migrate=False)
    writer.execute("BEGIN")
    writer.execute(request_log.INSERT, _log_row("r", now, record.id, 0.1))  # settles, not committed yet
    admission = connect(pg_url, migrate=False, busy_timeout_ms=1000)  # "locked" after waiting a second
    try:
        row = reservations.of(_known("next", now, record.id, 0.0), 0.2, (budget,), 0.01)
        refused, found = reservations.reserve_within(admission, row, (budget,), 0.01)
        assert refused is None and found == [(0.0, pytest.approx(0.6))]  # the settlement not seen yet
        writer.execute("COMMIT")
        assert budget_spend.current(admission, budget) == (pytest.approx(0.1), pytest.approx(0.2))
    finally:
        for each in (writer, admission, conn):
            each.close()


def test_dashboard_and_cli_queries(database: Location) -> None:
    conn = connect(database)
    try:
        record, _ = key_store.create(conn, "dash", KeySpec())
        now = time.time()
        rows = [
            _log_row("a", now - 30, record.id, 0.1, cache="MISS", provider="openai", model="m", latency_ms=10.0),
            _log_row("b", now - 20, record.id, 0.0, cache="HIT-EXACT", provider="openai", model="m", latency_ms=2.0),
            _log_row("c", now - 10, None, None, status=429, error_code="budget_exceeded", user="u"),
        ]
        for row in rows:
            conn.execute(request_log.INSERT, row)
        filters = queries.Filters(since=now - 3600)
        totals = queries.stats(filters).rows(conn)[0]
        assert (totals["requests"], totals["errors"], totals["cache_hits"], totals["over_budget"]) == (3, 1, 1, 1)
        by_model = queries.spend("model", filters).rows(conn)
        assert {r["grp"] for r in by_model} == {"openai/m", "(unrouted)"}
        assert queries.spend("day", filters).rows(conn) and queries.spend("hour", filters).rows(conn)
        assert queries.percentile("latency_ms", filters, 0.5).rows(conn)[0]["value"] == 10.0
        recent = queries.recent_requests(2).rows(conn)
        assert [r["id"] for r in recent] == ["b", "c"] and recent[0]["key_name"] == "dash"
        assert [r["id"] for r in queries.requests_after(recent[0]["seq"]).rows(conn)] == ["c"]
        assert queries.count_requests(queries.Filters(since=now - 3600, key_id=record.id)).rows(conn)[0]["n"] == 2
        buckets = series.activity(filters, now - 3600, 60.0).rows(conn)
        assert sum(b["requests"] for b in buckets) == 3 and sum(b["exact"] for b in buckets) == 1
        assert series.busiest_minute(filters).rows(conn)[0]["rpm"] >= 1
        assert series.error_codes(filters).rows(conn)[0]["code"] == "budget_exceeded"
        assert len(series.timings(filters, now - 3600, 60.0).rows(conn)) == 2
    finally:
        conn.close()


def test_pii_incidents_sessions_and_instance_state(database: Location) -> None:
    conn = connect(database)
    try:
        now = time.time()
        conn.execute(
            "INSERT INTO pii_incidents (request_id, ts, key_id, user, entity_type, count, max_score, action)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ("r1", now, None, "u", "EMAIL_ADDRESS", 2, 0.9, "redact"),
        )
        assert incidents.recent(conn, now - 60, 10)[0]["entity_type"] == "EMAIL_ADDRESS"
        assert incidents.totals(conn, now - 60)[0]["values_found"] == 2
        token, expires = sessions.create(conn, 60.0, now)
        assert sessions.expiry(conn, token, now) == pytest.approx(expires)
        assert sessions.revoke(conn, token) and sessions.expiry(conn, token, now) is None
        assert get_or_create(conn, "k", lambda: "first") == "first"
        assert get_or_create(conn, "k", lambda: "second") == "first"
    finally:
        conn.close()


def _vector(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
    return vector / np.linalg.norm(vector)


def test_cache_entries(database: Location) -> None:
    conn = connect(database)
    try:
        first = entries.take_ids(conn, 100)
        assert entries.take_ids(conn, 100) == first + 100  # blocks never overlap
        vector = _vector(1)
        params = entries.insert_params(
            first, b"exact-1", b"part", "scope", "openai/m", "hello", b"answer", vector.tobytes(), sign_bits(vector),
            {"prompt_tokens": 3}, 0.01, 60.0,
        )  # fmt: skip
        conn.execute(entries.INSERT, params)
        replaced = (first + 1, *params[1:6], b"newer", *params[7:])
        conn.execute(entries.INSERT, replaced)  # the same request again: replaces, never conflicts
        found = entries.find_exact(conn, b"exact-1", time.time())
        assert found is not None and (found.id, found.response) == (first + 1, b"newer")
        [candidate] = entries.rescore(conn, [first + 1, 999_999], vector.tobytes(), time.time())
        assert candidate.similarity == pytest.approx(1.0, abs=1e-5)
        [near] = entries.nearest_by_text(conn, vector.tobytes(), 5)
        assert near["prompt"] == "hello"
        [rows] = list(entries.index_rows(conn, time.time()))
        assert rows[0][0] == first + 1 and rows[0][2] == sign_bits(vector)
        assert entries.created_since(conn, time.time(), time.time() - 60) == [
            (first + 1, b"exact-1", b"part", sign_bits(vector))
        ]
        assert entries.created_since(conn, time.time(), time.time() + 1) == []
        assert entries.stats(conn, 0.0)["entries"] == 1
        assert entries.ids_to_evict(conn, time.time(), 0, 10**9) == [first + 1]
        assert [entries.clear(conn, pattern, None) for pattern in ("%", "_", "\\")] == [0, 0, 0]  # names, not patterns
        generation = entries.generation(conn)
        assert entries.clear(conn, "m", None) == 1 and entries.generation(conn) == generation + 1
    finally:
        conn.close()


def test_shared_rate_buckets_never_hand_out_a_unit_twice(database: Location) -> None:
    connect(database).close()
    now = time.time()

    def lease(_: int) -> float:
        own = connect(database, migrate=False)
        try:
            taken, _left = rate_buckets.lease(own, "rpm:k", 100.0, 100.0 / 60, [7.0, 1.0], now)
            return taken
        finally:
            own.close()

    with ThreadPoolExecutor(8) as pool:
        taken = list(pool.map(lease, range(30)))
    assert sum(taken) == 100.0  # 14 chunks of 7, then two single units, then nothing
    conn = connect(database, migrate=False)
    try:
        assert rate_buckets.lease(conn, "rpm:k", 100.0, 100.0 / 60, [1.0], now + 6)[0] == 1.0  # refilled 10
    finally:
        conn.close()


def test_a_postgres_connection_outlives_a_server_side_disconnect(pg_url: PostgresUrl) -> None:
    """A session the server ended while it was idle (a restart, a killed session) is opened again before the
    next statement, which does not fail; a statement in flight when its session goes fails as `ConnectionLost`,
    and the next one reconnects."""
    name = f"helix_reconnect_{secrets.token_hex(4)}"
    conn = connect(named(pg_url, name))
    try:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert terminate(name) == 1
        assert conn.execute("SELECT pg_backend_pid()").fetchone()[0] != pid
        with ThreadPoolExecutor(1) as thread:
            in_flight = thread.submit(conn.execute, "SELECT pg_sleep(5)")
            time.sleep(0.3)
            assert terminate(name) == 1
            with pytest.raises(ConnectionLost):
                in_flight.result()
        assert conn.execute("SELECT 1").fetchone()[0] == 1
    finally:
        conn.close()


def test_an_admission_chosen_as_a_deadlock_victim_while_seeding_is_tried_again(pg_url: PostgresUrl) -> None:
    """Seeding a budget locks its reservations in flight; a transaction that locks two of them in the other
    order (as the log writer settling them can) deadlocks with it, and PostgreSQL aborts one. The admission,
    the usual victim (the other waits longer before it checks), seeds again once the other has committed."""
    conn = connect(pg_url)
    record, _ = key_store.create(conn, "team", KeySpec())
    now = time.time()
    alice = budget_spend.of_user(record.id, "alice", "day", now - 60, 5.0)
    for request_id in ("first", "second"):  # in flight against alice's budget, in this physical order
        row = reservations.of(_known(request_id, now, record.id, 0.0, user="alice"), 0.1, (alice,), 0.01)
        assert reservations.reserve_within(conn, row, (alice,), 0.01)[0] is None
    budget_spend.forget(conn, [budget_spend.user_prefix(record.id, "day")])  # the next admission seeds again

    def admit(own: Connection) -> object:
        row = reservations.of(_known("third", now, record.id, 0.0, user="alice"), 0.1, (alice,), 0.01)
        return reservations.reserve_within(own, row, (alice,), 0.01)[0]

    # The seed locks 'first', then waits for 'second', which the other holds before it wants 'first'.
    lock = "UPDATE reservations SET cost_usd = cost_usd WHERE id = ?"
    assert _as_deadlock_victim(pg_url, admit, (lock, ("second",)), (lock, ("first",))) is None
    assert _spend_row(conn, alice) == (0.0, pytest.approx(0.3))
    conn.close()


def test_forgetting_a_budget_chosen_as_a_deadlock_victim_is_tried_again(pg_url: PostgresUrl) -> None:
    """Forgetting a budget deletes its running-spend row, then its settled row; a transaction holding the settled row
    that then wants the spend row (a seed takes them in that order) deadlocks with it. Forgetting is tried again."""
    conn = connect(pg_url)
    record, _ = key_store.create(conn, "team", KeySpec(budget=5.0))
    now = time.time()
    budget = budget_spend.of_key(record.id, "day", now - 60, 5.0)
    row = reservations.of(_known("first", now, record.id, 0.0), 0.1, (budget,), 0.01)
    assert reservations.reserve_within(conn, row, (budget,), 0.01)[0] is None  # the budget's rows are there

    def forget(own: Connection) -> object:
        return budget_spend.forget(own, [budget_spend.key_prefix(record.id, "day")])

    # Forgetting deletes the spend row, then waits for the settled one, which the other holds before it wants the
    # spend row.
    settled, spend = (f"UPDATE {t} SET spent = spent WHERE subject = ?" for t in ("budget_settled", "budget_spend"))
    assert _as_deadlock_victim(pg_url, forget, (settled, (budget.subject,)), (spend, (budget.subject,))) is None
    assert budget_spend.current(conn, budget) is None
    conn.close()


def _as_deadlock_victim(
    pg_url: PostgresUrl, work: Callable[[Connection], object], first: Statement, then: Statement
) -> object:
    """What `work` returns (or raises) on its own connection while another transaction holds the rows `first` locks
    and, once `work` waits for them, wants those `then` locks: a deadlock whose victim is `work` (the other waits
    5 s before it looks for one, `work` PostgreSQL's default 1 s)."""
    holder = connect(pg_url, migrate=False)
    holder.execute("SET deadlock_timeout = '5s'")
    holder.execute("BEGIN")
    holder.execute(*first)
    outcome: list[object] = []

    def run() -> None:
        own = connect(pg_url, migrate=False)
        try:
            outcome.append(work(own))
        except Exception as exc:
            outcome.append(exc)
        finally:
            own.close()

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(0.5)  # `work` now waits for what `first` locked
    holder.execute(*then)
    holder.execute("COMMIT")
    worker.join(30)
    holder.close()
    return outcome[0] if outcome else TimeoutError("the work did not finish")

"""Helix on PostgreSQL outlives a database restart: its sessions killed (`pg_terminate_backend`), the server
down for a while, a commit cut off before its answer. No row of the request log is lost or written twice,
a request that arrives while the database is down gets a 503 in OpenAI's shape, and everything recovers
on its own when the database is back. The outages go through `tests/pg_proxy.py` and sessions named for
the test, so the PostgreSQL that other tests share is never touched."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest

from helix.cache.index import sign_bits
from helix.cache.response_cache import ResponseCache
from helix.config import CacheConfig
from helix.dburl import PostgresUrl
from helix.store import budget_spend, request_log, reservations
from helix.store import keys as key_store
from helix.store.db import Connection, connect
from helix.store.pg import SLOW_CONNECT_SECONDS, ConnectionLost, outage
from helix.store.writer import SHUTDOWN_SECONDS, Writer
from helix.virtual_keys import KeySpec
from tests.fake_upstream import FakeState, ServerThread
from tests.pg_proxy import PgProxy, proxied, wait_for
from tests.postgres import Cluster, named, own_cluster, terminate
from tests.served import helix_process
from tests.test_scale_out import another_instance_stores

# Dear enough that every request has a visible cost: $1 per thousand tokens either way.
PRICED = '[cache]\nsemantic = false\n[pricing."openai/gpt-4o-mini"]\ninput = 1000.0\noutput = 1000.0\n'


def _log_rows(prefix: str, count: int) -> list[tuple[str, tuple[Any, ...]]]:
    now = time.time()
    known = {"ts": now, "endpoint": "chat", "key_id": None, "stream": 0, "status": 200, "cost_usd": 0.1}
    return [(request_log.INSERT, request_log.row({**known, "id": f"{prefix}{i}"})) for i in range(count)]


def _count(url: PostgresUrl, sql: str, params: tuple[Any, ...] = ()) -> Any:
    conn = connect(url, migrate=False)
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


def _failures(url: PostgresUrl) -> int:
    return int(_count(url, "SELECT count(*) FROM write_failures"))


def _logged(url: PostgresUrl) -> int:
    return int(_count(url, "SELECT count(*) FROM requests"))


async def _write_through(writer: Writer, outage: Any) -> None:
    """Five rows before `outage()`, five during it; then close the writer (which drains it)."""
    await writer.start()
    for sql, params in _log_rows("before", 5):
        writer.submit(sql, params)
    await writer.flush()
    await outage()
    for sql, params in _log_rows("after", 5):
        writer.submit(sql, params)
    await writer.close()


def test_the_writer_outlives_its_session_killed(pg_url: PostgresUrl) -> None:
    connect(pg_url).close()
    name = f"helix_writer_{secrets.token_hex(4)}"
    writer = Writer(named(pg_url, name))

    async def kill() -> None:
        assert terminate(name) == 1

    asyncio.run(_write_through(writer, kill))
    assert writer.dropped == {} and _logged(pg_url) == 10 and _failures(pg_url) == 0


def test_the_writer_waits_for_a_database_that_is_down_for_a_while(pg_url: PostgresUrl) -> None:
    connect(pg_url).close()
    with proxied(pg_url) as proxy:
        writer = Writer(proxy.url)

        async def restart() -> None:
            proxy.down()
            asyncio.get_running_loop().call_later(1.5, proxy.up)  # the rows below are submitted while down

        asyncio.run(_write_through(writer, restart))
    assert writer.dropped == {} and _logged(pg_url) == 10 and _failures(pg_url) == 0


def test_a_batch_whose_commit_was_cut_off_is_written_once(pg_url: PostgresUrl) -> None:
    connect(pg_url).close()
    with proxied(pg_url) as proxy:
        writer = Writer(proxy.url)

        async def cut() -> None:
            proxy.cut_after_commit()

        asyncio.run(_write_through(writer, cut))
        assert proxy.commits_cut == 1
    assert writer.dropped == {} and _logged(pg_url) == 10 and _failures(pg_url) == 0


def test_a_database_down_past_the_retry_deadline_drops_and_counts(pg_url: PostgresUrl) -> None:
    connect(pg_url).close()
    with proxied(pg_url) as proxy:
        writer = Writer(proxy.url, retry_seconds=0.5)

        async def down() -> None:
            proxy.down()

        asyncio.run(_write_through(writer, down))
    assert writer.dropped == {"requests": 5} and _logged(pg_url) == 5


def test_a_connection_does_not_wait_on_a_silent_database_again_and_again(pg_url: PostgresUrl) -> None:
    """Connections used on the event loop must not block it for a connect timeout at every statement."""
    with proxied(pg_url) as proxy:
        conn = connect(proxy.url)
        try:
            proxy.silent()
            started = time.monotonic()
            with pytest.raises(ConnectionLost):  # one attempt waits for the connect timeout
                conn.execute("SELECT 1")
            assert time.monotonic() - started >= SLOW_CONNECT_SECONDS
            started = time.monotonic()
            for _ in range(3):  # then statements fail at once for a while
                with pytest.raises(ConnectionLost):
                    conn.execute("SELECT 1")
            assert time.monotonic() - started < SLOW_CONNECT_SECONDS
        finally:
            conn.close()


def test_a_connection_on_the_event_loop_never_waits_for_a_new_session(pg_url: PostgresUrl) -> None:
    """Its new session is opened in a thread: statements fail at once meanwhile. One that takes long to come
    has the database reported out of reach (`outage`) until a session is had again, which the connection then
    uses; a lost session alone does not (the server may be back already)."""
    with proxied(pg_url) as proxy:
        conn = connect(proxy.url, on_loop=True)
        try:
            assert conn.execute("SELECT 1").fetchone()[0] == 1 and outage(proxy.url) is None
            proxy.silent()
            started = time.monotonic()
            for _ in range(3):  # the new session waits for the connect timeout, in its thread
                with pytest.raises(ConnectionLost):
                    conn.execute("SELECT 1")
            assert time.monotonic() - started < SLOW_CONNECT_SECONDS and outage(proxy.url) is None
            time.sleep(SLOW_CONNECT_SECONDS)
            with pytest.raises(ConnectionLost):
                conn.execute("SELECT 1")
            assert outage(proxy.url) is not None
            proxy.down()
            proxy.up()

            def answers() -> bool:
                try:
                    return bool(conn.execute("SELECT 1").fetchone()[0] == 1)
                except ConnectionLost:
                    return False

            wait_for(answers, 20)
            assert outage(proxy.url) is None
        finally:
            conn.close()


class _CutAfterReserving:
    """A connection whose session goes right after the reservation's INSERT landed: its answer is lost."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        cursor = self._conn.execute(sql, parameters)
        if sql.startswith("INSERT INTO reservations"):
            raise ConnectionLost("the database is unavailable: server closed the connection unexpectedly")
        return cursor


def test_an_admission_cut_off_takes_its_reservation_back(pg_url: PostgresUrl) -> None:
    """The request is refused (503), so a reservation that landed must not hold its estimate."""
    conn = connect(pg_url)
    try:
        now = time.time()
        budget = budget_spend.of_key("k", "day", now - 60, 1.0)
        known = {"ts": now, "endpoint": "chat", "key_id": "k", "stream": 0, "status": 200, "cost_usd": 0.0}
        first = reservations.of({**known, "id": "first"}, 0.2, (budget,), 0.01)
        assert reservations.reserve_within(conn, first, (budget,), 0.01)[0] is None  # the budget's row is there
        cut = reservations.of({**known, "id": "cut"}, 0.3, (budget,), 0.01)
        with pytest.raises(ConnectionLost):
            reservations.reserve_within(_CutAfterReserving(conn), cut, (budget,), 0.01)  # type: ignore[arg-type]
        assert [r[0] for r in conn.execute("SELECT id FROM reservations").fetchall()] == ["first"]
        assert budget_spend.current(conn, budget) == (0.0, pytest.approx(0.2))
    finally:
        conn.close()


def _client(base: str, secret: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base}/v1", api_key=secret, max_retries=0, timeout=30)


def _ask(client: openai.OpenAI, prompt: str) -> Any:
    return client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}], max_tokens=20
    )


def _spent(url: PostgresUrl, key_id: str) -> float:
    return float(_count(url, "SELECT coalesce(sum(cost_usd), 0) FROM requests WHERE key_id = ?", (key_id,)))


def _serve(tmp_path: Path, upstream: ServerThread, url: PostgresUrl) -> Any:
    return helix_process(tmp_path, upstream.url, PRICED, storage=str(url), graceful=True)


def test_a_served_helix_outlives_its_sessions_killed_and_a_restart(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], pg_url: PostgresUrl
) -> None:
    conn = connect(pg_url)
    _, bob_secret = key_store.create(conn, "bob", KeySpec())
    _, carol_secret = key_store.create(conn, "carol", KeySpec(budget=1e6))
    _, dave_secret = key_store.create(conn, "dave", KeySpec())
    conn.close()
    name = f"helix_served_{secrets.token_hex(4)}"
    with proxied(pg_url) as proxy, _serve(tmp_path, upstream[0], named(proxy.url, name)) as (base, _):
        bob, carol, dave = (_client(base, secret) for secret in (bob_secret, carol_secret, dave_secret))
        others: list[float] = []  # the costs of the answers to bob, carol and dave
        assert _status(bob, others) == 200
        one = others[0]  # what a question costs (they are all alike)
        conn = connect(pg_url, migrate=False)
        alice, alice_secret = key_store.create(conn, "alice", KeySpec(budget=6.5 * one))  # room for about six
        conn.close()
        alice_client, costs = _client(base, alice_secret), []
        wait_for(lambda: _status(alice_client, costs) == 200)
        assert _status(carol, others) == 200

        # Every session of the instance killed, as a restart does; then a revoke it must see.
        assert terminate(name) >= 2
        conn = connect(pg_url, migrate=False)
        key_store.revoke(conn, "bob")
        conn.close()
        codes = [_status(alice_client, costs) for _ in range(10)]
        assert set(codes) == {200, 429} and codes.index(429) == codes.count(200), codes
        wait_for(lambda: _status(bob, others) == 401, 10)

        # The database down: a request that needs it (a budget's admission) gets a 503 in OpenAI's shape at
        # once; one that does not is answered, and logged once the database is back. Service comes back with
        # the database, on its own.
        proxy.down()
        assert _status(dave, others) == 200
        assert httpx.get(f"{base}/metrics").status_code == 200  # what is in memory is still worth scraping
        for _ in range(4):  # each on whichever of the instance's sessions
            started = time.monotonic()
            with pytest.raises(openai.APIStatusError) as refused:
                _ask(carol, "while the database is down")
            assert refused.value.status_code == 503 and time.monotonic() - started < 10
            assert refused.value.body["code"] == "database_unavailable"  # type: ignore[index]
        anthropic_shaped = httpx.post(
            f"{base}/v1/messages",
            headers={"x-api-key": carol_secret, "anthropic-version": "2023-06-01"},
            json={"model": "gpt-4o-mini", "max_tokens": 20, "messages": [{"role": "user", "content": "down?"}]},
        )
        assert anthropic_shaped.status_code == 503, anthropic_shaped.text
        assert anthropic_shaped.json()["error"]["type"] == "overloaded_error"
        proxy.up()
        wait_for(lambda: _status(carol, others) == 200, 20)
        assert [_status(carol, others) for _ in range(8)] == [200] * 8
        conn = connect(pg_url, migrate=False)
        key_store.revoke(conn, "carol")  # the key ring's poll is back too
        conn.close()
        wait_for(lambda: _status(carol, others) == 401, 10)

    logged = int(_count(pg_url, "SELECT count(*) FROM requests WHERE status = 200"))
    assert logged == len(costs) + len(others) and _failures(pg_url) == 0
    assert _spent(pg_url, alice.id) == pytest.approx(sum(costs)) and sum(costs) <= 7.5 * one


def _cost(response: Any) -> float:
    assert response.http_response.status_code == 200
    return float(response.headers["x-helix-cost-usd"])


def _status(client: openai.OpenAI, costs: list[float] | None = None) -> int:
    """The status of a new question; its cost goes to `costs` when answered."""
    try:
        response = _ask(client, f"question {time.monotonic()}")
    except openai.APIStatusError as exc:
        return exc.status_code
    if costs is not None:
        costs.append(_cost(response))
    return int(response.http_response.status_code)


def test_the_cache_follows_other_instances_again_after_a_restart(pg_url: PostgresUrl) -> None:
    """The housekeeping loop (clears, other instances' entries) outlives polls that fail while the database
    is down, and takes in what was stored meanwhile."""
    connect(pg_url).close()
    vector = np.random.default_rng(7).standard_normal(384).astype(np.float32)

    async def scenario(proxy: PgProxy) -> list[int]:
        cache = ResponseCache(CacheConfig(semantic=False), proxy.url, Writer(proxy.url), embedder=None)
        await cache.start()
        try:
            cache.semantic_ready = True  # no model here: only the index's sync is exercised
            proxy.down()
            await asyncio.sleep(1.2)  # polls fail
            another_instance_stores(pg_url, vector)  # through the database, still there
            await asyncio.sleep(0.6)
            proxy.up()
            await asyncio.sleep(1.2)  # two polls of the housekeeping loop
            return cache._index.nearest(b"partition", sign_bits(vector), 5)
        finally:
            await cache.close()

    with proxied(pg_url) as proxy:
        assert len(asyncio.run(scenario(proxy))) == 1


def _ready(base: str) -> httpx.Response:
    return httpx.get(f"{base}/health/ready", timeout=10)


def _plain_key(url: PostgresUrl) -> str:
    """The secret of a key with no budget and no rate limit: admitted without the database."""
    conn = connect(url)
    try:
        return key_store.create(conn, "plain", KeySpec())[1]
    finally:
        conn.close()


def test_an_instance_is_not_ready_while_its_database_is_out_of_reach(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], pg_url: PostgresUrl
) -> None:
    """A load balancer takes it out while it cannot admit budgeted keys, and back in once it can; it stays
    alive (/health) and answers what needs no database meanwhile."""
    plain = _plain_key(pg_url)
    with proxied(pg_url) as proxy, _serve(tmp_path, upstream[0], proxy.url) as (base, _):
        assert _ready(base).status_code == 200
        client, costs = _client(base, plain), []
        proxy.down()
        started = time.monotonic()
        wait_for(lambda: _ready(base).status_code == 503, 5)  # the key poll finds it within half a second
        noticed = time.monotonic() - started
        body = _ready(base).json()
        assert body["status"] == "not ready" and body["checks"]["database"].startswith("unreachable for"), body
        assert httpx.get(f"{base}/health").status_code == 200
        assert _status(client, costs) == 200
        proxy.up()
        started = time.monotonic()
        wait_for(lambda: _ready(base).status_code == 200, 10)
        back = time.monotonic() - started
        assert _ready(base).json()["checks"]["database"] == "ok"
        assert _status(client, costs) == 200
    assert noticed < 3 and back < 3, (noticed, back)  # ~0.5 s each; generous, the machine is shared
    assert _logged(pg_url) == len(costs) == 2 and _failures(pg_url) == 0


def test_a_silent_database_does_not_stall_the_event_loop(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], pg_url: PostgresUrl
) -> None:
    """A host that takes connections and never answers (a partition): the sessions used on the event loop (the
    key poll, exact cache lookups) reconnect in a thread, so requests that need no database are answered at
    once, not after a connect timeout."""
    plain = _plain_key(pg_url)
    with proxied(pg_url) as proxy, _serve(tmp_path, upstream[0], proxy.url) as (base, _):
        client, costs = _client(base, plain), []
        assert _status(client, costs) == 200
        proxy.silent()
        slowest = 0.0
        until = time.monotonic() + 3  # the key poll turns six times, each new session waits 5 s for an answer
        while time.monotonic() < until:
            started = time.monotonic()
            assert _status(client, costs) == 200
            assert httpx.get(f"{base}/health").status_code == 200
            slowest = max(slowest, time.monotonic() - started)
        assert slowest < 1.0, slowest
        assert _ready(base).status_code == 503
        proxy.down()
        proxy.up()
        wait_for(lambda: _ready(base).status_code == 200, 20)
        assert _status(client, costs) == 200
    assert _logged(pg_url) == len(costs) and _failures(pg_url) == 0


def test_a_shutdown_while_the_database_is_down_is_bounded(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], pg_url: PostgresUrl
) -> None:
    """SIGTERM with log rows queued and the database refusing: the process exits within SHUTDOWN_SECONDS (not
    after RETRY_SECONDS per batch), and says on stderr what it could not write."""
    plain = _plain_key(pg_url)
    with proxied(pg_url) as proxy, _serve(tmp_path, upstream[0], proxy.url) as (base, process):
        client = _client(base, plain)
        assert _status(client) == 200
        wait_for(lambda: _logged(pg_url) == 1)
        proxy.down()
        assert _status(client) == 200  # its row waits for the database
        started = time.monotonic()
        process.terminate()
        output = process.communicate(timeout=SHUTDOWN_SECONDS + 30)[0]
        took = time.monotonic() - started
    assert "1 requests row(s) to the database: the database stayed unreachable until the shutdown" in output, output
    assert took < SHUTDOWN_SECONDS + 10, took
    assert _logged(pg_url) == 1


@pytest.mark.parametrize("outage", ["down", "silent"])
def test_the_writer_closes_in_time_while_the_database_is_out_of_reach(pg_url: PostgresUrl, outage: str) -> None:
    """Refused or unanswered, the rows it could not write are counted, and closing takes its timeout, not a
    connect timeout or RETRY_SECONDS."""
    connect(pg_url).close()
    with proxied(pg_url) as proxy:
        writer = Writer(proxy.url)
        took: list[float] = []

        async def go_and_close() -> None:
            getattr(proxy, outage)()

        async def scenario() -> None:
            await writer.start()
            for sql, params in _log_rows("lost", 5):
                writer.submit(sql, params)
            await go_and_close()
            started = time.monotonic()
            await writer.close(timeout=0.5)
            took.append(time.monotonic() - started)

        asyncio.run(scenario())
    assert writer.dropped == {"requests": 5} and took[0] < 2.0, took
    assert _logged(pg_url) == 0


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with own_cluster() as started:
        yield started


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_a_served_helix_outlives_a_real_postgresql_restart(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], cluster: Cluster, mode: str
) -> None:
    """`pg_ctl restart` of a server of the test's own: `-m fast` (sessions told and closed) and `-m immediate`
    (a crash, then recovery). The requests after it are answered as those before (a budgeted key's admission
    included), and every answered request is in the log with its cost, none written twice, none failed."""
    conn = connect(cluster.url)
    carol, carol_secret = key_store.create(conn, "carol", KeySpec(budget=1e6))
    _, dave_secret = key_store.create(conn, "dave", KeySpec())
    conn.close()
    with _serve(tmp_path, upstream[0], cluster.url) as (base, _):
        budgeted, plain = _client(base, carol_secret), _client(base, dave_secret)
        costs: list[float] = []  # carol's
        others: list[float] = []
        for _ in range(3):
            assert (_status(budgeted, costs), _status(plain, others)) == (200, 200)
        cluster.restart(mode)
        codes = [(_status(budgeted, costs), _status(plain, others)) for _ in range(5)]
        assert codes == [(200, 200)] * 5, (codes, cluster.log()[-2000:])
        wait_for(lambda: _ready(base).status_code == 200, 10)
    assert _count(cluster.url, "SELECT count(*) FROM requests WHERE status = 200") == len(costs) + len(others) == 16
    assert _count(cluster.url, "SELECT count(DISTINCT id) FROM requests") == 16
    assert _spent(cluster.url, carol.id) == pytest.approx(sum(costs)) and _failures(cluster.url) == 0

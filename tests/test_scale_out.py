"""Three `helix serve` processes on one PostgreSQL database behave as one gateway: a key's budget and an end
user's hold across them, a revoked key stops working on all of them, an answer cached by one is a hit on
another, and `helix cache clear` empties them all. Plus the semantic index of one instance taking in
another's entries."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import numpy as np
import pytest

from helix.cache import entries
from helix.cache.fingerprint import Fingerprint
from helix.cache.index import sign_bits
from helix.cache.response_cache import ResponseCache
from helix.commands.workers import helix_command
from helix.config import CacheConfig
from helix.dburl import PostgresUrl
from helix.store import keys as key_store
from helix.store.db import Connection, connect
from helix.store.writer import Writer
from helix.virtual_keys import KeySpec
from tests.conftest import isolated_env, serve_process, wait_until_healthy
from tests.fake_upstream import FakeState, ServerThread
from tests.served import helix_process
from tests.test_cli import free_port

INSTANCES = 3
RPM = 60
ADMIN_KEY = "adm-fleet-0123456789"
# Dear enough that every request has a visible cost: $1 per thousand tokens either way.
INSTANCE_TOML = (
    '[cache]\nsemantic = false\n[pricing."openai/gpt-4o-mini"]\ninput = 1000.0\noutput = 1000.0\n'
    f'[auth]\nadmin_key = "{ADMIN_KEY}"\n'
)


def _live(base: str, name: str) -> dict[str, float]:
    headers = {"authorization": f"Bearer {ADMIN_KEY}"}
    answer = httpx.get(f"{base}/admin/keys/{name}", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    live: dict[str, float] = answer.json()["live"]
    return live


def _ask(base: str, secret: str, prompt: str) -> httpx.Response:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}], "max_tokens": 20}
    return httpx.post(f"{base}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {secret}"})


async def _burst(bases: list[str], secret: str, count: int, user: str | None = None) -> list[httpx.Response]:
    """`count` different questions at once, spread over the instances (from end user `user`, if given)."""
    async with httpx.AsyncClient(timeout=60) as client:
        body = {"model": "gpt-4o-mini", "max_tokens": 20, **({"user": user} if user else {})}
        return await asyncio.gather(
            *(
                client.post(
                    f"{bases[i % len(bases)]}/v1/chat/completions",
                    json={**body, "messages": [{"role": "user", "content": f"burst {user} question number {i}"}]},
                    headers={"authorization": f"Bearer {secret}"},
                )
                for i in range(count)
            )
        )


def _unbudgeted(response: httpx.Response) -> bool:
    return response.status_code == 200 and "x-helix-budget-remaining-usd" not in response.headers


def _spent(url: PostgresUrl, key_id: str, by_users: bool = False) -> float:
    """What the key has spent (only through requests that named an end user, with `by_users`)."""
    conn = connect(url, migrate=False)
    users = " AND user IS NOT NULL" if by_users else ""
    try:
        return float(
            conn.execute(
                f"SELECT coalesce(sum(cost_usd), 0) FROM requests WHERE key_id = ?{users}", (key_id,)
            ).fetchone()[0]
        )
    finally:
        conn.close()


def _until(check: object, seconds: float = 10.0) -> float:
    """Seconds until `check()` holds (polled every 50 ms); fails after `seconds`."""
    started = time.monotonic()
    while not check():  # type: ignore[operator]
        assert time.monotonic() - started < seconds, "never happened"
        time.sleep(0.05)
    return time.monotonic() - started


def test_three_instances_on_one_postgres(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], pg_url: PostgresUrl
) -> None:
    conn = connect(pg_url)
    record, secret = key_store.create(conn, "fleet", KeySpec())
    conn.close()
    with ExitStack() as stack:
        bases = [
            stack.enter_context(
                helix_process(tmp_path / f"i{n}", upstream[0].url, INSTANCE_TOML, storage=str(pg_url), graceful=True)
            )[0]
            for n in range(INSTANCES)
        ]
        (tmp_path / "cli").mkdir()

        # What one request costs; then a budget with room for about twenty more.
        first = _ask(bases[0], secret, "how much does one answer cost?")
        assert first.status_code == 200, first.text
        one = float(first.headers["x-helix-cost-usd"])
        assert one > 0
        conn = connect(pg_url, migrate=False)
        key_store.update(conn, "fleet", {"budget": _spent(pg_url, record.id) + 20.5 * one})
        budget = key_store.find(conn, "fleet").spec.budget
        conn.close()
        assert budget is not None
        for base in bases:  # every instance knows the budget before the burst
            _until(lambda base=base: "x-helix-budget-remaining-usd" in _ask(base, secret, f"warm {base}").headers)

        responses = asyncio.run(_burst(bases, secret, 100))
        codes = [r.status_code for r in responses]
        assert set(codes) <= {200, 429}, codes
        assert codes.count(200) >= 5 and codes.count(429) >= 50
        spent = _spent(pg_url, record.id)
        assert spent <= budget + INSTANCES * one, (spent, budget, one)
        print(f"budget ${budget:.4f}, spent ${spent:.4f} (one request ${one:.4f}); {codes.count(200)} of 100 admitted")
        # Every instance shows the key's budget as all of them spent it (each had seen the others' spend only as of
        # its own last admission): the same figure, settled. (The log may hold a little more: the warm-up requests an
        # instance answered before it knew of the budget.)
        lives = [_live(base, "fleet") for base in bases]
        assert all(live == pytest.approx(lives[0]) for live in lives), lives
        assert lives[0]["reserved_usd"] == 0 and 0 < lives[0]["spent_usd"] <= spent + 1e-9, (lives, spent)  # sums

        # A per-user budget holds across the instances in the same way (the key's own budget gone now).
        conn = connect(pg_url, migrate=False)
        key_store.update(conn, "fleet", {"budget": None, "user_budget": 20.5 * one})
        conn.close()
        for base in bases:  # an answer without the budget header: that instance has seen the change
            _until(lambda base=base: _unbudgeted(_ask(base, secret, f"free {base}")))
        codes = [r.status_code for r in asyncio.run(_burst(bases, secret, 100, user="alice"))]
        assert set(codes) <= {200, 429}, codes
        assert codes.count(200) >= 5 and codes.count(429) >= 50
        by_alice = _spent(pg_url, record.id, by_users=True)
        assert by_alice <= 20.5 * one + INSTANCES * one, (by_alice, one)
        print(f"user budget ${20.5 * one:.4f}, alice spent ${by_alice:.4f}; {codes.count(200)} of 100 admitted")
        others = asyncio.run(_burst(bases[:1], secret, 1, user="bob"))  # another user of the key has room
        assert others[0].status_code == 200, others[0].text

        # An answer stored by one instance is an exact hit on another once its writer has committed it.
        stored = _ask(bases[0], secret, "What is the capital of France?")
        assert stored.status_code == 200 and stored.headers["x-helix-cache"] == "MISS", (
            stored.status_code,
            stored.text,
        )
        _until(
            lambda: _ask(bases[1], secret, "What is the capital of France?").headers.get("x-helix-cache") == "HIT-EXACT"
        )
        assert _ask(bases[2], secret, "What is the capital of France?").headers["x-helix-cache"] == "HIT-EXACT"

        # `helix cache clear` on any host empties the cache of every instance within its next poll (each is checked
        # after a clear of its own: the miss that proves it stores the answer again). An instance holding the answer
        # in memory may serve it until that poll, half a second apart; a busy machine stretches it (a CI flake
        # asked at once and got the hit), so the wait is bounded, not zero.
        for base in bases:
            cleared = subprocess.run(
                [sys.executable, "-m", "helix", "cache", "clear", "--db", str(pg_url)],
                capture_output=True,
                text=True,
                env=isolated_env(tmp_path / "cli", upstream[0].url),
            )
            assert cleared.returncode == 0, cleared.stdout + cleared.stderr
            _until(
                lambda base=base: (
                    _ask(base, secret, "What is the capital of France?").headers["x-helix-cache"] == "MISS"
                ),
                3.0,
            )

        # A key's rpm holds across the instances within 10% (each holds a lease of 2% of it at most).
        conn = connect(pg_url, migrate=False)
        _, limited_secret = key_store.create(conn, "limited", KeySpec(rpm=RPM))
        conn.close()
        for base in bases:
            _until(lambda base=base: _ask(base, limited_secret, f"hello {base}").status_code == 200)
        started = time.monotonic()
        codes = [r.status_code for r in asyncio.run(_burst(bases, limited_secret, 2 * RPM))]
        refilled = (time.monotonic() - started) * RPM / 60
        admitted = codes.count(200) + INSTANCES  # the three hellos came out of the same minute
        assert set(codes) <= {200, 429}, codes
        assert 0.9 * RPM <= admitted <= 1.1 * RPM + refilled, (admitted, refilled)
        print(f"rpm {RPM}: {admitted} admitted across {INSTANCES} instances (refill during the burst {refilled:.1f})")

        # A key revoked through one database is refused by every instance.
        conn = connect(pg_url, migrate=False)
        key_store.revoke(conn, "fleet")
        conn.close()
        waits = [_until(lambda base=base: _ask(base, secret, "still there?").status_code == 401) for base in bases]
        print(f"revocation seen by all instances after {max(waits):.2f} s")


def another_instance_stores(url: PostgresUrl, vector: np.ndarray) -> None:
    """An entry in partition b"partition" with `vector`, as another instance's writer saves one."""
    other = connect(url, migrate=False)
    try:
        entry_id = entries.take_ids(other, 10)
        params = entries.insert_params(
            entry_id, b"x", b"partition", "s", "m", "p", b"r", vector.tobytes(), sign_bits(vector), None, None, 60.0
        )  # fmt: skip
        other.execute(entries.INSERT, params)
    finally:
        other.close()


def test_the_semantic_index_takes_in_other_instances_entries(pg_url: PostgresUrl) -> None:
    connect(pg_url).close()

    async def scenario() -> list[int]:
        cache = ResponseCache(CacheConfig(semantic=False), pg_url, Writer(pg_url), embedder=None)
        await cache.start()
        try:
            cache.semantic_ready = True  # no model here: only the index's sync is exercised
            vector = np.random.default_rng(7).standard_normal(384).astype(np.float32)
            another_instance_stores(pg_url, vector)
            await asyncio.sleep(1.2)  # two polls of the housekeeping loop
            return cache._index.nearest(b"partition", sign_bits(vector), 5)
        finally:
            await cache.close()

    assert len(asyncio.run(scenario())) == 1


def test_hot_entries_follow_other_instances_refreshes_and_clears(pg_url: PostgresUrl) -> None:
    """An answer one instance serves from memory is replaced there when another instance refreshes it, and
    forgotten when the cache is cleared anywhere: each within the half-second poll."""
    connect(pg_url).close()
    keys = Fingerprint(b"exact", b"partition", "p", "s")

    def store(conn: Connection, response: bytes) -> int:  # what another instance's writer does
        entry_id = entries.take_ids(conn, 10)
        params = entries.insert_params(entry_id, keys.exact, keys.partition, "s", "m", "p", response, None, None,
                                       None, None, 60.0)  # fmt: skip
        conn.execute(entries.INSERT, params)
        return entry_id

    async def scenario() -> list[bytes | None]:
        cache = ResponseCache(CacheConfig(semantic=False), pg_url, Writer(pg_url), embedder=None)
        await cache.start()
        other = connect(pg_url, migrate=False)
        seen: list[bytes | None] = []
        try:
            store(other, b"first")
            for _ in range(2):  # read from the database, then from memory
                answer = cache.find_exact(keys)
                seen.append(answer.entry.response if answer else None)
            store(other, b"refreshed")  # Cache-Control: no-cache on another instance
            await asyncio.sleep(1.2)  # two polls of the housekeeping loop
            answer = cache.find_exact(keys)
            seen.append(answer.entry.response if answer else None)
            entries.clear(other, None, None)  # `helix cache clear` anywhere
            await asyncio.sleep(1.2)
            seen.append(None if cache.find_exact(keys) is None else b"still served")
        finally:
            other.close()
            await cache.close()
        return seen

    assert asyncio.run(scenario()) == [b"first", b"first", b"refreshed", None]


def test_workers_are_started_as_this_helix_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-file binary's interpreter is the binary itself, which takes Helix's own arguments, not `-m`."""
    assert helix_command() == [sys.executable, "-m", "helix"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert helix_command() == [sys.executable]


def test_workers_on_a_taken_port_say_so_in_one_line(tmp_path: Path, pg_url: PostgresUrl) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        refused = subprocess.run(
            [sys.executable, "-m", "helix", "serve", "--workers", "2", "--db", str(pg_url), "--port", port],
            env=isolated_env(tmp_path, "http://127.0.0.1:9"),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "cannot listen on 127.0.0.1:" in refused.stderr and "in use" in refused.stderr


def test_workers_need_a_shared_database(tmp_path: Path) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "helix", "serve", "--workers", "2", "--db", str(tmp_path / "helix.db")],
        env=isolated_env(tmp_path, "http://127.0.0.1:9"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1
    assert "--workers needs a database the workers can share" in refused.stderr


@pytest.mark.parametrize("stop", ["terminate", "ctrl-c"])
def test_a_stop_lets_every_worker_finish_its_requests(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], pg_url: PostgresUrl, stop: str
) -> None:
    """One stop, one drain per worker: the worker holding a slow request finishes it even when the other
    has stopped first, and a terminal's Ctrl-C (sent to the whole process group) is not two signals."""
    config = tmp_path / "helix.toml"
    config.write_text("[pii]\nenabled = false\n[cache]\nsemantic = false\n")
    port = free_port()
    env = isolated_env(tmp_path / "home", upstream[0].url, HELIX_DASHBOARD__ENABLED="false")
    process = serve_process(
        env, tmp_path, port, "--config", str(config), "--db", str(pg_url), "--workers", "2", own_group=True
    )
    base = f"http://127.0.0.1:{port}"
    body = {"model": "slow-2", "messages": [{"role": "user", "content": "take your time"}], "max_tokens": 20}
    stopped = False
    try:
        wait_until_healthy(base, process)

        def slow_ones() -> int:  # the fake upstream is shared by the module's tests: count, not look for one
            return sum(r.body.get("model") == "slow-2" for r in upstream[1].requests)

        earlier = slow_ones()
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(httpx.post, f"{base}/v1/chat/completions", json=body, timeout=30)
            _until(lambda: slow_ones() > earlier)  # in flight upstream, not waiting in the listen queue
            if stop == "terminate":
                process.terminate()
            else:
                os.killpg(process.pid, signal.SIGINT)
            stopped = True
            # While they drain, the port refuses: a connection waited in the listen queue of a descriptor no worker
            # accepted on, then was reset (a helper's find), where a client or balancer should go elsewhere at once.
            time.sleep(0.5)
            with pytest.raises(httpx.ConnectError):
                httpx.post(f"{base}/v1/chat/completions", json=body, timeout=1)
            status = answer.result().status_code if answer.exception() is None else repr(answer.exception())
    finally:
        if not stopped:
            process.terminate()
        output, _ = process.communicate(timeout=60)
    assert status == 200, output
    assert process.returncode == 0, output
    assert "second stop signal" not in output
    assert output.count("Application shutdown complete") == 2, output


def test_two_workers_serve_one_port(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], pg_url: PostgresUrl
) -> None:
    config = tmp_path / "helix.toml"
    config.write_text("[pii]\nenabled = false\n[cache]\nsemantic = false\n")
    port = free_port()
    env = isolated_env(tmp_path / "home", upstream[0].url, HELIX_DASHBOARD__ENABLED="false")
    process = serve_process(env, tmp_path, port, "--config", str(config), "--db", str(pg_url), "--workers", "2")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process)
        answers = [_ask(base, "any", f"question {i}") for i in range(20)]
        assert [a.status_code for a in answers] == [200] * 20
        # A reload asked of one worker (`helix reload`, POST /admin/reload) reaches both: it changed one only.
        config.write_text("[pii]\nenabled = false\n[cache]\nsemantic = false\n[limits]\nrpm = 3\n")
        assert httpx.post(f"{base}/admin/reload", timeout=30).status_code == 200
        time.sleep(1)
        codes = [_ask(base, "any", f"after the reload {i}").status_code for i in range(12)]
        assert set(codes) <= {200, 429} and codes.count(200) <= 4, codes
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert output.count("Application shutdown complete") == 2  # both workers drained and stopped
    conn = connect(pg_url, migrate=False)
    try:
        assert conn.execute("SELECT count(*) FROM requests WHERE status = 200").fetchone()[0] == 20 + codes.count(200)
    finally:
        conn.close()

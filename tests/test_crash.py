"""`kill -9` under load: every answered request's spend survives, and what was in flight is charged at restart."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from contextlib import suppress
from pathlib import Path

import httpx

from helix.store import keys as key_store
from helix.store import reservations
from helix.store.db import connect
from helix.virtual_keys import KeySpec
from tests.fake_upstream import FakeState, ServerThread
from tests.served import helix_process

PRICES = """
[pricing."openai/gpt-4o-mini"]
input = 100.0
output = 100.0
[pricing."openai/slow-2"]
input = 100.0
output = 100.0
"""


def budget_keys(db: Path, count: int) -> list[tuple[str, str]]:
    conn = connect(db)
    try:
        made = [key_store.create(conn, f"app{i}", KeySpec(budget=1_000_000.0)) for i in range(count)]
    finally:
        conn.close()
    return [(record.id, secret) for record, secret in made]


def spend_by_key(db: Path) -> dict[str, float]:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT key_id, sum(cost_usd) FROM requests GROUP BY key_id").fetchall()
        return {key_id: float(total or 0) for key_id, total in rows}
    finally:
        conn.close()


def test_kill_9_under_load_keeps_the_spend_of_every_answer(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState]
) -> None:
    db = tmp_path / "helix.db"
    keys = budget_keys(db, 3)
    answered: dict[str, float] = {key_id: 0.0 for key_id, _ in keys}
    lock = threading.Lock()
    with helix_process(tmp_path, upstream[0].url, PRICES) as (url, process):

        def load(key_id: str, secret: str, worker: int) -> None:
            with httpx.Client(base_url=url, headers={"authorization": f"Bearer {secret}"}, timeout=10) as client:
                for i in range(100_000):
                    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"w{worker} q{i}"}]}
                    try:
                        response = client.post("/v1/chat/completions", json=body)
                    except httpx.TransportError:
                        return  # the server is gone
                    assert response.status_code == 200, response.text
                    with lock:
                        answered[key_id] += float(response.headers["x-helix-cost-usd"])

        workers = [threading.Thread(target=load, args=(*keys[i % 3], i)) for i in range(6)]
        started = time.monotonic()
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 20  # a loaded machine answers slowly: wait for traffic on every key
        while min(answered.values()) == 0 or time.monotonic() < started + 0.5:
            assert time.monotonic() < deadline, answered
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        for worker in workers:
            worker.join(15)
    assert all(total > 0 for total in answered.values())
    # What a restart does first (the next test restarts for real): charge what was left in flight.
    conn = connect(db)
    reservations.reconcile(conn)
    conn.close()
    spent = spend_by_key(db)
    for key_id, total in answered.items():
        assert spent.get(key_id, 0.0) >= total - 1e-9, (key_id, spent.get(key_id), total)
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM reservations").fetchone()[0] == 0


def test_a_request_in_flight_at_kill_9_is_charged_its_estimate_at_restart(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState]
) -> None:
    db = tmp_path / "helix.db"
    ((key_id, secret),) = budget_keys(db, 1)
    fake = upstream[1]
    fake.requests.clear()
    with helix_process(tmp_path, upstream[0].url, PRICES) as (url, process):
        body = {"model": "slow-2", "messages": [{"role": "user", "content": "never answered"}], "max_tokens": 50}

        def send() -> None:
            with suppress(httpx.TransportError):  # killed under it, as intended
                httpx.post(
                    f"{url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {secret}"}, timeout=10
                )

        sender = threading.Thread(target=send)
        sender.start()
        deadline = time.monotonic() + 10
        while not fake.calls("/v1/chat/completions"):
            assert time.monotonic() < deadline, "the request never reached the upstream"
            time.sleep(0.02)
        time.sleep(0.2)  # the reservation is committed within the writer's 50 ms window
        os.kill(process.pid, signal.SIGKILL)
        sender.join(15)
    with helix_process(tmp_path, upstream[0].url, PRICES):
        pass
    conn = sqlite3.connect(db)
    ((status, code, cost),) = conn.execute(
        "SELECT status, error_code, cost_usd FROM requests WHERE key_id = ?", (key_id,)
    ).fetchall()
    assert (status, code) == (500, "interrupted") and cost > 0
    assert conn.execute("SELECT count(*) FROM reservations").fetchone()[0] == 0

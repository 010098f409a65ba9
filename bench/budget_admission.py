"""What one budget admission costs on a shared database as a key's request log grows (issue 15).

For each size N (default 1,000 and 100,000): a fresh PostgreSQL schema, a key with a daily budget and N
requests of it logged today, then admissions one after another (each a reservation written and deleted
again, as a request settles): `reservations.reserve_within`, the running spend row of `store/budget_spend`,
against the sum over the key's log rows each admission used to read (the same transaction shape: lock,
sum of spend and reservations, insert), timed in the same run. Needs a PostgreSQL server.

Then the ceiling of one key: `--threads` threads (each its own connection, as an instance's admission
threads) admit requests of one budgeted key for `--seconds`, with the admission connections' commits
asynchronous (`quota/shared.ADMISSION_SETTINGS`, what Helix does) and then synchronous (each commit waits
for the WAL to reach the disk): admissions per second.

    python bench/budget_admission.py [--sizes 1000,100000] [--admissions 300] [--threads 8] [--seconds 5] [--pg URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from scale_out import pg_schema

from helix.dburl import PostgresUrl
from helix.periods import period_bounds
from helix.quota.shared import ADMISSION_SETTINGS
from helix.store import budget_spend, request_log, reservations
from helix.store import keys as key_store
from helix.store.db import Connection, connect
from helix.virtual_keys import KeySpec

# What each admission read before the running spend (the sums over the period, under the key's row lock).
SUMS = (
    "SELECT (SELECT coalesce(sum(cost_usd), 0) FROM requests WHERE key_id = ? AND ts >= ?),"
    " (SELECT coalesce(sum(cost_usd), 0) FROM reservations WHERE key_id = ? AND ts >= ?)"
)


def _fields(request_id: str, key_id: str, now: float) -> dict[str, object]:
    return {"id": request_id, "ts": now, "endpoint": "chat", "key_id": key_id, "stream": 0, "status": 200}


def _summing(conn: Connection, row: tuple[object, ...], key_id: str, start: float) -> None:
    conn.execute("BEGIN")
    conn.execute("UPDATE keys SET last_used_at = last_used_at WHERE id = ?", (key_id,))
    conn.execute(SUMS, (key_id, start, key_id, start)).fetchone()
    conn.execute(reservations.INSERT, row)
    conn.execute("COMMIT")


def measure(url: PostgresUrl, size: int, admissions: int) -> dict[str, float]:
    conn = connect(url)
    try:
        key, _ = key_store.create(conn, "bench", KeySpec(budget=1e9, period="day"))
        now = time.time()
        logged = [request_log.row({**_fields(f"r{i}", key.id, now), "cost_usd": 0.001}) for i in range(size)]
        conn.execute("BEGIN")
        conn.executemany(request_log.INSERT, logged)
        conn.execute("COMMIT")
        conn.execute("ANALYZE requests")
        start, _ = period_bounds("day", now)
        budget = budget_spend.of_key(key.id, "day", start, 1e9)
        timings: dict[str, list[float]] = {"running spend": [], "sum of the log": []}
        for i in range(admissions):
            for name in timings:
                held = (budget,) if name == "running spend" else ()
                row = reservations.of(_fields(f"{name[0]}{i}", key.id, now), 0.01, held, 0.001)
                began = time.perf_counter()
                if held:
                    reservations.reserve_within(conn, row, (budget,), 0.001)
                else:
                    _summing(conn, row, key.id, start)
                timings[name].append(time.perf_counter() - began)
                conn.execute(reservations.DELETE, (row[0],))
        return {name: 1000 * statistics.median(values[admissions // 10 :]) for name, values in timings.items()}
    finally:
        conn.close()


def ceiling(url: PostgresUrl, threads: int, seconds: float, settings: tuple[str, ...]) -> float:
    """Admissions per second of one key, `threads` at a time, each connection set up with `settings`."""
    conn = connect(url)
    key, _ = key_store.create(conn, "bench", KeySpec(budget=1e9, period="day"))
    conn.close()
    now = time.time()
    start, end = period_bounds("day", now)
    budget = budget_spend.of_key(key.id, "day", start, 1e9, end)
    go, counts = threading.Event(), [0] * threads

    def admit(worker: int) -> None:
        own = connect(url, migrate=False)
        for setting in settings:
            own.execute(setting)
        go.wait()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            row = reservations.of(_fields(f"t{worker}-{counts[worker]}", key.id, now), 0.01, (budget,), 0.001)
            reservations.reserve_within(own, row, (budget,), 0.001)
            counts[worker] += 1
        own.close()

    with ThreadPoolExecutor(threads) as pool:
        done = [pool.submit(admit, worker) for worker in range(threads)]
        time.sleep(0.5)  # every thread connected
        go.set()
        for future in done:
            future.result()
    return sum(counts) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--admissions", type=int, default=300)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--pg", default=os.environ.get("HELIX_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    print(f"load average before the run: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"{'logged rows':>12} {'running spend ms':>17} {'sum of the log ms':>18}")
    for size in (int(s) for s in args.sizes.split(",")):
        with pg_schema(args.pg, f"helix_bench_admission_{size}") as db:
            result = measure(PostgresUrl(db), size, args.admissions)
        print(f"{size:>12,} {result['running spend']:>17.3f} {result['sum of the log']:>18.3f}")
    print(f"one key, {args.threads} threads admitting for {args.seconds:.0f} s:")
    for name, settings in (("asynchronous", ADMISSION_SETTINGS), ("synchronous", ())):
        with pg_schema(args.pg, "helix_bench_admission_ceiling") as db:
            rate = ceiling(PostgresUrl(db), args.threads, args.seconds, settings)
        print(f"  commits {name}: {rate:,.0f} admissions/s")
    print(f"load average after the run: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()

"""Throughput of `helix serve --workers N` on one PostgreSQL database, on the miss path and on exact hits.

For each N (default 1, 2, 4) a fresh PostgreSQL schema, the fake upstream and `helix serve --workers N
--db postgresql://...` (semantic cache and dashboard off, everything else as configured by default), then
wrk: `chat_no_cache.lua` (a new prompt each time, cache bypassed: the whole miss path, request log
included) and `chat.lua` (one prompt: exact hits, served from each worker's hot entries). The same run
measures one worker on a SQLite file, the default, for comparison. Needs `wrk` and a PostgreSQL server.

Where the cores went during each wrk run (from /proc, Linux): Helix's processes, PostgreSQL's, the fake
upstream's, wrk's and the rest of the machine's (anything else running), in cores busy, plus Helix's CPU
per request. A 1 -> 2 worker ratio below 2x with every core busy is the machine's limit, not Helix's;
Helix's CPU per request staying flat across worker counts says the workers do not contend.

With `--key`, every request carries a Helix key with a budget and rpm/tpm limits (set so
high they never refuse): on PostgreSQL each request then also makes its budget reservation in the database
(`quota/shared.py`) and waits for its log row's commit, and the rate limits take leases.

    python bench/scale_out.py [--workers 1,2,4] [--duration 10] [--connections 16] [--pg URL] [--key]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg
from harness import CHAT_LUA, REPO, _stop, _wait_for, free_port, print_table, wrk

from helix.dburl import parse_location
from helix.store import keys as key_store
from helix.store.db import connect
from helix.virtual_keys import KeySpec

NO_CACHE_LUA = Path(__file__).with_name("chat_no_cache.lua")


@contextmanager
def pg_schema(server: str, name: str) -> Iterator[str]:
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        admin.execute(f"CREATE SCHEMA {name}")
        try:
            separator = "&" if "?" in server else "?"
            yield f"{server}{separator}options={quote(f'-csearch_path={name}')}"
        finally:
            admin.execute(f"DROP SCHEMA {name} CASCADE")


TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    return 0.0


def _processes() -> dict[int, tuple[str, int]]:
    """Every process: its command name and parent pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                head, _, rest = (entry / "stat").read_text().rpartition(")")
                found[int(entry.name)] = (head.partition("(")[2], int(rest.split()[1]))
    return found


def _busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all cores; not idle or waiting for I/O)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICKS


def _cpu_snapshot(root: int, upstream: int) -> dict[str, float]:
    processes = _processes()
    helix = {root}
    for _ in range(3):  # the serve process, its workers, their children
        helix |= {pid for pid, (_, parent) in processes.items() if parent in helix}
    postgres = {pid for pid, (name, _) in processes.items() if name.startswith("postgres")}
    return {
        "helix": sum(_cpu_seconds(pid) for pid in helix),
        "postgres": sum(_cpu_seconds(pid) for pid in postgres),
        "upstream": _cpu_seconds(upstream),
        "wrk": os.times().children_user + os.times().children_system,  # wrk, once it has ended
        "machine": _busy_seconds(),
    }


def measured(root: int, upstream: int, run: Callable[[], dict[str, float]]) -> dict[str, float]:
    """`run()`'s wrk figures, plus the cores Helix, PostgreSQL, the fake upstream, wrk and the whole machine
    kept busy meanwhile (`other`: what none of those used, such as other work on the machine)."""
    before, started = _cpu_snapshot(root, upstream), time.monotonic()
    figures = run()
    after, seconds = _cpu_snapshot(root, upstream), time.monotonic() - started
    cores = {name: (after[name] - before[name]) / seconds for name in before}
    cores["other"] = cores["machine"] - sum(v for name, v in cores.items() if name != "machine")
    return {
        **figures,
        **{f"{name}_cores": value for name, value in cores.items()},
        "helix_us": 1e6 * cores["helix"] / figures["rps"],
    }


BIG = 10**9


def add_key(db: str) -> str:
    """A key with a budget and rate limits, neither of which refuses anything here."""
    conn = connect(parse_location(db))
    try:
        _, secret = key_store.create(conn, "bench", KeySpec(budget=BIG, rpm=BIG, tpm=BIG))
    finally:
        conn.close()
    return secret


@contextmanager
def scripts(secret: str | None) -> Iterator[tuple[Path, Path]]:
    """The wrk scripts (miss, hit), sending `secret` as the bearer token when there is one."""
    if secret is None:
        yield NO_CACHE_LUA, CHAT_LUA
        return
    with tempfile.TemporaryDirectory(prefix="helix-scale-lua-") as tmp:
        copies = []
        for lua in (NO_CACHE_LUA, CHAT_LUA):
            copy = Path(tmp) / lua.name
            copy.write_text(lua.read_text().replace("Bearer bench", f"Bearer {secret}"))
            copies.append(copy)
        yield copies[0], copies[1]


@contextmanager
def gateway(upstream_url: str, db: str, workers: int) -> Iterator[tuple[str, int]]:
    home = tempfile.mkdtemp(prefix="helix-scale-")
    env = {
        **os.environ,
        "HELIX_HOME": home,
        "OPENAI_API_KEY": "sk-bench",
        "HF_HUB_OFFLINE": "1",
        "HELIX_PROVIDERS__OPENAI__BASE_URL": f"{upstream_url}/v1",
        "HELIX_CACHE__SEMANTIC": "false",
        "HELIX_DASHBOARD__ENABLED": "false",
    }
    port = free_port()
    command = [sys.executable, "-m", "helix", "serve", "--port", str(port), "--db", db]
    process = subprocess.Popen(
        [*command, *(["--workers", str(workers)] if workers > 1 else [])],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{url}/health", process)
        _wait_ready(url, workers, process)
        wrk(f"{url}/v1/chat/completions", 4 * workers, 3, NO_CACHE_LUA)  # every worker loaded and warm
        yield url, process.pid
    finally:
        _stop([process])
        shutil.rmtree(home, ignore_errors=True)


def _wait_ready(url: str, workers: int, process: subprocess.Popen[bytes]) -> None:
    """Until every worker has loaded: the port answers /health at once, each worker's /health/ready only
    once its app is built, and a new connection may reach any of them."""
    in_a_row, deadline = 0, time.monotonic() + 300
    while in_a_row < 8 * workers:
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the workers did not all become ready")
        ready = httpx.get(f"{url}/health/ready", headers={"connection": "close"}, timeout=10).status_code == 200
        in_a_row = in_a_row + 1 if ready else 0
        if not ready:
            time.sleep(0.5)


def measure(
    served: tuple[str, int], upstream: int, connections: int, duration: int, secret: str | None
) -> dict[str, dict[str, float]]:
    url, pid = served
    endpoint = f"{url}/v1/chat/completions"
    with scripts(secret) as (miss_lua, hit_lua):
        if secret is not None:  # every worker has loaded the key (they poll twice a second)
            time.sleep(3)
            wrk(endpoint, 4, 2, miss_lua)
        miss = measured(pid, upstream, lambda: wrk(endpoint, connections, duration, miss_lua))
        wrk(endpoint, 1, 1, hit_lua)  # stores the answer
        hit = measured(pid, upstream, lambda: wrk(endpoint, connections, duration, hit_lua))
    return {"miss": miss, "hit": hit}


def print_cpu(results: dict[str, dict[int, dict[str, float]]]) -> None:
    print(f"cores busy during each run (of {os.cpu_count()}), and Helix's CPU per request")
    columns = ("helix", "postgres", "upstream", "wrk", "other", "machine")
    print(f"{'target':10} {'c':>3} " + " ".join(f"{c:>8}" for c in columns) + f" {'helix us/req':>13}")
    for name, by_workers in results.items():
        for workers, r in by_workers.items():
            cores = " ".join(f"{r[f'{c}_cores']:>8.2f}" for c in columns)
            print(f"{name:10} {workers:>3} {cores} {r['helix_us']:>13.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--pg", default=os.environ.get("HELIX_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--key", action="store_true", help="requests carry a key with budgets and rate limits")
    args = parser.parse_args()
    print(f"load average before the run: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    upstream_port = free_port()
    upstream = subprocess.Popen([sys.executable, "-m", "tests.fake_upstream", "--port", str(upstream_port)], cwd=REPO)
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    results: dict[str, dict[int, dict[str, float]]] = {}
    try:
        _wait_for(f"{upstream_url}/v1/models", upstream)
        with tempfile.TemporaryDirectory() as tmp:
            db = str(Path(tmp) / "helix.db")
            with gateway(upstream_url, db, 1) as served:
                secret = add_key(db) if args.key else None  # once the gateway has warmed up without one
                for path, figures in measure(served, upstream.pid, args.connections, args.duration, secret).items():
                    results.setdefault(f"sqlite {path}", {})[1] = figures
        for workers in (int(w) for w in args.workers.split(",")):
            with pg_schema(args.pg, f"helix_bench_{workers}") as db:
                with gateway(upstream_url, db, workers) as served:
                    secret = add_key(db) if args.key else None
                    figures_by_path = measure(served, upstream.pid, args.connections, args.duration, secret)
                for path, figures in figures_by_path.items():
                    results.setdefault(f"pg {path}", {})[workers] = figures
    finally:
        upstream.send_signal(signal.SIGINT)
        upstream.wait(timeout=20)
    print(f"columns: target, workers, latency percentiles, requests/s ({args.connections} connections)")
    print_table(results)
    print_cpu(results)
    print(f"load average after the run: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for path in ("miss", "hit"):
        by_workers = results[f"pg {path}"]
        one = by_workers[min(by_workers)]["rps"]
        ratios = ", ".join(f"{n}: {r['rps'] / one:.2f}x" for n, r in by_workers.items())
        print(f"pg {path}: throughput relative to 1 worker: {ratios}")


if __name__ == "__main__":
    main()

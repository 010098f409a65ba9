"""Throughput of `helix serve --workers N` on one PostgreSQL database, on the miss path and on exact hits.

For each N (default 1, 2, 4) a fresh PostgreSQL schema, the fake upstream and `helix serve --workers N
--db postgresql://...` (semantic cache and dashboard off, everything else as configured by default), then
wrk: `chat_no_cache.lua` (a new prompt each time, cache bypassed: the whole miss path, request log
included) and `chat.lua` (one prompt: exact hits read from the database). The same run measures one
worker on a SQLite file, the default, for comparison. Needs `wrk` and a PostgreSQL server.

    python bench/scale_out.py [--workers 1,2,4] [--duration 10] [--connections 16] [--pg URL]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg
from harness import CHAT_LUA, REPO, _stop, _wait_for, free_port, print_table, wrk

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


@contextmanager
def gateway(upstream_url: str, db: str, workers: int) -> Iterator[str]:
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
        yield url
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


def measure(url: str, connections: int, duration: int) -> dict[str, dict[str, float]]:
    endpoint = f"{url}/v1/chat/completions"
    miss = wrk(endpoint, connections, duration, NO_CACHE_LUA)
    wrk(endpoint, 1, 1, CHAT_LUA)  # stores the answer
    hit = wrk(endpoint, connections, duration, CHAT_LUA)
    return {"miss": miss, "hit": hit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--pg", default=os.environ.get("HELIX_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    upstream_port = free_port()
    upstream = subprocess.Popen([sys.executable, "-m", "tests.fake_upstream", "--port", str(upstream_port)], cwd=REPO)
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    results: dict[str, dict[int, dict[str, float]]] = {}
    try:
        _wait_for(f"{upstream_url}/v1/models", upstream)
        with tempfile.TemporaryDirectory() as tmp, gateway(upstream_url, str(Path(tmp) / "helix.db"), 1) as url:
            for path, figures in measure(url, args.connections, args.duration).items():
                results.setdefault(f"sqlite {path}", {})[1] = figures
        for workers in (int(w) for w in args.workers.split(",")):
            with pg_schema(args.pg, f"helix_bench_{workers}") as db, gateway(upstream_url, db, workers) as url:
                for path, figures in measure(url, args.connections, args.duration).items():
                    results.setdefault(f"pg {path}", {})[workers] = figures
    finally:
        upstream.send_signal(signal.SIGINT)
        upstream.wait(timeout=20)
    print(f"columns: target, workers, latency percentiles, requests/s ({args.connections} connections)")
    print_table(results)
    for path in ("miss", "hit"):
        by_workers = results[f"pg {path}"]
        one = by_workers[min(by_workers)]["rps"]
        ratios = ", ".join(f"{n}: {r['rps'] / one:.2f}x" for n, r in by_workers.items())
        print(f"pg {path}: throughput relative to 1 worker: {ratios}")


if __name__ == "__main__":
    main()

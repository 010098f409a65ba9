"""The hot path side by side in one run: misses, exact hits and streams through `helix serve`, and the
fake upstream called directly, with wrk.

Helix (one worker, default config: PII firewall on, dashboard on, request log, limits, cache) runs
pinned to one CPU; the fake upstream and wrk share the other, so the load generator never competes
with Helix for its core. Every path is measured at 1 and 10 connections:

  miss     a small chat completion, a different prompt each time, `Cache-Control: no-cache, no-store`
  hit      one request repeated: the first is a miss, every later one an exact cache hit
  stream   a streamed chat completion of 24 chunks, a different prompt each time, cache bypassed

"direct" rows send the same request to the fake upstream itself: the ceiling Helix is compared with.
The load average is printed before and after (the machine is shared: compare within one run).
Needs `wrk` and `taskset` (Debian: apt-get install wrk util-linux).

    python bench/hot_path.py [--duration 10] [--paths miss,hit,stream] [--helix-cpu 0 --other-cpu 1]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import httpx
from harness import CHAT_LUA, cpu_seconds, servers, wrk

HERE = Path(__file__).parent
SCRIPTS = {"miss": HERE / "chat_no_cache.lua", "hit": CHAT_LUA, "stream": HERE / "chat_no_cache.lua"}
SCRIPT_ENV = {"stream": {"BENCH_STREAM": "1"}}
TARGETS = {
    "miss": "added p50 <= 0.5 ms, p99 <= 2 ms at c=1; >= 2,500 req/s at c=10",
    "hit": ">= 6,000 req/s at c=10, p99 <= 2 ms at c=1",
    "stream": ">= 1,500 streams/s at c=10",
}

Row = dict[str, float]


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if os.path.exists("/proc/loadavg") else "?"


def _prime_hit(helix_url: str) -> None:
    body = CHAT_LUA.read_text().split("wrk.body = '")[1].rsplit("'", 1)[0]
    endpoint = f"{helix_url}/v1/chat/completions"
    headers = {"content-type": "application/json"}
    httpx.post(endpoint, content=body, headers=headers, timeout=30).raise_for_status()
    check = httpx.post(endpoint, content=body, headers=headers, timeout=30)
    assert check.headers["x-helix-cache"] == "HIT-EXACT", check.headers


def _print(results: dict[tuple[str, str, int], Row]) -> None:
    print("| path | target | c | p50 ms | p90 ms | p99 ms | max ms | req/s | p99/p50 | Helix CPU ms/req |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (path, target, c), r in results.items():
        print(
            f"| {path} | {target} | {c} | {r['p50']:.3f} | {r['p90']:.3f} | {r['p99']:.3f} | {r['max']:.2f} "
            f"| {r['rps']:,.0f} | {r['p99'] / r['p50']:.1f} | {r['cpu_ms']:.3f} |"
        )


def _ratios(results: dict[tuple[str, str, int], Row], paths: list[str]) -> None:
    print()
    for path in paths:
        helix = {c: results.get((path, "helix", c)) for c in (1, 10)}
        direct = {c: results.get((path, "direct", c)) for c in (1, 10)}
        if helix[1] and direct[1]:
            added = helix[1]["p50"] - direct[1]["p50"]
            added99 = helix[1]["p99"] - direct[1]["p99"]
            print(f"{path:6}  c=1: added p50 {added:.3f} ms, added p99 {added99:.3f} ms")
        if helix[10] and direct[10]:
            ratio = helix[10]["rps"] / direct[10]["rps"]
            print(f"{path:6}  c=10: {helix[10]['rps']:,.0f} req/s = {ratio:.2f} x direct ({direct[10]['rps']:,.0f})")
        print(f"{path:6}  target: {TARGETS[path]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--paths", default="miss,hit,stream")
    parser.add_argument("--connections", default="1,10")
    parser.add_argument("--helix-cpu", type=int, default=0)
    parser.add_argument("--other-cpu", type=int, default=1, help="the fake upstream and wrk")
    args = parser.parse_args()
    paths = [p for p in args.paths.split(",") if p]
    connections = [int(c) for c in args.connections.split(",")]
    print(f"load average before: {_load()}")
    results: dict[tuple[str, str, int], Row] = {}
    with servers(helix_cpu=args.helix_cpu, upstream_cpu=args.other_cpu) as running:
        for path in paths:
            lua = SCRIPTS[path]
            # An exact hit has no direct counterpart: the upstream answers it like a miss.
            targets = (
                {"helix": running.helix_url}
                if path == "hit"
                else {"direct": running.upstream_url, "helix": running.helix_url}
            )
            if path == "hit":
                _prime_hit(running.helix_url)
            for name, url in targets.items():
                endpoint = f"{url}/v1/chat/completions"
                env = SCRIPT_ENV.get(path)
                wrk(endpoint, 10, 2, lua, cpu=args.other_cpu, env=env)  # warm up connections and code paths
                for c in connections:
                    before = cpu_seconds(running.helix_pid)
                    row = wrk(endpoint, c, args.duration, lua, cpu=args.other_cpu, env=env)
                    # Helix's own CPU per request: what contention on a shared machine does not inflate much.
                    used = cpu_seconds(running.helix_pid) - before
                    row["cpu_ms"] = used * 1000 / (row["rps"] * args.duration) if name == "helix" else 0.0
                    results[(path, name, c)] = row
    print(f"load average after:  {_load()}\n")
    _print(results)
    _ratios(results, paths)


if __name__ == "__main__":
    main()

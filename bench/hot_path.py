"""The hot path side by side in one run: misses, exact hits and streams through `helix serve`, and the
fake upstream called directly, with wrk.

Helix (one worker, default config: PII firewall on, dashboard on, request log, limits, cache) runs
pinned to one CPU; the fake upstream and wrk share the other, so the load generator never competes
with Helix for its core. Every path is measured at 1 and 10 connections:

  miss     a small chat completion, a different prompt each time, `Cache-Control: no-cache, no-store`
  stored   the same miss with the cache at its defaults: looked up and its answer, checked by the PII firewall,
           stored, as a user's misses are (exact cache only: the bench runs without an embedding model; not in
           the default paths)
  hit      one request repeated: the first is a miss, every later one an exact cache hit
  stream   a streamed chat completion of 24 chunks, a different prompt each time, cache bypassed
  history  a chat of 20 messages, the same 19 resent with a new question each time, cache bypassed
           (not in the default paths)

"direct" rows send the same request to the fake upstream itself: the ceiling Helix is compared with. With
`--ceiling`, "bare" rows send it through `bench/bare_proxy.py`: the same server and upstream client as Helix and
nothing else, on Helix's CPU, so what Helix costs beyond it (CPU per request, added latency) is its own work.
The load average is printed before and after (the machine is shared: compare within one run).
Needs `wrk` and `taskset` (Debian: apt-get install wrk util-linux).

    python bench/hot_path.py [--duration 10] [--paths miss,hit,stream] [--helix-cpu 0 --other-cpu 1]
    python bench/hot_path.py --baseline DIR --rounds 3   # and DIR's Helix (git archive main | tar -x -C DIR),
                                                         # in turns, medians of 3 rounds
    python bench/hot_path.py --ceiling --baseline . --base-env HELIX_PII__ENABLED=false   # the stack's ceiling,
                                                         # and what the PII firewall costs (base: this tree, PII off)
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

import httpx
from harness import CHAT_LUA, cpu_seconds, servers, wrk

HERE = Path(__file__).parent
NO_CACHE_LUA = HERE / "chat_no_cache.lua"
SCRIPTS = {
    "miss": NO_CACHE_LUA,
    "stored": NO_CACHE_LUA,
    "hit": CHAT_LUA,
    "stream": NO_CACHE_LUA,
    "history": NO_CACHE_LUA,
}
SCRIPT_ENV = {"stored": {"BENCH_STORE": "1"}, "stream": {"BENCH_STREAM": "1"}, "history": {"BENCH_HISTORY": "1"}}
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
        for c in (1, 10):
            helix, direct, base, bare = (results.get((path, name, c)) for name in ("helix", "direct", "base", "bare"))
            if helix is None:
                continue
            line = f"{path:6}  c={c:<2}  {helix['rps']:>7,.0f} req/s"
            if direct is not None:
                line += f", added p50 {helix['p50'] - direct['p50']:.3f} ms"
                line += f", {helix['rps'] / direct['rps']:.2f} x direct's req/s"
            if bare is not None:
                line += f"; vs bare proxy: req/s x{helix['rps'] / bare['rps']:.2f}"
                line += f", Helix's own CPU/req {helix['cpu_ms'] - bare['cpu_ms']:.3f} ms"
            if base is not None:
                line += f"; vs base: req/s x{helix['rps'] / base['rps']:.2f}"
                line += f", CPU/req x{helix['cpu_ms'] / base['cpu_ms']:.2f}" if base["cpu_ms"] else ""
            print(line)
        if path in TARGETS:  # issue 16's; the history path has none of its own
            print(f"{path:6}  target: {TARGETS[path]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--paths", default="miss,hit,stream")
    parser.add_argument("--connections", default="1,10")
    parser.add_argument("--helix-cpu", type=int, default=0)
    parser.add_argument("--other-cpu", type=int, default=1, help="the fake upstream and wrk")
    parser.add_argument("--baseline", type=Path, help="another checkout, measured in turns with this one")
    parser.add_argument("--rounds", type=int, default=1, help="measure each case this often, in turns; medians")
    parser.add_argument("--ceiling", action="store_true", help="also measure bench/bare_proxy.py (not exact hits)")
    parser.add_argument(
        "--base-env", action="append", default=[], metavar="KEY=VALUE", help="environment of the baseline's Helix only"
    )
    args = parser.parse_args()
    paths = [p for p in args.paths.split(",") if p]
    connections = [int(c) for c in args.connections.split(",")]
    print(f"load average before: {_load()}")
    results: dict[tuple[str, str, int], Row] = {}
    base_env = dict(item.split("=", 1) for item in args.base_env)
    with servers(
        helix_cpu=args.helix_cpu,
        upstream_cpu=args.other_cpu,
        baseline=args.baseline,
        baseline_env=base_env,
        bare=args.ceiling,
    ) as running:
        helixes = {"helix": (running.helix_url, running.helix_pid)}
        if running.baseline_url is not None:
            helixes["base"] = (running.baseline_url, running.baseline_pid)
        if running.bare_url is not None:
            helixes["bare"] = (running.bare_url, running.bare_pid)
        for path in paths:
            lua, env = SCRIPTS[path], SCRIPT_ENV.get(path)
            # An exact hit has no direct counterpart: the upstream answers it like a miss.
            targets = {} if path == "hit" else {"direct": (running.upstream_url, 0)}
            # The bare proxy caches nothing: an exact hit is Helix's alone.
            targets.update((name, server) for name, server in helixes.items() if not (path == "hit" and name == "bare"))
            for url, _ in targets.values():
                if path == "hit":
                    _prime_hit(url)
                wrk(f"{url}/v1/chat/completions", 10, 2, lua, cpu=args.other_cpu, env=env)  # warm up
            for c in connections:  # each target in turn at each concurrency: all see the same load
                rounds: dict[str, list[Row]] = {name: [] for name in targets}
                for _ in range(args.rounds):
                    for name, (url, pid) in targets.items():
                        before = cpu_seconds(pid) if pid else 0.0
                        row = wrk(f"{url}/v1/chat/completions", c, args.duration, lua, cpu=args.other_cpu, env=env)
                        # Helix's own CPU per request: what contention on a shared machine inflates least.
                        used = cpu_seconds(pid) - before if pid else 0.0
                        row["cpu_ms"] = used * 1000 / (row["rps"] * args.duration) if pid else 0.0
                        rounds[name].append(row)
                for name, rows in rounds.items():
                    results[(path, name, c)] = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    print(f"load average after:  {_load()}\n")
    _print(results)
    _ratios(results, paths)


if __name__ == "__main__":
    main()

"""Helix's added latency and throughput on the proxy (miss) path, against the fake upstream called directly.

Starts the fake upstream (tests/fake_upstream.py) and `helix serve` (one worker) on 127.0.0.1, then runs
wrk with the same request against each: concurrency 1 (latency) and concurrency 10 (throughput). The
response cache is bypassed (`Cache-Control: no-cache, no-store`), so every request goes upstream.
Needs `wrk` (Debian: apt-get install wrk).

    python bench/proxy_overhead.py [--duration 10]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness import print_table, servers, wrk

NO_CACHE_LUA = Path(__file__).with_name("chat_no_cache.lua")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    args = parser.parse_args()
    with servers() as running:
        results = {}
        for name, url in (("direct", running.upstream_url), ("helix", running.helix_url)):
            endpoint = f"{url}/v1/chat/completions"
            wrk(endpoint, 10, 2, NO_CACHE_LUA)  # warm up connections and code paths
            results[name] = {c: wrk(endpoint, c, args.duration, NO_CACHE_LUA) for c in (1, 10)}
    print_table(results)
    added = results["helix"][1]["p50"] - results["direct"][1]["p50"]
    ratio = results["helix"][10]["rps"] / results["direct"][10]["rps"]
    print(f"\nHelix added p50 at c=1: {added:.3f} ms   (target <= 1 ms)")
    print(f"Helix req/s at c=10:    {results['helix'][10]['rps']:.0f}   (target >= 1500)")
    print(f"Throughput ratio helix/direct at c=10: {ratio:.2f}")


if __name__ == "__main__":
    main()

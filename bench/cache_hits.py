"""Exact cache hits through `helix serve`: latency at concurrency 1 and throughput at concurrency 10.

wrk repeats one request; the first is a miss, every later one an exact hit served from the SQLite file.
Targets: p50 <= 0.5 ms at c=1 and >= 3,000 req/s at c=10 on one worker. Needs `wrk`.

    python bench/cache_hits.py [--duration 10]
"""

from __future__ import annotations

import argparse

import httpx
from harness import CHAT_LUA, print_table, servers, wrk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    args = parser.parse_args()
    with servers(env={"HELIX_CACHE__SEMANTIC": "false"}) as running:
        endpoint = f"{running.helix_url}/v1/chat/completions"
        wrk(endpoint, 10, 2)  # the first request stores the answer; the rest warm up the hit path
        check = httpx.post(
            endpoint,
            content=CHAT_LUA.read_text().split("wrk.body = '")[1].rsplit("'", 1)[0],
            headers={"content-type": "application/json"},
        )
        assert check.headers["x-helix-cache"] == "HIT-EXACT", check.headers
        results = {"exact hit": {c: wrk(endpoint, c, args.duration) for c in (1, 10)}}
    print_table(results)
    print(f"\nexact hit p50 at c=1: {results['exact hit'][1]['p50']:.3f} ms   (target <= 0.5 ms)")
    print(f"exact hits/s at c=10:  {results['exact hit'][10]['rps']:.0f}   (target >= 3000)")


if __name__ == "__main__":
    main()

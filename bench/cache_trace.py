"""Replay a support-style trace through `helix serve` (fake upstream) and count hits and wrong answers.

    python bench/cache_trace.py [--requests 1000] [--split test] [--zipf 1.1] [--seed 8]

Intents of one split of `tests/data/support_intents.jsonl` get Zipf-like popularity; each request asks
a random one of its hand-written paraphrases, half of them with everyday framing ("hi, ...", "thanks").
The fake upstream answers "echo: <prompt>", so a served answer names the question it was cached for:
a hit whose cached question belongs to another intent is a wrong answer. Targets: hit rate >= 40% with
<= 0.5% wrong answers. "possible" is the hit rate of a perfect cache (the intent was asked before).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
from harness import servers

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.labelled import Intent, load_intents

PREFIXES = ["", "hi, ", "Hello! ", "hey ", "Quick question: ", "Good morning, "]
SUFFIXES = ["", " thanks", " Thank you!", " please", " thx"]


def trace(intents: list[Intent], requests: int, zipf: float, rng: random.Random) -> list[tuple[Intent, str]]:
    ranked = intents[:]
    rng.shuffle(ranked)
    weights = [1 / (rank + 1) ** zipf for rank in range(len(ranked))]
    out = []
    for intent in rng.choices(ranked, weights, k=requests):
        text = rng.choice(intent.texts)
        if rng.random() < 0.5:
            text = rng.choice(PREFIXES) + text + rng.choice(SUFFIXES)
        out.append((intent, text))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--split", default="test", choices=["train", "dev", "test"])
    parser.add_argument("--zipf", type=float, default=1.1)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    intents = [i for i in load_intents() if i.split == args.split]
    requests = trace(intents, args.requests, args.zipf, random.Random(args.seed))
    owner = {text: i.name for i in intents for text in i.texts}
    counts: Counter[str] = Counter()
    wrong: list[tuple[str, str]] = []
    seen: set[str] = set()
    latencies: list[float] = []
    with servers() as running, httpx.Client(base_url=running.helix_url, timeout=30) as client:
        deadline = time.monotonic() + 60
        while client.get("/health/ready").json().get("checks", {}).get("embedding model") != "ok":
            if time.monotonic() > deadline:
                raise SystemExit("the semantic cache did not become ready")
            time.sleep(0.2)
        for intent, text in requests:
            counts["possible"] += intent.name in seen
            seen.add(intent.name)
            started = time.perf_counter()
            response = client.post(
                "/v1/chat/completions",
                json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]},
            )
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
            status = response.headers["x-helix-cache"]
            counts[status] += 1
            if status.startswith("HIT"):
                answered = response.json()["choices"][0]["message"]["content"].removeprefix("echo: ")
                source = next((name for t, name in owner.items() if t in answered), None)
                if source != intent.name:
                    wrong.append((text, answered))
    n = len(requests)
    hits = counts["HIT-EXACT"] + counts["HIT-SEMANTIC"]
    print(f"{n} requests over {len(intents)} intents ({args.split} split, zipf {args.zipf}, seed {args.seed})")
    print(f"  exact hits     {counts['HIT-EXACT']:>5}")
    print(f"  semantic hits  {counts['HIT-SEMANTIC']:>5}")
    print(f"  hit rate       {hits / n:.1%}   (possible {counts['possible'] / n:.1%}; target >= 40%)")
    print(f"  wrong answers  {len(wrong):>5} = {len(wrong) / n:.2%} of requests (target <= 0.5%)")
    latencies.sort()
    print(f"  latency p50 {latencies[n // 2] * 1000:.1f} ms, p99 {latencies[int(n * 0.99)] * 1000:.1f} ms")
    for text, answered in wrong[:20]:
        print(f"    wrong: {text!r} got the answer to {answered!r}")


if __name__ == "__main__":
    main()

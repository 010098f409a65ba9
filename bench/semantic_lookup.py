"""Semantic cache lookup time with N entries in one partition (the worst case: one model, one system prompt).

Fills a fresh SQLite file with N synthetic entries (random unit vectors; the scan costs the same whatever
the vectors), opens the real ResponseCache on it, then times `embed + find_similar` for real queries:
the embedding (fastembed, all-MiniLM-L6-v2), the sign-bit prefilter, float rescoring in SQLite and
the judge. Beside the random entries, each query has stored neighbours (paraphrases and near-misses,
embedded for real; five above the cosine floor for nine of the ten queries), so every lookup runs the facts
and the judge model. "lookup, no hit" is the lookup time of the queries whose candidates the judge all refuses:
the worst case, every candidate judged. Targets: 100k entries <= 15 ms p99; 1M entries <= 25 ms p50.

    python bench/semantic_lookup.py --entries 100000 [--queries 200] [--model-path DIR] [--judge-model DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import msgspec
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from helix.cache import entries as cache_entries  # noqa: E402
from helix.cache.embedder import Embedder  # noqa: E402
from helix.cache.fingerprint import fingerprint  # noqa: E402
from helix.cache.index import sign_bits  # noqa: E402
from helix.cache.response_cache import ResponseCache  # noqa: E402
from helix.config import CacheConfig  # noqa: E402
from helix.store.db import connect  # noqa: E402
from helix.store.writer import Writer  # noqa: E402

NEIGHBOURS = {
    "How do I reset my password?": [
        "I forgot my password",
        "how can i reset my password",
        "How do I change my password?",
        "reset my PIN",
        "How do I reset my username?",
    ],
    "What is the capital of Australia?": [
        "capital city of Australia",
        "What is the capital of Austria?",
        "largest city in Australia",
        "Australia's capital?",
        "capital of Canada",
    ],
    "How do I cancel my subscription?": [
        "cancel my plan",
        "How do I pause my subscription?",
        "unsubscribe",
        "How do I cancel my order?",
        "stop my subscription",
    ],
    "Explain list comprehensions in Python": [
        "python list comprehension",
        "Explain generators in Python",
        "list comprehensions in JavaScript?",
        "what is a list comprehension",
        "Explain dict comprehensions in Python",
    ],
    "Why is my order late?": [
        "my order is late",
        "Where is my order?",
        "Why was my order cancelled?",
        "order delayed why",
        "Why is my refund late?",
    ],
    "Convert 100 USD to EUR": [
        "100 dollars in euros",
        "Convert 100 EUR to USD",
        "Convert 200 USD to EUR",
        "usd to eur 100",
        "Convert 100 USD to GBP",
    ],
    "How do I turn on dark mode?": [
        "enable dark mode",
        "How do I turn off dark mode?",
        "switch to dark theme",
        "turn on light mode",
        "dark mode on",
    ],
    "What is a closure in JavaScript?": [
        "javascript closures explained",
        "What is a closure in Python?",
        "What is a promise in JavaScript?",
        "closure js",
        "explain JS closures",
    ],
    "Can I get a refund?": [
        "I want my money back",
        "Can I get a discount?",
        "refund please",
        "Can I get an invoice?",
        "how do refunds work",
    ],
    "Write a SQL query to count users by country": [
        "sql count users per country",
        "count users by city in SQL",
        "SQL: users grouped by country",
        "delete users by country sql",
        "number of users in each country query",
    ],
}


QUERIES = list(NEIGHBOURS)


def body(text: str) -> dict[str, object]:
    return {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": text}],
    }


def fill(path: Path, entries: int, embedder: Embedder) -> None:
    conn = connect(path)
    rng = np.random.default_rng(7)
    response = msgspec.json.encode({"choices": [{"message": {"role": "assistant", "content": "ok"}}]})
    partition = fingerprint(body("x"), "openai/gpt-4o-mini", "\x1f").partition

    def row(entry_id: int, text: str, vector: np.ndarray) -> tuple[object, ...]:
        return cache_entries.insert_params(
            entry_id,
            os.urandom(16),
            partition,
            "\x1f",
            "openai/gpt-4o-mini",
            text,
            response,
            vector.tobytes(),
            sign_bits(vector),
            None,
            0.0001,
            86400,
        )

    conn.execute("BEGIN")
    for start in range(0, entries, 20_000):
        count = min(20_000, entries - start)
        vectors = rng.standard_normal((count, 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        rows = [row(start + i + 1, f"synthetic prompt {start + i}", v) for i, v in enumerate(vectors)]
        conn.executemany(cache_entries.INSERT, rows)
    texts = [t for near in NEIGHBOURS.values() for t in near]
    vectors = embedder.embed(texts)
    rows = [row(entries + i + 1, text, v) for i, (text, v) in enumerate(zip(texts, vectors, strict=True))]
    conn.executemany(cache_entries.INSERT, rows)
    conn.execute("COMMIT")
    conn.close()


async def measure(path: Path, model_path: str, queries: int, judge_model: str | None) -> dict[str, list[float]]:
    writer = Writer(path)
    await writer.start()
    config = CacheConfig(embedding_model_path=model_path, judge_model_path=judge_model)
    cache = ResponseCache(config, path, writer, Embedder(model_path=model_path, threads=1))
    await cache.start()
    loaded = time.perf_counter()
    while not cache.semantic_ready:
        await asyncio.sleep(0.05)
    print(f"model + index of {len(cache._index):,} entries ready in {time.perf_counter() - loaded:.1f} s")
    times: dict[str, list[float]] = {"embed": [], "lookup": [], "total": [], "lookup, no hit": []}
    hits = 0
    for i in range(queries):
        text = QUERIES[i % len(QUERIES)]
        keys = fingerprint(body(text), "openai/gpt-4o-mini", "\x1f")
        t0 = time.perf_counter()
        vector = await cache.embed(keys.prompt)
        t1 = time.perf_counter()
        assert vector is not None
        hit = await cache.find_similar(keys, vector, config.threshold) is not None
        t2 = time.perf_counter()
        hits += hit
        if not hit:
            times["lookup, no hit"].append((t2 - t1) * 1000)
        times["embed"].append((t1 - t0) * 1000)
        times["lookup"].append((t2 - t1) * 1000)
        times["total"].append((t2 - t0) * 1000)
    await cache.close()
    await writer.close()
    print(f"{hits} of {queries} lookups found a match the judge accepted")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--model-path",
        default=os.environ.get(
            "HELIX_EMBEDDING_MODEL_PATH", str(REPO.parent / "shared" / "models" / "all-MiniLM-L6-v2-onnx")
        ),
    )
    parser.add_argument("--judge-model", default=None, help="folder with judge.onnx (default: the shipped one)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="helix-semantic-"))
    try:
        started = time.perf_counter()
        fill(folder / "helix.db", args.entries, Embedder(model_path=args.model_path))
        print(f"filled {args.entries:,} entries in {time.perf_counter() - started:.1f} s")
        times = asyncio.run(measure(folder / "helix.db", args.model_path, args.queries, args.judge_model))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{'stage':14} {'p50 ms':>8} {'p99 ms':>8}")
    for name, values in times.items():
        if values:
            values.sort()
            p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
            print(f"{name:14} {statistics.median(values):>8.2f} {p99:>8.2f}")


if __name__ == "__main__":
    main()

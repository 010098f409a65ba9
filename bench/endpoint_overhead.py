"""Helix's own time per endpoint and route (`x-helix-overhead-ms`, the answer's time minus the provider's),
on cache misses with the PII firewall on (pattern-only), against the fake upstream over real HTTP on
127.0.0.1: does /v1/messages or /v1/responses cost more than chat completions, passed through or translated?
A warm-up round, then `--requests` per case; medians and p95 are printed.

    python bench/endpoint_overhead.py [--requests 300]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import start_helix
from tests.fake_upstream import FakeState, FakeUpstream, ServerThread

CLAUDE = "anthropic/claude-3-5-haiku-latest"
Body = Callable[[str], dict[str, Any]]
CASES: dict[str, tuple[str, Body]] = {
    "chat -> openai (passed through)": (
        "/v1/chat/completions",
        lambda q: {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": q}]},
    ),
    "chat -> anthropic (translated)": (
        "/v1/chat/completions",
        lambda q: {"model": CLAUDE, "messages": [{"role": "user", "content": q}]},
    ),
    "messages -> anthropic (passed through)": (
        "/v1/messages",
        lambda q: {"model": CLAUDE, "max_tokens": 64, "messages": [{"role": "user", "content": q}]},
    ),
    "messages -> openai (translated)": (
        "/v1/messages",
        lambda q: {"model": "openai/gpt-4o-mini", "max_tokens": 64, "messages": [{"role": "user", "content": q}]},
    ),
    "responses -> openai (passed through, not cached)": (
        "/v1/responses",
        lambda q: {"model": "gpt-4o-mini", "input": q},
    ),
    "responses -> anthropic (translated)": ("/v1/responses", lambda q: {"model": CLAUDE, "input": q}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    upstream = ServerThread(FakeUpstream(FakeState(record=False))).start()
    helix = start_helix(Path(tempfile.mkdtemp()), upstream.url)
    try:
        with httpx.Client(timeout=30) as client:
            for measured in (False, True):
                for n, (name, (path, body)) in enumerate(CASES.items()):
                    values = []
                    for i in range(args.requests):
                        question = f"question {measured} {n} {i} about the weather"  # a cache miss every time
                        answer = client.post(helix.url + path, json=body(question))
                        answer.raise_for_status()
                        values.append(float(answer.headers["x-helix-overhead-ms"]))
                    if measured:
                        values.sort()
                        p95 = values[int(0.95 * len(values))]
                        print(f"{name:50s} p50 {statistics.median(values):6.3f} ms   p95 {p95:6.3f} ms")
    finally:
        helix.server.stop()
        upstream.stop()


if __name__ == "__main__":
    main()

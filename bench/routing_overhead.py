"""What the router adds to a request on the miss path: the same call sent straight to the provider adapter
(`send_to_provider`, what the route stage did before deployments existed) and through the router,
interleaved (alternating which goes first), against the fake upstream over real HTTP on 127.0.0.1. The
difference is the router's own time: choosing a deployment, health and latency bookkeeping, the deadline,
and (for streams) reading the first chunk before handing the stream on.

    python bench/routing_overhead.py [--requests 3000]

With `--e2e`, end to end instead: a real `helix serve` (cache, PII and dashboard off) in front of the fake
upstream, driven by wrk at one connection (c=1), a model alias with two weighted deployments and a
fallback against a plain model (one target), alternating in rounds so both see the same machine; the
fake upstream asked directly is the floor.

    python bench/routing_overhead.py --e2e [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helix.call import Call, Completed, Reply
from helix.config import load_config
from helix.pipeline.parse import parse_call
from helix.pipeline.route import send_to_provider
from helix.pipeline.router import Router
from helix.pricing import PriceBook
from helix.providers.http import make_client
from helix.providers.registry import Registry
from helix.routing.table import RoutingTable
from tests.fake_upstream import FakeState, FakeUpstream, ServerThread

CASES = {
    "plain model (one deployment)": ("gpt-4o-mini", False),
    "alias: 2 weighted deployments + fallback": ("pair", False),
    "alias: least-latency": ("quick", False),
    "plain model, streamed": ("gpt-4o-mini", True),
}


async def _drain(reply: Reply) -> None:
    if isinstance(reply, Completed):
        return
    async for _ in reply.chunks:
        pass


async def run(url: str, requests: int) -> list[tuple[str, float, float]]:
    config = load_config(
        None,
        env={},
        overrides={
            "providers": {"openai": {"base_url": f"{url}/v1", "api_key": "sk-bench"}},
            "models": {
                "pair": {
                    "deployments": [{"target": "openai/gpt-4o-mini", "weight": 3}, {"target": "openai/gpt-4o"}],
                    "fallbacks": ["openai/gpt-4.1-mini"],
                },
                "quick": {
                    "deployments": [{"target": "openai/gpt-4o-mini"}, {"target": "openai/gpt-4o"}],
                    "strategy": "least-latency",
                },
            },
        },
    )
    client = make_client(config.upstream)
    registry = Registry(config, client, env={})
    router = Router(RoutingTable(config, registry), PriceBook(config.pricing))
    results = []
    try:
        for label, (model, stream) in CASES.items():
            raw = msgspec.json.encode(
                {"model": model, "messages": [{"role": "user", "content": "hello"}], "stream": stream}
            )

            def new_call(raw: bytes = raw) -> Call:
                return parse_call("chat", raw, {}, registry.resolve)

            direct: list[float] = []
            routed: list[float] = []
            for i in range(requests + 200):
                # Alternate which goes first, so neither profits from the other having just used a connection.
                for way in ("direct", "routed") if i % 2 else ("routed", "direct"):
                    call = new_call()
                    began = time.perf_counter()
                    await _drain(await (send_to_provider(call) if way == "direct" else router(call)))
                    elapsed = time.perf_counter() - began
                    if i >= 200:  # after warming up connections and code paths
                        (direct if way == "direct" else routed).append(elapsed)
            paired = statistics.median(r - d for r, d in zip(routed, direct, strict=True))
            results.append((label, statistics.median(direct) * 1000, statistics.median(routed) * 1000, paired * 1000))
    finally:
        await client.aclose()
    return results


E2E_CONFIG = """
[models.pair]
deployments = [{ target = "openai/gpt-4o-mini", weight = 3 }, { target = "openai/gpt-4o" }]
fallbacks = ["openai/gpt-4.1-mini"]
"""
E2E_CASES = {
    "fake upstream, asked directly": ("upstream", "gpt-4o-mini"),
    "Helix, plain model (one target)": ("helix", "gpt-4o-mini"),
    "Helix, alias: 2 weighted deployments + fallback": ("helix", "pair"),
}
WRK_SCRIPT = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model": "%s", "messages": [{"role": "user", "content": "Give me one word for happy."}]}'
"""


def end_to_end(seconds: int, rounds: int) -> None:
    from bench.harness import servers, wrk

    with tempfile.TemporaryDirectory(prefix="helix-routing-bench-") as folder:
        config = Path(folder) / "helix.toml"
        config.write_text(E2E_CONFIG)
        scripts = {}
        for label, (_, model) in E2E_CASES.items():
            scripts[label] = Path(folder) / f"{model}.lua"
            scripts[label].write_text(WRK_SCRIPT % model)
        env = {
            "HELIX_CONFIG": str(config),
            "HELIX_CACHE__ENABLED": "false",
            "HELIX_PII__ENABLED": "false",
            "HELIX_DASHBOARD__ENABLED": "false",
        }
        runs: dict[str, list[dict[str, float]]] = {label: [] for label in E2E_CASES}
        with servers(env=env) as running:
            bases = {"upstream": running.upstream_url, "helix": running.helix_url}
            for label, (where, _) in E2E_CASES.items():  # warm up connections and code paths
                wrk(f"{bases[where]}/v1/chat/completions", 1, 2, scripts[label])
            for round_ in range(rounds):
                order = list(E2E_CASES) if round_ % 2 == 0 else list(reversed(E2E_CASES))
                for label in order:
                    url = f"{bases[E2E_CASES[label][0]]}/v1/chat/completions"
                    runs[label].append(wrk(url, 1, seconds, scripts[label]))
    print(f"c=1, {rounds} rounds of {seconds} s per case, alternating order; medians over the rounds")
    print("| case | p50 ms | p99 ms | requests/s |")
    print("|---|---:|---:|---:|")
    for label, measured in runs.items():
        p50, p99, rps = (statistics.median(run[k] for run in measured) for k in ("p50", "p99", "rps"))
        print(f"| {label} | {p50:.3f} | {p99:.3f} | {rps:,.0f} |")
    single, alias = runs["Helix, plain model (one target)"], runs["Helix, alias: 2 weighted deployments + fallback"]
    for k in ("p50", "p99"):
        differences = [a[k] - s[k] for a, s in zip(alias, single, strict=True)]
        print(f"alias - plain model, {k} per round (ms): " + ", ".join(f"{d:+.3f}" for d in differences))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--e2e", action="store_true", help="through a real helix serve, with wrk at c=1")
    parser.add_argument("--seconds", type=int, default=5, help="--e2e: seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="--e2e: rounds of every case")
    args = parser.parse_args()
    if args.e2e:
        end_to_end(args.seconds, args.rounds)
        return
    upstream = ServerThread(FakeUpstream(FakeState(record=False))).start()
    try:
        results = asyncio.run(run(upstream.url, args.requests))
    finally:
        upstream.stop()
    print("| case | direct p50 ms | routed p50 ms | difference of p50s | p50 of paired differences |")
    print("|---|---:|---:|---:|---:|")
    for label, direct, routed, paired in results:
        print(f"| {label} | {direct:.3f} | {routed:.3f} | {routed - direct:+.3f} | {paired:+.3f} |")


if __name__ == "__main__":
    main()

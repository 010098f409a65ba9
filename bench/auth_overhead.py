"""What authentication and the limits stage add to a request, measured in process.

Starts a real Gateway (SQLite file, writer, key ring, limits stage) in a temporary directory, creates a
virtual key with everything switched on (budget, per-user budget, rpm, tpm, model allow-list; limits
high enough never to refuse), then times, for each request: `gateway.authenticate(headers)`, the
limits stage around a provider that answers at once, and the settlement the log stage runs once the
cost is known. Parsing the body, routing and the provider are outside the timing; they are the same
with or without keys. Scenarios:

  laptop   no keys, no limits: authenticate returns None, the stage passes the call straight on
  key      a key with budget, per-user budget, rpm, tpm and an allow-list; the request names a user
  global   the same, plus global rpm/tpm and a global per-user budget

    python bench/auth_overhead.py [--iterations 20000] [--wrk]

With --wrk it also runs the end-to-end check: `helix serve` in front of the fake upstream (response
cache off), wrk at one connection with the laptop's any-token and then with a virtual key carrying
every limit (bench/harness.py; needs wrk). On two shared cores that difference sits inside the noise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from helix.call import (  # noqa: E402
    Call,
    Completed,
    Usage,
)
from helix.config import load_config  # noqa: E402
from helix.gateway import Gateway  # noqa: E402
from helix.store import keys as key_store  # noqa: E402
from helix.store.db import connect  # noqa: E402
from helix.virtual_keys import KeySpec  # noqa: E402

BODY = (
    b'{"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "You are terse."}, '
    b'{"role": "user", "content": "Give me one word for happy."}], "temperature": 0, "user": "alice"}'
)
REPLY = Completed({"id": "x", "object": "chat.completion", "choices": []})
USAGE = Usage(prompt_tokens=23, completion_tokens=2)
BIG = 10**9


async def upstream(call: Call) -> Completed:
    call.usage = USAGE
    call.cost = 0.0000047
    return REPLY


def config_text(home: Path, extra: str) -> str:
    return f"""
[storage]
path = "{home / "helix.db"}"
[providers.openai]
base_url = "http://127.0.0.1:9/v1"
api_key = "sk-bench"
[cache]
enabled = false
{extra}
"""


async def scenario(home: Path, extra: str, with_key: bool, iterations: int) -> list[float]:
    home.mkdir()
    path = home / "helix.toml"
    path.write_text(config_text(home, extra))
    gateway = Gateway(load_config(path, env={}), env={})
    await gateway.start()
    headers = {"authorization": "Bearer laptop", "content-type": "application/json"}
    if with_key:
        conn = connect(gateway.db_path)
        spec = KeySpec(
            budget=1000.0, period="day", user_budget=100.0, rpm=BIG, tpm=BIG, models=("gpt-4o-mini", "anthropic/*")
        )
        _, secret = key_store.create(conn, "bench", spec)
        conn.close()
        await gateway.keys.reload()
        headers["authorization"] = f"Bearer {secret}"
    limits = gateway.limits
    assert limits is not None
    samples: list[float] = []
    clock = time.perf_counter_ns
    for i in range(iterations):
        call = gateway.parse("chat", BODY, headers, f"req_{i}")
        started = clock()
        call.key = gateway.authenticate(headers)
        await limits(call, upstream)
        for settle in call.on_finish:  # what the log stage runs once the cost is known
            settle(call)
        samples.append((clock() - started) / 1000)
        if i % 1000 == 999:
            await asyncio.sleep(0)  # let the writer drain, as it would between requests
    await gateway.close()
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50": statistics.median(ordered), "p90": pick(0.90), "p99": pick(0.99), "mean": statistics.fmean(ordered)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--wrk", action="store_true", help="also compare end to end with wrk")
    args = parser.parse_args()
    warmup = max(500, args.iterations // 10)
    scenarios = {
        "laptop": ("", False),
        "key": ("", True),
        "global": (f"[limits]\nrpm = {BIG}\ntpm = {BIG}\nuser_budget = 100.0\n", True),
    }
    results = {}
    with tempfile.TemporaryDirectory(prefix="helix-auth-bench-") as tmp:
        for name, (extra, with_key) in scenarios.items():
            samples = await scenario(Path(tmp) / name, extra, with_key, args.iterations + warmup)
            results[name] = summary(samples[warmup:])
    print(f"auth + limits per request, {args.iterations} requests each (microseconds)")
    print(f"{'scenario':10} {'p50':>8} {'p90':>8} {'p99':>8} {'mean':>8}")
    for name, r in results.items():
        print(f"{name:10} {r['p50']:>8.1f} {r['p90']:>8.1f} {r['p99']:>8.1f} {r['mean']:>8.1f}")
    worst = max(r["p50"] for r in results.values())
    print(f"\nadded p50 with every check on: {worst / 1000:.4f} ms   (target <= 0.2 ms)")
    if args.wrk:
        end_to_end(rounds=3, duration=8)


def end_to_end(rounds: int, duration: int) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from harness import CHAT_LUA, servers, wrk

    p50: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="helix-auth-wrk-") as tmp:
        for mode in ("laptop", "key"):
            with servers(env={"HELIX_CACHE__ENABLED": "false"}) as running:
                lua = CHAT_LUA
                if mode == "key":
                    add = [sys.executable, "-m", "helix", "keys", "add", "bench", "-q", "--budget", "1000"]
                    add += ["--user-budget", "100", "--rpm", str(BIG), "--tpm", str(BIG)]
                    secret = subprocess.run(
                        add, env={**os.environ, "HELIX_HOME": running.home}, capture_output=True, text=True, check=True
                    ).stdout.strip()
                    lua = Path(tmp) / "chat_key.lua"
                    lua.write_text(CHAT_LUA.read_text().replace("Bearer bench", f"Bearer {secret}"))
                    time.sleep(1)  # the server picks the key up within a second
                url = f"{running.helix_url}/v1/chat/completions"
                wrk(url, 10, 2, lua)  # warm up
                p50[mode] = [wrk(url, 1, duration, lua)["p50"] for _ in range(rounds)]
    print("\nend to end, wrk c=1, p50 ms per round:")
    for mode, values in p50.items():
        print(f"  {mode:7} {' '.join(f'{v:.3f}' for v in values)}   median {statistics.median(values):.3f}")
    added = statistics.median(p50["key"]) - statistics.median(p50["laptop"])
    print(f"  added by auth + limits: {added:+.3f} ms")


if __name__ == "__main__":
    asyncio.run(main())

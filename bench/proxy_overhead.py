"""Helix's added latency and throughput on the proxy (miss) path, against the fake upstream called directly.

Starts the fake upstream (tests/fake_upstream.py) and `helix serve` (one worker) on 127.0.0.1, then runs
wrk with the same request against each: concurrency 1 (latency) and concurrency 10 (throughput).
Needs `wrk` (Debian: apt-get install wrk).

    python bench/proxy_overhead.py [--duration 10] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
LUA = Path(__file__).with_name("chat.lua")


def wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited early ({process.returncode})")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def wrk(url: str, connections: int, duration: int, threads: int) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(min(threads, connections)),
            "-c",
            str(connections),
            "-d",
            f"{duration}s",
            "--latency",
            "-s",
            str(LUA),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout

    def ms(label: str) -> float:
        match = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        assert match, out
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{errors.group(1)} error responses from {url}:\n{out}")
    return {"p50": ms("50%"), "p90": ms("90%"), "p99": ms("99%"), "rps": rps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--upstream-port", type=int, default=18001)
    parser.add_argument("--helix-port", type=int, default=14000)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    home = tempfile.mkdtemp(prefix="helix-bench-")
    env = {
        **os.environ,
        "HELIX_HOME": home,
        "OPENAI_API_KEY": "sk-bench",
        "HELIX_PROVIDERS__OPENAI__BASE_URL": f"http://127.0.0.1:{args.upstream_port}/v1",
    }
    upstream = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_upstream", "--port", str(args.upstream_port)], cwd=REPO, env=env
    )
    helix = subprocess.Popen(
        [sys.executable, "-m", "helix", "serve", "--port", str(args.helix_port)],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        direct_url = f"http://127.0.0.1:{args.upstream_port}/v1/chat/completions"
        helix_url = f"http://127.0.0.1:{args.helix_port}/v1/chat/completions"
        wait_for(f"http://127.0.0.1:{args.upstream_port}/v1/models", upstream)
        wait_for(f"http://127.0.0.1:{args.helix_port}/health", helix)
        results = {}
        for name, url in (("direct", direct_url), ("helix", helix_url)):
            wrk(url, 10, 2, args.threads)  # warm up connections and code paths
            results[name] = {c: wrk(url, c, args.duration, args.threads) for c in (1, 10)}
        print(f"{'target':8} {'c':>3} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'req/s':>9}")
        for name, by_c in results.items():
            for c, r in by_c.items():
                print(f"{name:8} {c:>3} {r['p50']:>8.3f} {r['p90']:>8.3f} {r['p99']:>8.3f} {r['rps']:>9.0f}")
        added = results["helix"][1]["p50"] - results["direct"][1]["p50"]
        print(f"\nHelix added p50 at c=1: {added:.3f} ms   (target <= 1 ms)")
        print(f"Helix req/s at c=10:    {results['helix'][10]['rps']:.0f}   (target >= 1500)")
        ratio = results["helix"][10]["rps"] / results["direct"][10]["rps"]
        print(f"Throughput ratio helix/direct at c=10: {ratio:.2f}")
    finally:
        for process in (helix, upstream):
            process.send_signal(signal.SIGINT)
        for process in (helix, upstream):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()

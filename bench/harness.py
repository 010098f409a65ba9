"""Shared benchmark plumbing: start the fake upstream and `helix serve` on 127.0.0.1, drive them with wrk."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
CHAT_LUA = Path(__file__).with_name("chat.lua")


@dataclass(frozen=True)
class Servers:
    upstream_url: str
    helix_url: str
    home: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
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


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def servers(
    upstream_port: int = 18001, helix_port: int = 14000, env: dict[str, str] | None = None
) -> Iterator[Servers]:
    """The fake upstream and one Helix worker in front of it; both stopped (by PID) on exit."""
    home = tempfile.mkdtemp(prefix="helix-bench-")
    environment = {
        **os.environ,
        "HELIX_HOME": home,
        "OPENAI_API_KEY": "sk-bench",
        "HF_HUB_OFFLINE": "1",  # no embedding model here: fail fast instead of retrying the hub
        "HELIX_PROVIDERS__OPENAI__BASE_URL": f"http://127.0.0.1:{upstream_port}/v1",
        **(env or {}),
    }
    upstream = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_upstream", "--port", str(upstream_port)], cwd=REPO, env=environment
    )
    helix = subprocess.Popen(
        [sys.executable, "-m", "helix", "serve", "--port", str(helix_port)],
        cwd=home,
        env=environment,
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_for(f"http://127.0.0.1:{upstream_port}/v1/models", upstream)
        _wait_for(f"http://127.0.0.1:{helix_port}/health", helix)
        yield Servers(f"http://127.0.0.1:{upstream_port}", f"http://127.0.0.1:{helix_port}", home)
    finally:
        _stop([helix, upstream])
        shutil.rmtree(home, ignore_errors=True)


def wrk(url: str, connections: int, duration: int, lua: Path = CHAT_LUA, threads: int = 1) -> dict[str, float]:
    """p50/p90/p99 latency (ms) and requests/s; any non-2xx answer aborts the benchmark."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
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
            str(lua),
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

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{errors.group(1)} error responses from {url}:\n{out}")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert rps, out
    return {"p50": ms("50%"), "p90": ms("90%"), "p99": ms("99%"), "rps": float(rps.group(1))}


def print_table(results: dict[str, dict[int, dict[str, float]]]) -> None:
    print(f"{'target':10} {'c':>3} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'req/s':>9}")
    for name, by_c in results.items():
        for c, r in by_c.items():
            print(f"{name:10} {c:>3} {r['p50']:>8.3f} {r['p90']:>8.3f} {r['p99']:>8.3f} {r['rps']:>9.0f}")

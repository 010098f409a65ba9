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
    helix_pid: int
    baseline_url: str | None = None  # another checkout's Helix, when asked for (see `servers`)
    baseline_pid: int = 0
    bare_url: str | None = None  # the stack's bare proxy (`bench/bare_proxy.py`), when asked for
    bare_pid: int = 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) has used so far; 0 where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited early ({process.returncode})")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
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


def pinned(cpu: int | None, command: list[str]) -> list[str]:
    """`command` bound to one CPU with taskset (when there is one and taskset is installed)."""
    if cpu is None or not shutil.which("taskset"):
        return command
    return ["taskset", "-c", str(cpu), *command]


@contextmanager
def servers(
    upstream_port: int | None = None,
    helix_port: int | None = None,
    env: dict[str, str] | None = None,
    helix_cpu: int | None = None,
    upstream_cpu: int | None = None,
    baseline: Path | None = None,
    wrapper: list[str] | None = None,
    tree: Path = REPO,
    ready_seconds: float = 60,
    baseline_env: dict[str, str] | None = None,
    bare: bool = False,
) -> Iterator[Servers]:
    """The fake upstream and one Helix worker in front of it, each optionally pinned to a CPU; with
    `baseline` (another checkout, e.g. `git archive main | tar -x -C DIR`) a second Helix from that tree,
    with its own database. Ports not given are free ones (benches of other checkouts may run at the same
    time). `wrapper` (e.g. valgrind) runs the first Helix, from `tree` (this checkout by default), which
    may take `ready_seconds` to come up; `baseline_env` is added to the second Helix's environment only (the same
    tree with a feature off shows what the feature costs). `bare` also starts `bench/bare_proxy.py` on Helix's CPU.
    All stopped (by PID) on exit."""
    upstream_port = upstream_port or free_port()
    ports = [helix_port or free_port()] + ([free_port()] if baseline else [])
    homes = [tempfile.mkdtemp(prefix="helix-bench-") for _ in range(2 if baseline else 1)]
    environment = {
        **os.environ,
        "OPENAI_API_KEY": "sk-bench",
        "HF_HUB_OFFLINE": "1",  # no embedding model here: fail fast instead of retrying the hub
        "HELIX_PROVIDERS__OPENAI__BASE_URL": f"http://127.0.0.1:{upstream_port}/v1",
        **(env or {}),
    }
    upstream = subprocess.Popen(
        pinned(upstream_cpu, [sys.executable, "-m", "tests.fake_upstream", "--port", str(upstream_port)]),
        cwd=REPO,
        env=environment,
    )
    processes = [upstream]
    for home, source in zip(homes, [tree, baseline], strict=False):
        # `python -m helix` with the tree's own package first on the path (not the installed one).
        launch = f"import runpy, sys; sys.path.insert(0, {str(source)!r}); "
        launch += "runpy.run_module('helix', run_name='__main__')"
        port = ports[len(processes) - 1]
        command = [sys.executable, "-c", launch, "serve", "--port", str(port)]
        if wrapper and source == tree:
            command = [*wrapper, *command]
        own_env = {**environment, "HELIX_HOME": home, **(baseline_env or {} if source == baseline else {})}
        processes.append(subprocess.Popen(pinned(helix_cpu, command), cwd=home, env=own_env, stdout=subprocess.DEVNULL))
    helix = processes[1]
    base = processes[2] if baseline else None
    bare_port = free_port() if bare else 0
    if bare:
        proxy = [sys.executable, str(REPO / "bench" / "bare_proxy.py"), "--port", str(bare_port)]
        proxy += ["--upstream", f"http://127.0.0.1:{upstream_port}"]
        processes.append(subprocess.Popen(pinned(helix_cpu, proxy), cwd=REPO, env=environment))
    try:
        _wait_for(f"http://127.0.0.1:{upstream_port}/v1/models", upstream)
        for port, process in zip(ports, processes[1 : 1 + len(ports)], strict=True):
            _wait_for(f"http://127.0.0.1:{port}/health/ready", process, ready_seconds)
        if bare:
            _wait_for(f"http://127.0.0.1:{bare_port}/v1/models", processes[-1])
        yield Servers(
            f"http://127.0.0.1:{upstream_port}",
            f"http://127.0.0.1:{ports[0]}",
            homes[0],
            helix.pid,
            f"http://127.0.0.1:{ports[1]}" if base else None,
            base.pid if base else 0,
            f"http://127.0.0.1:{bare_port}" if bare else None,
            processes[-1].pid if bare else 0,
        )
    finally:
        _stop(processes[::-1])
        for home in homes:
            shutil.rmtree(home, ignore_errors=True)


def wrk(
    url: str,
    connections: int,
    duration: int,
    lua: Path = CHAT_LUA,
    threads: int = 1,
    cpu: int | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, float]:
    """p50/p90/p99/max latency (ms) and requests/s; any non-2xx answer aborts the benchmark."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    command = ["wrk", "-t", str(min(threads, connections)), "-c", str(connections), "-d", f"{duration}s"]
    command += ["--latency", "-s", str(lua), url]
    out = subprocess.run(
        pinned(cpu, command),
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout

    def ms(pattern: str) -> float:
        match = re.search(pattern + r"([\d.]+)(us|ms|s)\b", out)
        assert match, out
        return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{errors.group(1)} error responses from {url}:\n{out}")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert rps, out
    return {
        "p50": ms(r"50%\s+"),
        "p90": ms(r"90%\s+"),
        "p99": ms(r"99%\s+"),
        "max": ms(r"Latency\s+\S+\s+\S+\s+"),  # "Latency  avg  stdev  max  +/- stdev"
        "rps": float(rps.group(1)),
    }


def print_table(results: dict[str, dict[int, dict[str, float]]]) -> None:
    print(f"{'target':10} {'c':>3} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'req/s':>9}")
    for name, by_c in results.items():
        for c, r in by_c.items():
            print(f"{name:10} {c:>3} {r['p50']:>8.3f} {r['p90']:>8.3f} {r['p99']:>8.3f} {r['rps']:>9.0f}")

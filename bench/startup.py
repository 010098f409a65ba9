"""Time from starting `helix serve` to its first /health answer (and to /health/ready), over several starts.

    .venv/bin/python bench/startup.py                      # from source: python -m helix
    .venv/bin/python bench/startup.py --binary dist/helix  # a built binary
    .venv/bin/python bench/startup.py --models ../shared/models --runs 5

Each start gets a fresh HELIX_HOME (and HOME) in a temporary folder (with --same-home one for every start: a user's
later starts, which find what the first left in Helix's cache dir), HF_HUB_OFFLINE=1 and an OpenAI key
(no request is sent, the key only makes /health/ready reachable). With --models, `helix models pull
--from DIR` fills that HELIX_HOME first, so the semantic cache and NER load as for a user who pulled
them. The server is stopped with SIGINT by its PID after each start. Prints each run and the medians.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def _until(url: str, status: int, started: float, process: subprocess.Popen[bytes], limit: float) -> float:
    while time.perf_counter() - started < limit:
        if process.poll() is not None:
            raise SystemExit(f"helix serve exited with status {process.returncode} before {url} answered")
        if _status(url) == status:
            return time.perf_counter() - started
        time.sleep(0.01)
    raise SystemExit(f"{url} did not answer {status} within {limit} s")


def one_start(command: list[str], models: Path | None, limit: float, tmp: str) -> tuple[float, float]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": tmp,
        "HELIX_HOME": str(Path(tmp) / "data"),  # not "helix": python -m helix would import that folder
        "HF_HUB_OFFLINE": "1",
        "OPENAI_API_KEY": "sk-bench",
    }
    if models is not None:
        subprocess.run([*command, "models", "pull", "--from", str(models)], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    with serving(command, env, tmp) as (process, base):
        health = _until(f"{base}/health", 200, started, process, limit)
        ready = _until(f"{base}/health/ready", 200, started, process, limit)
    return health, ready


@contextlib.contextmanager
def serving(command: list[str], env: dict[str, str], cwd: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`helix serve` on a free 127.0.0.1 port (the process and its base URL), stopped with SIGINT by PID."""
    port = _free_port()
    process = subprocess.Popen(
        [*command, "serve", "--port", str(port)],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", type=Path, help="a built helix binary (default: python -m helix from source)")
    parser.add_argument("--models", type=Path, help="a folder to `helix models pull --from` before each start")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--limit", type=float, default=120.0, help="seconds to wait for one start")
    parser.add_argument("--same-home", action="store_true", help="one HELIX_HOME for every start, as a user's")
    args = parser.parse_args()
    command = [str(args.binary.resolve())] if args.binary else [sys.executable, "-m", "helix"]
    healths, readies = [], []
    shared = tempfile.TemporaryDirectory(prefix="helix-startup-") if args.same_home else None
    for run in range(1, args.runs + 1):
        with (
            contextlib.nullcontext(shared.name)
            if shared
            else tempfile.TemporaryDirectory(prefix="helix-startup-") as tmp
        ):
            health, ready = one_start(command, args.models, args.limit, tmp)
        healths.append(health)
        readies.append(ready)
        print(f"run {run}: /health {health:.2f} s, /health/ready {ready:.2f} s", flush=True)
    what = args.binary or "source"
    models = f", models pulled from {args.models}" if args.models else ", models as found (bundled in a binary)"
    print(
        f"{what}{models}: median time to /health {statistics.median(healths):.2f} s "
        f"(min {min(healths):.2f}, max {max(healths):.2f}); to /health/ready {statistics.median(readies):.2f} s "
        f"over {args.runs} starts{' with one HELIX_HOME' if shared else ''}"
    )
    if shared:
        shared.cleanup()


if __name__ == "__main__":
    main()

"""Idle resident memory of `helix serve` with everything loaded, and where it goes.

    .venv/bin/python bench/idle_rss.py --models ../shared/models            # from source
    .venv/bin/python bench/idle_rss.py --binary dist/helix-onedir/helix     # models bundled
    .venv/bin/python bench/idle_rss.py --models ../shared/models --int8 --runs 3  # models pull --int8

Each start runs as under `env -i`: only PATH, HOME=<an empty folder>, HF_HUB_OFFLINE=1 and an OpenAI
key (so that /health/ready can turn 200) in the environment, no config file. With --models, `helix
models pull --from DIR [--int8]` first puts the models into that HOME's data dir, as a pip user would. Once
/health/ready answers, the server idles for --settle seconds (15 by default); then VmRSS is read from
/proc/PID/status, the anonymous/file split from /proc/PID/smaps_rollup, and the mappings holding the
most resident memory from /proc/PID/smaps. `--set NAME=VALUE` adds a variable (e.g. MALLOC_ARENA_MAX=2,
or HELIX_CACHE__EMBEDDING_MODEL_PATH=DIR for another model), to compare variants.
The server is stopped with SIGINT by its PID.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from startup import _until as until
from startup import serving


def _kib(path: Path, field: str) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise SystemExit(f"{field} not in {path}")


def _python_pid(pid: int) -> int:
    """The process that runs Helix: a one-file binary's bootloader runs it in a child."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return int(children[0]) if children else pid


def top_mappings(pid: int, count: int) -> list[tuple[str, int]]:
    """Resident KiB per mapped file (anonymous memory as [anon], [heap]...), largest first."""
    sizes: Counter[str] = Counter()
    name = "[anon]"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split(None, 5)
        if head and "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            name = head[5].strip() if len(head) == 6 else "[anon]"
            name = Path(name).name if name.startswith("/") else name
        elif line.startswith("Rss:"):
            sizes[name] += int(line.split()[1])
    return sizes.most_common(count)


def one_start(
    command: list[str], pull: list[str], extra: dict[str, str], settle: float, limit: float
) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="helix-rss-") as tmp:
        env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "HF_HUB_OFFLINE": "1", "OPENAI_API_KEY": "sk-bench"}
        env.update({name: value for name, value in extra.items() if value})
        if pull:
            subprocess.run([*command, "models", "pull", *pull], env=env, check=True, capture_output=True)
        with serving(command, env, tmp) as (process, base):
            until(f"{base}/health/ready", 200, time.perf_counter(), process, limit)
            time.sleep(settle)
            pid = _python_pid(process.pid)
            status = Path(f"/proc/{pid}/status")
            rollup = Path(f"/proc/{pid}/smaps_rollup")
            return {
                "rss": _kib(status, "VmRSS") / 1024,
                "anon": _kib(rollup, "Anonymous") / 1024,
                "file": (_kib(rollup, "Rss") - _kib(rollup, "Anonymous")) / 1024,
                "threads": _kib(status, "Threads"),
                "top": top_mappings(pid, 12),
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", type=Path, help="a built helix binary (default: python -m helix from source)")
    parser.add_argument("--models", type=Path, help="a folder to `helix models pull --from` before each start")
    parser.add_argument("--int8", action="store_true", help="with --models: pull the embedding model as int8")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="extra environment")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--settle", type=float, default=15.0, help="seconds idle after /health/ready")
    parser.add_argument("--limit", type=float, default=180.0, help="seconds to wait for /health/ready")
    parser.add_argument("--top", action="store_true", help="print the mappings holding the most memory")
    args = parser.parse_args()
    command = [str(args.binary.resolve())] if args.binary else [sys.executable, "-m", "helix"]
    pull = ["--from", str(args.models), *(["--int8"] if args.int8 else [])] if args.models else []
    extra = dict(item.partition("=")[::2] for item in args.set)
    rss = []
    for run in range(1, args.runs + 1):
        found = one_start(command, pull, extra, args.settle, args.limit)
        rss.append(float(found["rss"]))  # type: ignore[arg-type]
        print(
            f"run {run}: VmRSS {found['rss']:.0f} MiB (anonymous {found['anon']:.0f}, file-backed "
            f"{found['file']:.0f}), {found['threads']} threads",
            flush=True,
        )
        if args.top:
            for name, kib in found["top"]:  # type: ignore[attr-defined]
                print(f"    {kib / 1024:7.1f} MiB  {name}")
    load = os.getloadavg()[0]
    what = f"{args.binary or 'source'}{' (int8 pulled)' if args.int8 else ''}"
    print(
        f"{what} {' '.join(args.set)}: median idle VmRSS {statistics.median(rss):.0f} MiB "
        f"over {args.runs} starts (load {load:.1f})"
    )


if __name__ == "__main__":
    main()

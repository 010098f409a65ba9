"""Instructions per request on the hot path, counted by valgrind's callgrind: a figure the load on a shared
machine does not move, for deciding between two versions when the wall clock cannot.

`helix serve` (default config: PII firewall on, dashboard on, request log, limits, cache) runs under
`valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes`; the fake upstream runs natively. For
each path, warm-up requests, then instrumentation on (`callgrind_control -i on`), N requests one after the
other over one keep-alive connection, instrumentation off and a dump; the figure is the instructions of
Helix's main thread (the event loop) and of all its threads, over N. Paths, the bodies `bench/chat_no_cache.lua`
and `bench/chat.lua` send:

  miss     a small chat completion, a new prompt each time, `Cache-Control: no-cache, no-store`
  stored   the same miss with the cache at its defaults: looked up (exact and semantic) and its answer, checked by
           the PII firewall, stored; what a user's miss costs
  stream   a streamed chat completion of 24 chunks, a new prompt each time, cache bypassed
  hit      one request repeated: exact cache hits
  history  a chat of 20 messages resent with a new question each time (the way chat apps call), cache bypassed

    python bench/instructions.py [--paths miss,stream,hit] [--requests 200] [--warmup 60]
    python bench/instructions.py --baseline DIR   # DIR's Helix too (git archive main | tar -x -C DIR), after

Counts repeat to within a few percent, not exactly: the timers (0.5 s polls, the writer's window) run as
often as the slow, instrumented process takes wall time. Needs valgrind (Debian: apt-get install valgrind).
"""

from __future__ import annotations

import argparse
import itertools
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from harness import REPO, free_port, servers

PROMPTS = itertools.count()
RUN = f"{time.time_ns():x}"
HISTORY = [{"role": "system", "content": "You are a patient assistant who explains how to set up a home network."}] + [
    {
        "role": "user" if turn % 2 == 0 else "assistant",
        "content": f"Turn {turn}: " + "the router sits in the hall and the signal is weak upstairs, so what now? " * 3,
    }
    for turn in range(19)
]


def _body(path: str) -> dict[str, object]:
    if path == "hit":
        return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello, instructions."}]}
    n = next(PROMPTS)
    if path == "history":
        return {"model": "gpt-4o-mini", "messages": [*HISTORY, {"role": "user", "content": f"And the next step, {n}?"}]}
    if path == "stream":
        prompt = f"Tell me a story named {RUN[-7:]}-{n:06d}, keep it short and calm; a single line here."
        return {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": prompt}]}
    return {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": f"Give me one word for happy, variant {RUN[-7:]}-{n}."},
        ],
        "temperature": 0,
    }


def _send(client: httpx.Client, url: str, path: str) -> None:
    headers = {"authorization": "Bearer bench"}
    if path not in ("hit", "stored"):
        headers["cache-control"] = "no-cache, no-store"
    with client.stream("POST", url, json=_body(path), headers=headers) as response:
        body = response.read()
        assert response.status_code == 200, body
        if path == "stream":
            assert body.count(b"data: ") == 25, body  # 24 chunks and [DONE]
        elif path == "hit" and response.headers.get("x-helix-cache") != "HIT-EXACT":
            raise SystemExit(f"not an exact hit: {response.headers}")


def _totals(prefix: Path, part: int) -> tuple[int, int]:
    """(main thread, all threads) instructions of one dump: files `prefix.<part>-<thread>`."""
    main = every = 0
    for file in prefix.parent.glob(f"{prefix.name}.{part}-*"):
        text = file.read_text(errors="replace")
        match = re.search(r"^totals: (\d+)", text, re.MULTILINE)
        count = int(match.group(1)) if match else 0
        every += count
        if file.name.endswith("-01"):
            main = count
    return main, every


def measure(tree: Path, paths: list[str], requests: int, warmup: int) -> dict[str, tuple[float, float]]:
    out = Path(tempfile.mkdtemp(prefix="helix-callgrind-"))
    prefix = out / "cg"
    valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--separate-threads=yes"]
    valgrind.append(f"--callgrind-out-file={prefix}")
    results: dict[str, tuple[float, float]] = {}
    with servers(helix_port=free_port(), wrapper=valgrind, tree=tree, ready_seconds=600) as running:
        url = f"{running.helix_url}/v1/chat/completions"
        control = ["callgrind_control"]
        with httpx.Client(timeout=120) as client:
            for part, path in enumerate(paths, start=1):
                if path == "hit":  # the first is a miss that stores the answer; the cache writes it behind
                    client.post(url, json=_body(path), headers={"authorization": "Bearer bench"}).raise_for_status()
                    time.sleep(1)
                for _ in range(warmup):
                    _send(client, url, path)
                subprocess.run([*control, "-i", "on", str(running.helix_pid)], check=True, capture_output=True)
                for _ in range(requests):
                    _send(client, url, path)
                subprocess.run([*control, "-i", "off", str(running.helix_pid)], check=True, capture_output=True)
                subprocess.run([*control, "-d", str(running.helix_pid)], check=True, capture_output=True)
                time.sleep(1)
                main, every = _totals(prefix, part)
                results[path] = (main / requests, every / requests)
                print(f"{tree.name or tree}: {path}: {main / requests:,.0f} main thread, {every / requests:,.0f} all")
    print(f"callgrind's files (for callgrind_annotate): {out}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paths", default="miss,stream,hit")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--baseline", type=Path, help="another checkout, measured after this one")
    args = parser.parse_args()
    paths = [p for p in args.paths.split(",") if p]
    trees = {"helix": REPO} | ({"base": args.baseline.resolve()} if args.baseline else {})
    figures = {name: measure(tree, paths, args.requests, args.warmup) for name, tree in trees.items()}
    print("\n| path | tree | instructions/request, main thread | all threads |")
    print("|---|---|---:|---:|")
    for path in paths:
        for name, by_path in figures.items():
            main_thread, every = by_path[path]
            print(f"| {path} | {name} | {main_thread:,.0f} | {every:,.0f} |")
        if "base" in figures:
            new, base = figures["helix"][path], figures["base"][path]
            print(f"| {path} | helix/base | {new[0] / base[0]:.3f} | {new[1] / base[1]:.3f} |")


if __name__ == "__main__":
    sys.exit(main())

"""PII work per request for a chat resent turn after turn: the same history with a new question each time.

    python bench/pii_history.py [--requests 300] [--messages 2,10,20,40]
    python bench/pii_history.py --baseline DIR [--rounds 3]   # and DIR's helix, in turns, fresh processes

What `helix serve` does to each request body (`redact_body`, pattern-only engine, result cache on as in the
server), timed per request after a warm-up turn; median microseconds for chats of each length. The history
is ordinary prose (no PII), the way most chat traffic is; only the last message is new each time.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

if "--tree" in sys.argv:  # the checkout whose helix is measured (see --baseline)
    sys.path.insert(0, sys.argv[sys.argv.index("--tree") + 1])
else:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helix.pii.analyzer import PiiEngine
from helix.pii.config import PiiConfig
from helix.pii.redact import Redactor, redact_body

SENTENCE = (
    "the router sits in the hall and the signal upstairs is weak so I moved it near the stairs but the laptop "
    "still drops the connection every few minutes while the phone keeps working which seems odd to me"
)
WORDS = SENTENCE.split()


def history(messages: int) -> list[dict[str, str]]:
    rng = random.Random(messages)
    chat = [{"role": "system", "content": "You are a patient assistant who explains home networks."}]
    for turn in range(messages - 2):
        text = " ".join(rng.choice(WORDS) for _ in range(60))
        chat.append({"role": "user" if turn % 2 == 0 else "assistant", "content": f"{text} ({turn})."})
    return chat


def per_request_us(messages: int, requests: int) -> float:
    redactor = Redactor(PiiEngine(PiiConfig(spacy_model="off")))
    chat = history(messages)
    times = []
    for n in range(requests + 1):
        body = {"model": "m", "messages": [*copy.deepcopy(chat), {"role": "user", "content": f"And now, {n}?"}]}
        began = time.perf_counter()
        redact_body(body, redactor)
        if n:  # the first turn analyses the whole history
            times.append(time.perf_counter() - began)
    return statistics.median(times) * 1e6


def _figures(sizes: list[int], requests: int) -> dict[int, float]:
    return {size: per_request_us(size, requests) for size in sizes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--messages", default="2,10,20,40")
    parser.add_argument("--baseline", type=Path, help="another checkout, measured in turns with this one")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(s) for s in args.messages.split(",")]
    if args.json:
        print(json.dumps(_figures(sizes, args.requests)))
        return
    if args.baseline is None:
        for size, us in _figures(sizes, args.requests).items():
            print(f"{size:3} messages: {us:8.1f} us per request")
        return
    trees = {"helix": Path(__file__).resolve().parents[1], "base": args.baseline.resolve()}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            command = [sys.executable, __file__, "--json", "--tree", str(tree), "--requests", str(args.requests)]
            out = subprocess.run([*command, "--messages", args.messages], capture_output=True, text=True, check=True)
            runs[name].append(json.loads(out.stdout))
    print("| messages | helix us/request | base us/request | helix/base |")
    print("|---:|---:|---:|---:|")
    for size in sizes:
        new, base = (statistics.median(r[str(size)] for r in runs[name]) for name in trees)
        print(f"| {size} | {new:.1f} | {base:.1f} | {new / base:.2f} |")


if __name__ == "__main__":
    main()

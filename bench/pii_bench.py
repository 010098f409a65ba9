"""PII engine latency: analyze + redact of one ~2 KB prompt, pattern-only and with a spaCy NER model.

    python bench/pii_bench.py [--iterations 500] [--model /path/to/spacy-model | --no-ner]
    python bench/pii_bench.py --baseline DIR [--rounds 3]   # ratios against another checkout

`--baseline DIR` (e.g. `git archive <commit> | tar -x -C DIR`) runs this bench on DIR's `helix` and
on this one in turns, in fresh processes, and prints each mode's figures and new/base ratios: on a
shared machine only figures taken side by side compare.

Targets (issue 10): p99 <= 3 ms pattern-only, <= 15 ms with NER. The redactor does what a request
gets: canonical views, seams, NER only around name candidates. On a shared machine wall-clock
percentiles swing with the load; `cpu ms` (process time per call) is the steadier figure.
The result cache is disabled for the measured runs (each
iteration would otherwise be a cache hit); the last row shows what a cached history message costs.
After building the engine the bench collects and freezes the heap (`gc.freeze()`), as `helix serve`
does after start-up (helix/gateway.py), so full collections do not re-scan spaCy's and Presidio's
objects; `--no-freeze` measures without that.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

if "--tree" in sys.argv:  # the checkout whose helix is measured (see --baseline)
    sys.path.insert(0, sys.argv[sys.argv.index("--tree") + 1])
else:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helix.pii.analyzer import PiiEngine
from helix.pii.config import PiiConfig
from helix.pii.redact import Redactor

DEFAULT_MODEL = "/work/shared/models/spacy-en_core_web_sm-3.8.0"

PROMPT = """\
Hi, I'm Daniel Okafor from the platform team in Lagos. Our nightly export job started failing after we
upgraded from v2.14.3 to v2.15.0 last Tuesday (build 2024.03.15.1). The job runs on 10.0.3.17 and pushes
to the reporting replica; the error in the log is:

    psycopg2.OperationalError: connection to server at "db-replica.internal" (10.0.3.18), port 5432
    failed: FATAL: password authentication failed for user "reporting"

The DATABASE_URL in the job config is postgres://reporting:Xq7!mR2pLw9z@db-replica.internal:5432/orders
and it has not changed since January. The same credentials work from my laptop. Could the new version be
reading a different env var? Here is the relevant part of settings.py:

    import os
    DATABASES = {"default": {"NAME": "orders", "USER": os.environ["DB_USER"], "PORT": 5432}}
    CELERY_BROKER_URL = os.environ.get("BROKER_URL", "redis://localhost:6379/0")

If you need to reach me, my mobile is +44 7911 123456 or email daniel.okafor@globex.io. For the vendor
ticket (#48213) they asked for the invoice INV-2024-00042 and the card used, 4111 1111 1111 1111, which
I'd rather not paste into their portal. The deploy commit is 3f786850e387550fdab836ed7e6dc881de23001b and
the AWS key that the job uses is AKIA4UJE5SGZ278V65E5 in us-east-1; the S3 bucket and EC2 instance are fine.

Finance also asked me to double-check the refund for the duplicate invoice: it went to IBAN
DE44 5001 0517 5407 3249 31 instead of the vendor's GB85 BARC 2004 0441 2345 67, and their AP contact
(+49 30 901820) says nothing arrived. Stack trace from the retry worker, in case it matters:

    File "/srv/export/worker.py", line 218, in run_batch
      rows = fetch(cursor, since=1712345678, limit=5000)
    TimeoutError: batch 88213 exceeded 30s

What should I check first, and can you write a short runbook for the on-call engineer (Sofia Esposito)
covering: verifying the env vars, testing the connection with psql, rotating the password, and rolling
back to v2.14.3 if needed? Please keep it under 300 words and use numbered steps.
"""


def _percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _measure(fn: Callable[[], object], iterations: int) -> tuple[list[float], float]:
    """Wall-clock milliseconds per call, and mean CPU (process) milliseconds per call."""
    for _ in range(min(20, iterations)):
        fn()
    samples = []
    cpu_start = time.process_time()
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples, (time.process_time() - cpu_start) * 1000 / iterations


def _row(label: str, build_s: float, measured: tuple[list[float], float], findings: int) -> str:
    samples, cpu = measured
    p50, p99 = _percentile(samples, 50), _percentile(samples, 99)
    return (
        f"{label:<34} {build_s:>7.2f} {p50:>8.2f} {p99:>8.2f} {statistics.fmean(samples):>8.2f} "
        f"{max(samples):>8.2f} {cpu:>8.2f} {findings:>8}"
    )


def _redactor(cfg: PiiConfig, cache_size: int, freeze: bool) -> Redactor:
    redactor = Redactor(PiiEngine(cfg, cache_size=cache_size), hash_key="bench-key-0123456789")
    if freeze:  # what `helix serve` does once everything is loaded
        gc.collect()
        gc.freeze()
    return redactor


def _bench(label: str, cfg: PiiConfig, iterations: int, freeze: bool, cache_size: int = 0) -> str:
    start = time.perf_counter()
    redactor = _redactor(cfg, cache_size, freeze)
    build_s = time.perf_counter() - start
    findings = sum(s.count for s in redactor.redact([PROMPT]).findings.values())
    return _row(label, build_s, _measure(lambda: redactor.redact([PROMPT]), iterations), findings)


def _figures(cfg: PiiConfig, iterations: int, freeze: bool) -> dict[str, float]:
    redactor = _redactor(cfg, 0, freeze)
    samples, cpu = _measure(lambda: redactor.redact([PROMPT]), iterations)
    return {"p50": _percentile(samples, 50), "p99": _percentile(samples, 99), "cpu": cpu}


def _json_rows(args: argparse.Namespace) -> None:
    freeze = not args.no_freeze
    rows = {"pattern-only": _figures(PiiConfig(spacy_model="off"), args.iterations, freeze)}
    if not args.no_ner and Path(args.model).exists():
        rows["ner"] = _figures(PiiConfig(spacy_model=args.model), args.iterations, freeze)
    print(json.dumps(rows))


def _compare(args: argparse.Namespace) -> None:
    base = str(Path(args.baseline).resolve())
    command = [sys.executable, __file__, "--json", "-n", str(args.iterations), "--model", args.model]
    command += ["--no-ner"] if args.no_ner else []
    command += ["--no-freeze"] if args.no_freeze else []
    runs: dict[str, list[dict[str, dict[str, float]]]] = {"base": [], "new": []}
    for _ in range(args.rounds):
        for label, extra in (("base", ["--tree", base]), ("new", [])):
            out = subprocess.run(command + extra, capture_output=True, text=True, check=True).stdout
            runs[label].append(json.loads(out.strip().splitlines()[-1]))
    heap = "heap not frozen" if args.no_freeze else "heap frozen as by helix serve"
    print(f"prompt: {len(PROMPT)} chars, {args.iterations} iterations x {args.rounds} rounds, {heap}, base = {base}")
    print(f"{'mode':<14} {'figure':<6} {'base':>8} {'new':>8} {'new/base':>9}")
    for mode in runs["new"][0]:
        for figure in ("p50", "p99", "cpu"):
            b = statistics.median(r[mode][figure] for r in runs["base"])
            n = statistics.median(r[mode][figure] for r in runs["new"])
            print(f"{mode:<14} {figure:<6} {b:>8.2f} {n:>8.2f} {n / b:>9.2f}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", "-n", type=int, default=500)
    parser.add_argument("--model", default=DEFAULT_MODEL, help="spaCy model folder or package (NER row)")
    parser.add_argument("--no-ner", action="store_true", help="skip the NER row")
    parser.add_argument("--baseline", help="another checkout to compare with, in turns (medians of --rounds)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-freeze", action="store_true", help="leave the heap unfrozen (see above)")
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        _compare(args)
        return
    if args.json:
        _json_rows(args)
        return

    heap = "heap not frozen" if args.no_freeze else "heap frozen as by helix serve"
    print(f"prompt: {len(PROMPT)} chars, {args.iterations} iterations, analyze + redact, result cache off, {heap}")
    columns = ("build s", "p50 ms", "p99 ms", "mean ms", "max ms", "cpu ms", "findings")
    header = f"{'mode':<34} {columns[0]:>7} " + " ".join(f"{c:>8}" for c in columns[1:])
    print(header)
    print("-" * len(header))
    freeze = not args.no_freeze
    print(_bench("pattern-only", PiiConfig(spacy_model="off"), args.iterations, freeze))
    if not args.no_ner:
        if not Path(args.model).exists():
            print(f"ner: skipped, {args.model} not found")
        else:
            cfg = PiiConfig(spacy_model=args.model)
            print(_bench(f"ner ({Path(args.model).name})", cfg, args.iterations, freeze))
    cached = PiiConfig(spacy_model="off")
    print(_bench("pattern-only, cached repeat", cached, args.iterations, freeze, cache_size=16))
    print(f"max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()

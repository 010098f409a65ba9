"""Measure the semantic cache's decision (cosine floor + must-match facts + trained judge) on labelled pairs.

    python bench/semantic_eval.py [--model-path DIR] [--judge-model DIR] [--show-errors]

Pairs come from `tests/data/support_intents.jsonl` (by split: two ways of asking one intent are "same";
questions of different intents are "different", `confusable` when from one family of near-misses) and,
as a regression set, the pairs of `tests/data/semantic_pairs.jsonl`. Prints precision and recall per
split at the shipped defaults, then a sweep of the judge threshold, then the cache replay of each split
(`tests.labelled.replay`: the questions asked in turn, misses stored; hits and wrong answers). The default
threshold is chosen on "dev": the most replay hits with no wrong answer. "test" is never tuned on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from helix.cache.embedder import Embedder, EmbedderUnavailable  # noqa: E402
from helix.cache.judge import CrossEncoder, Judge  # noqa: E402
from helix.config import CacheConfig  # noqa: E402
from tests.labelled import Pair, Scored, count, load_intents, replay, score_pairs, split_pairs  # noqa: E402
from tests.remembered import Remembered  # noqa: E402

DEFAULT_MODEL_PATH = REPO.parent / "shared" / "models" / "all-MiniLM-L6-v2-onnx"
OLD_PAIRS = REPO / "tests" / "data" / "semantic_pairs.jsonl"
TARGET_PRECISION = 0.99
DEFAULT_FLOOR = CacheConfig().threshold
DEFAULT_JUDGE_THRESHOLD = CacheConfig().judge_threshold


def choose(rows: list[Scored], floors: list[float]) -> tuple[float, float]:
    """The (floor, judge threshold) with the best recall at precision >= target and no confusable hit."""
    best = (0.0, DEFAULT_FLOOR, 1.0)
    for floor in floors:
        for step in range(50, 100):
            threshold = step / 100
            c = count(rows, floor, threshold)
            if c.precision >= TARGET_PRECISION and c.confusable_fp == 0 and c.recall > best[0]:
                best = (c.recall, floor, threshold)
    return best[1], best[2]


def old_pairs() -> dict[str, list[Pair]]:
    out: dict[str, list[Pair]] = {}
    for line in OLD_PAIRS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        kind = "paraphrase" if row["same"] else "confusable"
        out.setdefault(f"old-{row['split']}", []).append(Pair(row["a"], row["b"], bool(row["same"]), kind))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-path", default=os.environ.get("HELIX_EMBEDDING_MODEL_PATH", str(DEFAULT_MODEL_PATH)))
    parser.add_argument("--judge-model", type=Path, default=None, help="folder with judge.onnx (default: shipped)")
    parser.add_argument("--show-errors", action="store_true", help="list wrong hits and missed paraphrases")
    args = parser.parse_args(argv)

    intents = load_intents()
    sets = {split: split_pairs(intents, split) for split in ("dev", "test")} | old_pairs()
    floors = [0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7]
    model = Remembered(CrossEncoder(args.judge_model))
    judge = Judge(model, threshold=0.0)
    try:
        embedder = Embedder(model_path=args.model_path)
        scored = {name: score_pairs(pairs, embedder, judge, min(floors)) for name, pairs in sets.items()}
    except EmbedderUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"defaults: floor {DEFAULT_FLOOR}, judge threshold {DEFAULT_JUDGE_THRESHOLD}")
    for name, rows in scored.items():
        print(f"  {name:<9} {count(rows, DEFAULT_FLOOR, DEFAULT_JUDGE_THRESHOLD).line()}")
    floor, threshold = choose(scored["dev"], floors)
    print(f"\nchosen on dev: floor {floor}, judge threshold {threshold}")
    for name, rows in scored.items():
        print(f"  {name:<9} {count(rows, floor, threshold).line()}")
    print("\nsweep at the default floor (precision/recall):")
    print("threshold " + "".join(f"{name:>16}" for name in scored))
    for t in (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99):
        cells = [count(rows, DEFAULT_FLOOR, t) for rows in scored.values()]
        print(f"{t:>9.2f} " + "".join(f"     {c.precision:.3f}/{c.recall:.3f}" for c in cells))
    print(f"\ncache replay ({CacheConfig().candidates} candidates, floor {DEFAULT_FLOOR}, 5 orders):")
    for t in sorted({0.8, 0.85, 0.9, 0.95, DEFAULT_JUDGE_THRESHOLD}):
        for split in ("dev", "test"):
            played = replay(intents, split, embedder, Judge(model, t), DEFAULT_FLOOR, CacheConfig().candidates)
            print(f"  threshold {t:.2f} {split:<5} {played.line()}")
    if args.show_errors:
        for name in ("dev", "test"):
            print(f"\n{name}: wrong hits")
            for r in scored[name]:
                if not r.pair.same and r.accepted(DEFAULT_FLOOR, DEFAULT_JUDGE_THRESHOLD):
                    print(f"  {r.similarity:.2f} {r.score:.2f} {r.pair.a!r} ~ {r.pair.b!r}")
            print(f"{name}: missed paraphrases")
            for r in scored[name]:
                if r.pair.same and not r.accepted(DEFAULT_FLOOR, DEFAULT_JUDGE_THRESHOLD):
                    why = r.reason or f"judge {r.score:.2f}"
                    print(f"  {r.similarity:.2f} {why} | {r.pair.a!r} ~ {r.pair.b!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

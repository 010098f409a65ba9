"""Evaluate the semantic-cache decision (cosine floor + verifier) on labelled question pairs.

    python bench/semantic_eval.py [--model-path DIR] [--data tests/data/semantic_pairs.jsonl]
                                  [--threshold X] [--show-misses]

Embeds every pair with the real model, then reports precision / recall / F1 per split and per kind,
lists the false positives, and sweeps the threshold (verified vs cosine-only). The suggested
threshold is derived from the "tune" split only; "test" is the held-out estimate.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from helix.cache.embedder import Embedder, EmbedderUnavailable  # noqa: E402
from helix.cache.verify import DEFAULT_THRESHOLD, Verdict, verify  # noqa: E402

DEFAULT_MODEL_PATH = REPO.parent / "shared" / "models" / "all-MiniLM-L6-v2-onnx"
SWEEP = (0.0, 0.5, 0.6, 0.65, 0.7, 0.72, 0.75, 0.78, 0.8, 0.82, 0.85, 0.88, 0.9, 0.92, 0.95)
RECALL_TOLERANCE = 0.02  # how much tune recall the floor may cost, relative to a floor of 0.50


@dataclass(frozen=True)
class Scored:
    pair: dict[str, object]
    similarity: float
    verdict: Verdict  # computed with threshold 0: the floor is applied separately

    @property
    def same(self) -> bool:
        return bool(self.pair["same"])

    def accepted(self, threshold: float) -> bool:
        return self.similarity >= threshold and self.verdict.accepted


@dataclass(frozen=True)
class Counts:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_pairs(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def score_pairs(pairs: list[dict[str, object]], embedder: Embedder) -> list[Scored]:
    texts = sorted({str(p["a"]) for p in pairs} | {str(p["b"]) for p in pairs})
    vectors = dict(zip(texts, embedder.embed(texts), strict=True))
    scored = []
    for p in pairs:
        a, b = str(p["a"]), str(p["b"])
        similarity = float(vectors[a] @ vectors[b])
        scored.append(Scored(p, similarity, verify(a, b, similarity, 0.0)))
    return scored


def count(rows: list[Scored], threshold: float, verified: bool = True) -> Counts:
    tp = fp = fn = tn = 0
    for r in rows:
        hit = r.accepted(threshold) if verified else r.similarity >= threshold
        tp += hit and r.same
        fp += hit and not r.same
        fn += not hit and r.same
        tn += not hit and not r.same
    return Counts(tp, fp, fn, tn)


def by_split(rows: list[Scored]) -> dict[str, list[Scored]]:
    splits: dict[str, list[Scored]] = defaultdict(list)
    for r in rows:
        splits[str(r.pair.get("split", "all"))].append(r)
    return dict(sorted(splits.items(), key=lambda kv: kv[0] != "tune"))


def suggest_threshold(tune: list[Scored]) -> float:
    baseline = count(tune, 0.5).recall
    ok = [t for t in SWEEP if t >= 0.5 and count(tune, t).recall >= baseline - RECALL_TOLERANCE]
    return max(ok)


def print_splits(splits: dict[str, list[Scored]], threshold: float) -> None:
    print(f"\n== threshold {threshold:.2f}: cosine floor + verifier ==")
    print(
        f"{'split':<6} {'pairs':>5} {'tp':>4} {'fp':>4} {'fn':>4} {'tn':>4}  "
        f"{'prec':>6} {'recall':>6} {'f1':>6}   cosine-only prec/recall"
    )
    for name, rows in splits.items():
        c, raw = count(rows, threshold), count(rows, threshold, verified=False)
        print(
            f"{name:<6} {len(rows):>5} {c.tp:>4} {c.fp:>4} {c.fn:>4} {c.tn:>4}  {c.precision:>6.3f} "
            f"{c.recall:>6.3f} {c.f1:>6.3f}   {raw.precision:.3f} / {raw.recall:.3f}"
        )


def print_kinds(splits: dict[str, list[Scored]], threshold: float) -> None:
    print("\n== per kind: paraphrase kinds show recall, near-miss kinds show how many were served ==")
    kinds = sorted(
        {(str(r.pair["kind"]), r.same) for rows in splits.values() for r in rows},
        key=lambda k: (not k[1], k[0]),
    )
    print(f"{'kind':<12} {'label':<9}" + "".join(f" {name:>16}" for name in splits))
    for kind, same in kinds:
        cells = []
        for rows in splits.values():
            group = [r for r in rows if r.pair["kind"] == kind and r.same == same]
            served = sum(r.accepted(threshold) for r in group)
            cells.append(f"{served:>3}/{len(group):<3} served" if group else "")
        print(f"{kind:<12} {'same' if same else 'differ':<9}" + "".join(f" {c:>16}" for c in cells))


def print_false_positives(rows: list[Scored], threshold: float) -> None:
    fps = [r for r in rows if r.accepted(threshold) and not r.same]
    print(f"\n== false positives at {threshold:.2f}: {len(fps)} ==")
    for r in fps:
        print(f"  {r.similarity:.3f} [{r.pair['split']}/{r.pair['kind']}] {r.pair['a']!r} | {r.pair['b']!r}")


def print_misses(rows: list[Scored], threshold: float) -> None:
    misses = [r for r in rows if r.same and not r.accepted(threshold)]
    print(f"\n== paraphrases not served at {threshold:.2f}: {len(misses)} ==")
    for r in sorted(misses, key=lambda r: r.verdict.reason):
        why = r.verdict.reason if r.similarity >= threshold else "below threshold"
        print(f"  {r.similarity:.3f} [{r.pair['split']}] {r.pair['a']!r} | {r.pair['b']!r} -> {why}")


def print_sweep(splits: dict[str, list[Scored]]) -> None:
    print("\n== threshold sweep: verified P/R (cosine-only P/R) ==")
    print(f"{'thresh':>6}" + "".join(f" {name + ' verified':>17} {name + ' cosine':>15}" for name in splits))
    for t in SWEEP:
        cells = []
        for rows in splits.values():
            c, raw = count(rows, t), count(rows, t, verified=False)
            cells.append(f" {c.precision:>8.3f}/{c.recall:.3f} {raw.precision:>8.3f}/{raw.recall:.3f}")
        print(f"{t:>6.2f}" + "".join(cells))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-path", default=os.environ.get("HELIX_EMBEDDING_MODEL_PATH", str(DEFAULT_MODEL_PATH)))
    parser.add_argument("--data", default=str(REPO / "tests" / "data" / "semantic_pairs.jsonl"))
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--show-misses", action="store_true", help="list the paraphrases that were not served")
    args = parser.parse_args(argv)

    try:
        rows = score_pairs(load_pairs(Path(args.data)), Embedder(model_path=args.model_path))
    except EmbedderUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    splits = by_split(rows)
    print(f"model: {args.model_path}\ndata: {args.data} ({len(rows)} pairs)")
    print_splits(splits, args.threshold)
    print_kinds(splits, args.threshold)
    print_false_positives(rows, args.threshold)
    if args.show_misses:
        print_misses(rows, args.threshold)
    print_sweep(splits)
    if "tune" in splits:
        print(
            f"\nsuggested threshold (from tune only, recall within {RECALL_TOLERANCE} of the 0.50 floor): "
            f"{suggest_threshold(splits['tune']):.2f}; DEFAULT_THRESHOLD = {DEFAULT_THRESHOLD:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

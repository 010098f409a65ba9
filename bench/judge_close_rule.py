"""Would a lower judge threshold for close pairs find more paraphrases safely? Dev data only.

Rule: serve when P >= JUDGE (0.88), or P >= t2 and cosine >= c. Reads the dev split of
`tests/data/support_intents.jsonl` and the `tune` split of `tests/data/semantic_pairs.jsonl`, never a test split.
The int8 judge's score for a pair moves with the other sequences in its batch, so wrong pairs are counted in
three batchings: both orders of 32 pairs a batch (before 2026-12-03), the current one (second orders only where
needed, as `bench/semantic_eval.py` reads them) and each sequence alone. For each c it prints the lowest t2
with no wrong dev pair, in the current batching and in all three, with the dev cache replay at that rule.

    python bench/judge_close_rule.py [--model-path DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.semantic_eval import DEFAULT_MODEL_PATH, old_pairs  # noqa: E402
from helix.cache.embedder import Embedder  # noqa: E402
from helix.cache.judge import CrossEncoder, Judge, Verdict  # noqa: E402
from helix.config import CacheConfig  # noqa: E402
from tests.labelled import Scored, load_intents, replay, score_pairs, split_pairs  # noqa: E402
from tests.remembered import Remembered  # noqa: E402

FLOOR = CacheConfig().threshold
JUDGE = CacheConfig().judge_threshold


class _Alone(CrossEncoder):
    def probabilities(self, pairs: list[tuple[str, str]]) -> list[float]:
        read_one = super().probabilities  # zero-argument super() does not work inside a comprehension
        return [p for pair in pairs for p in read_one([pair])]


class _BothOrders(Judge):
    def verify_pairs(
        self, pairs: Sequence[tuple[str, str, float]], floor: float, both_orders: bool = False
    ) -> list[Verdict]:
        return super().verify_pairs(pairs, floor, both_orders=True)


class _CloseRule(_BothOrders):
    def __init__(self, model: CrossEncoder, t2: float, c: float) -> None:
        super().__init__(model, 0.0)
        self.t2, self.c = t2, c

    def verify_pairs(
        self, pairs: Sequence[tuple[str, str, float]], floor: float, both_orders: bool = False
    ) -> list[Verdict]:
        return [
            Verdict(serves(v.score, v.similarity, self.t2, self.c), v.similarity, v.score, v.reason)
            for v in super().verify_pairs(pairs, floor)
        ]


def serves(score: float | None, similarity: float, t2: float, c: float) -> bool:
    return score is not None and (score >= JUDGE or (score >= t2 and similarity >= c))


def tally(rows: list[Scored], t2: float, c: float) -> tuple[int, int]:
    """(paraphrase pairs served, different pairs served)"""
    served = [r for r in rows if serves(r.score, r.similarity, t2, c)]
    return sum(r.pair.same for r in served), sum(not r.pair.same for r in served)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-path", default=os.environ.get("HELIX_EMBEDDING_MODEL_PATH", str(DEFAULT_MODEL_PATH)))
    args = parser.parse_args()
    embedder = Embedder(model_path=args.model_path)
    intents = load_intents()
    sets = {"dev": split_pairs(intents, "dev"), "old-tune": old_pairs()["old-tune"]}
    current = Remembered(CrossEncoder())
    judges = {"before": _BothOrders(CrossEncoder(), 0.0), "current": Judge(current, 0.0), "alone": Judge(_Alone(), 0.0)}
    rows = {
        (b, name): score_pairs(pairs, embedder, j, FLOOR) for b, j in judges.items() for name, pairs in sets.items()
    }
    baseline = {key: tally(r, JUDGE, 1.0) for key, r in rows.items()}
    print(f"at {JUDGE} alone (paraphrase pairs, wrong pairs): {baseline}")
    print(f"dev replay at {JUDGE}: {replay(intents, 'dev', embedder, Judge(current, JUDGE), FLOOR, 5).line()}")
    for scope in (["current"], list(judges)):
        print(f"\nlowest t2 per c with no more wrong pairs than at {JUDGE}, batchings: {', '.join(scope)}")
        for c in [x / 100 for x in range(50, 100, 2)]:
            for t2 in [x / 100 for x in range(50, round(JUDGE * 100))]:
                counts = {key: tally(r, t2, c) for key, r in rows.items() if key[0] in scope}
                safe = all(counts[key][1] <= baseline[key][1] for key in counts)
                if safe and counts[("current", "dev")][0] > baseline[("current", "dev")][0]:
                    played = replay(intents, "dev", embedder, _CloseRule(current, t2, c), FLOOR, 5)
                    gains = ", ".join(f"{b} {s} +{counts[(b, s)][0] - baseline[(b, s)][0]}" for b, s in counts)
                    print(f"  c {c:.2f} t2 {t2:.2f}: paraphrase pairs {gains}; dev replay {played.line()}")
                    break


if __name__ == "__main__":
    main()

"""Choose between judge models on selection data only: never a test split.

    python bench/judge_select.py DIR [DIR ...]      # each DIR holds a judge.onnx and tokenizer.json
    python bench/judge_select.py DIR --at 0.95       # the second line at 0.95 instead of the shipped default
    python bench/judge_select.py DIR --floor 0.45    # another cosine floor than the shipped default

Selection data: the dev split of `tests/data/support_intents.jsonl` (25 intents) and
`tests/data/select_intents.jsonl` (29 intents written for selection, never trained on), pooled; the `tune`
pairs of `tests/data/semantic_pairs.jsonl` as a guard. The rule (docs/semantic-cache.md, "Choosing a model"):
each model's threshold is the lowest of 0.50-0.99 at which neither the pooled pairs nor the cache replays of
either set serve a wrong answer, at that threshold and at the two 0.01 steps below it (a margin for the int8
model's batch noise, ~0.02 a pair); the model with the most pooled replay hits at its threshold wins. Since the
eighth pass (docs/semantic-cache.md) a threshold must also serve no wrong answer in the dev trace, read apart:
`HELIX_CACHE__JUDGE_MODEL_PATH=DIR HELIX_CACHE__JUDGE_THRESHOLD=T python bench/cache_trace.py --split dev`.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.semantic_eval import DEFAULT_MODEL_PATH, old_pairs  # noqa: E402
from helix.cache.embedder import Embedder  # noqa: E402
from helix.cache.judge import CrossEncoder, Judge  # noqa: E402
from helix.config import CacheConfig  # noqa: E402
from tests.labelled import Intent, Replay, Scored, count, load_intents, replay, score_pairs, split_pairs  # noqa: E402
from tests.remembered import Remembered  # noqa: E402

SELECT_INTENTS = REPO / "tests" / "data" / "select_intents.jsonl"
FLOOR = CacheConfig().threshold
CANDIDATES = CacheConfig().candidates
DEFAULT = CacheConfig().judge_threshold
MARGIN = 2  # steps of 0.01 below the threshold that must be safe too
THRESHOLDS = [step / 100 for step in range(50, 100)]


@dataclass(frozen=True, slots=True)
class Outcome:
    threshold: float
    hits: int
    possible: int
    wrong: int  # replay answers of another intent
    tp: int
    paraphrases: int
    fp: int
    tune_wrong: int

    def line(self) -> str:
        return (
            f"threshold {self.threshold:.2f}  replay {self.hits} of {self.possible} ({self.hits / self.possible:.3f}),"
            f" {self.wrong} wrong  pairs recall {self.tp / self.paraphrases:.3f} ({self.tp} of {self.paraphrases}),"
            f" {self.fp} wrong  semantic_pairs tune wrong pairs {self.tune_wrong}"
        )


def selection_intents() -> list[Intent]:
    return [i for i in load_intents() if i.split == "dev"] + load_intents(SELECT_INTENTS)


def evaluate(
    model_dir: Path, intents: list[Intent], embedder: Embedder, at: float = DEFAULT, floor: float = FLOOR
) -> tuple[Outcome | None, Outcome]:
    """The model's outcome at the rule's threshold (None when no threshold is safe) and at `at` (the default one)."""
    model = Remembered(CrossEncoder(model_dir))
    judge = Judge(model, threshold=0.0)
    splits = sorted({i.split for i in intents})
    rows: list[Scored] = [r for s in splits for r in score_pairs(split_pairs(intents, s), embedder, judge, floor)]
    tune = score_pairs(old_pairs()["old-tune"], embedder, judge, floor)
    replays: dict[float, list[Replay]] = {}

    def safe(t: float) -> bool:  # pairs first: the replays only where no pair is served wrongly
        if count(rows, floor, t).fp:
            return False
        replays[t] = [replay(intents, s, embedder, Judge(model, t), floor, CANDIDATES) for s in splits]
        return all(r.wrong == 0 for r in replays[t])

    def outcome(t: float) -> Outcome:
        c = count(rows, floor, t)
        played = replays.get(t) or [replay(intents, s, embedder, Judge(model, t), floor, CANDIDATES) for s in splits]
        hits, possible, wrong = (sum(getattr(r, k) for r in played) for k in ("hits", "possible", "wrong"))
        return Outcome(t, hits, possible, wrong, c.tp, c.tp + c.fn, c.fp, count(tune, floor, t).fp)

    chosen = next(
        (t for i, t in enumerate(THRESHOLDS) if i >= MARGIN and all(safe(u) for u in THRESHOLDS[i - MARGIN : i + 1])),
        None,
    )
    return (outcome(chosen) if chosen is not None else None), outcome(at)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", type=Path, help="folders with judge.onnx and tokenizer.json")
    parser.add_argument("--model-path", default=os.environ.get("HELIX_EMBEDDING_MODEL_PATH", str(DEFAULT_MODEL_PATH)))
    parser.add_argument("--at", type=float, default=DEFAULT, help="threshold of the second line (default: shipped)")
    parser.add_argument("--floor", type=float, default=FLOOR, help="cosine floor (default: shipped)")
    args = parser.parse_args(argv)
    embedder = Embedder(model_path=args.model_path)
    intents = selection_intents()
    outcomes = {}
    for model_dir in args.models:
        outcome, at_default = evaluate(model_dir, intents, embedder, args.at, args.floor)
        outcomes[model_dir] = outcome
        print(f"{model_dir}: {outcome.line() if outcome else 'no safe threshold'}", flush=True)
        label = "the default" if args.at == DEFAULT else "asked for"
        print(f"{' ' * len(str(model_dir))}  {at_default.line()} ({label})", flush=True)
    ranked = sorted((o.hits, o.tp, str(d)) for d, o in outcomes.items() if o)
    if ranked:
        print(f"chosen: {ranked[-1][2]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

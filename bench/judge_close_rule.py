"""A lower judge threshold for candidates the embedder finds close: choose it on selection data only.

    python bench/judge_close_rule.py [DIR]      # DIR holds judge.onnx and tokenizer.json (default: the shipped one)

Serve when P >= `judge_threshold`, or when P >= a and the cosine >= b (`[cache] judge_close_threshold` and
`judge_close_similarity`). The rule of issue 8's sixteenth pass (docs/semantic-cache.md, "Choosing a model"): on the
grid a 0.40-0.80 by b 0.60-0.95, steps of 0.01, a point is safe when the pooled selection pairs
(`bench/judge_select.py`'s data) serve no wrong pair and the semantic_pairs `tune` pairs no more wrong pairs than
the plain threshold, at the point and at every grid point up to 0.02 below it in either coordinate. The chosen point
is the safe one with the most pooled pairs (ties: higher b, then higher a) whose selection replays serve no wrong
answer at it and at (a - 0.02, b - 0.02). The dev trace is read apart: `HELIX_CACHE__JUDGE_CLOSE_SIMILARITY=b
HELIX_CACHE__JUDGE_CLOSE_THRESHOLD=a python bench/cache_trace.py --split dev`. (Until 2026-12-05 this script held
the 2026-12-03 version of the question, on the dev split alone; see git history.)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.judge_select import CANDIDATES, DEFAULT, FLOOR, Outcome, selection_intents  # noqa: E402
from bench.semantic_eval import DEFAULT_MODEL_PATH, old_pairs  # noqa: E402
from helix.cache.embedder import Embedder  # noqa: E402
from helix.cache.judge import Close, CrossEncoder, Judge  # noqa: E402
from tests.labelled import Intent, Scored, count, replay, score_pairs, split_pairs  # noqa: E402
from tests.remembered import Remembered  # noqa: E402

STEPS_A = range(40, 81)
STEPS_B = range(60, 96)
MARGIN = 2  # grid steps below a point that must be safe too


def served(rows: list[Scored], judge: Judge) -> tuple[int, int]:
    """(paraphrase pairs served, different pairs served)"""
    c = count(rows, FLOOR, judge.threshold, judge.close)
    return c.tp, c.fp


def outcome(
    model: Remembered,
    intents: list[Intent],
    embedder: Embedder,
    rows: list[Scored],
    tune: list[Scored],
    close: Close | None,
) -> Outcome:
    judge = Judge(model, DEFAULT, close)
    played = [replay(intents, s, embedder, judge, FLOOR, CANDIDATES) for s in sorted({i.split for i in intents})]
    hits, possible, wrong = (sum(getattr(r, k) for r in played) for k in ("hits", "possible", "wrong"))
    tp, fp = served(rows, judge)
    paraphrases = sum(r.pair.same for r in rows)
    return Outcome(
        close.threshold if close else DEFAULT, hits, possible, wrong, tp, paraphrases, fp, served(tune, judge)[1]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", type=Path, default=None, help="a judge folder (default: the shipped one)")
    parser.add_argument("--model-path", default=os.environ.get("HELIX_EMBEDDING_MODEL_PATH", str(DEFAULT_MODEL_PATH)))
    args = parser.parse_args(argv)
    embedder = Embedder(model_path=args.model_path)
    intents = selection_intents()
    model = Remembered(CrossEncoder(args.model))
    everything = Judge(model, threshold=0.0)  # scores every pair in both orders
    rows = [
        r
        for s in sorted({i.split for i in intents})
        for r in score_pairs(split_pairs(intents, s), embedder, everything, FLOOR)
    ]
    tune = score_pairs(old_pairs()["old-tune"], embedder, everything, FLOOR)
    plain = Judge(model, DEFAULT)
    tune_allowed = served(tune, plain)[1]
    counts = {
        (a, b): (*served(rows, judge := Judge(model, DEFAULT, Close(b / 100, a / 100))), served(tune, judge)[1])
        for a in range(STEPS_A[0] - MARGIN, STEPS_A[-1] + 1)
        for b in range(STEPS_B[0] - MARGIN, STEPS_B[-1] + 1)
    }

    def safe(a: int, b: int) -> bool:
        return all(
            counts[(a - da, b - db)][1] == 0 and counts[(a - da, b - db)][2] <= tune_allowed
            for da in range(MARGIN + 1)
            for db in range(MARGIN + 1)
        )

    base = outcome(model, intents, embedder, rows, tune, None)
    print(f"plain judge_threshold {DEFAULT}: {base.line()}", flush=True)
    ranked = sorted(((counts[(a, b)][0], b, a) for a in STEPS_A for b in STEPS_B if safe(a, b)), reverse=True)
    print(f"{len(ranked)} safe points on the pairs; best: {ranked[:5]}", flush=True)
    for _, b, a in ranked:
        at = outcome(model, intents, embedder, rows, tune, Close(b / 100, a / 100))
        below = outcome(model, intents, embedder, rows, tune, Close((b - MARGIN) / 100, (a - MARGIN) / 100))
        print(f"a {a / 100:.2f} b {b / 100:.2f}: {at.line()}; 0.02 below: replay wrong {below.wrong}", flush=True)
        if at.wrong == 0 and below.wrong == 0:
            print(f"chosen: judge_close_threshold {a / 100:.2f}, judge_close_similarity {b / 100:.2f}")
            return 0
    print("no point is safe")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())

"""The regression set's near-misses a judge model serves: `tests/data/semantic_pairs.jsonl`, nothing else.

    python bench/judge_regression.py DIR:THRESHOLD [DIR:THRESHOLD ...] [--show] [--close SIMILARITY THRESHOLD]

Each split (`tune`, `test`) is scored alone at the default cosine floor, as `bench/judge_select.py` scores
`tune`, with the facts in front of the model. Prints, per model and threshold, the pairs served wrongly and
the paraphrases found; `--show` lists the wrong ones. Reads no split of `tests/data/support_intents.jsonl`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.semantic_eval import DEFAULT_MODEL_PATH, old_pairs  # noqa: E402
from helix.cache.embedder import Embedder  # noqa: E402
from helix.cache.judge import Close, CrossEncoder, Judge  # noqa: E402
from helix.config import CacheConfig  # noqa: E402
from tests.labelled import count, score_pairs  # noqa: E402
from tests.remembered import Remembered  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="DIR:THRESHOLD, DIR holding judge.onnx and tokenizer.json")
    parser.add_argument("--show", action="store_true", help="list the pairs served wrongly")
    parser.add_argument(
        "--close", nargs=2, type=float, metavar=("SIMILARITY", "THRESHOLD"), help="a lower threshold for close pairs"
    )
    parser.add_argument("--model-path", default=os.environ.get("HELIX_EMBEDDING_MODEL_PATH", str(DEFAULT_MODEL_PATH)))
    parser.add_argument("--floor", type=float, default=CacheConfig().threshold, help="cosine floor (default: shipped)")
    args = parser.parse_args(argv)
    embedder = Embedder(model_path=args.model_path)
    sets = old_pairs()
    close = Close(*args.close) if args.close else None
    for spec in args.models:
        folder, _, threshold = spec.rpartition(":")
        t = float(threshold)
        judge = Judge(Remembered(CrossEncoder(Path(folder))), threshold=0.0)
        for name in ("old-tune", "old-test"):
            rows = score_pairs(sets[name], embedder, judge, args.floor)
            print(f"{folder} at {t:.2f} {name}: {count(rows, args.floor, t, close).line()}", flush=True)
            if args.show:
                for r in rows:
                    if not r.pair.same and r.accepted(args.floor, t, close):
                        print(f"    {r.score:.3f} {r.pair.a!r} ~ {r.pair.b!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

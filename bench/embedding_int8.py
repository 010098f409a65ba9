"""The int8 embedding model against the float one: same semantic-cache decisions on the labelled sets?

    python bench/embedding_int8.py [--model-path DIR] [--int8 DIR] [--show]

Quantizes DIR (the float all-MiniLM-L6-v2 ONNX folder, default ../shared/models/...) into a temporary
folder with `helix.model_install.quantize_embedding` (needs the `onnx` package), unless --int8 names
one already made. Then scores every pair of the labelled sets (the support intents' dev and held-out
test splits, tests/data/semantic_pairs.jsonl) with each model and the shipped judge, and prints per
set: precision/recall of each at the shipped defaults, how many pairs' decisions differ, and the
largest change of cosine similarity. --show lists the pairs whose decision differs. The held-out
"test" split is reported, never tuned on.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.semantic_eval import DEFAULT_FLOOR, DEFAULT_JUDGE_THRESHOLD, DEFAULT_MODEL_PATH, old_pairs  # noqa: E402
from helix.cache.embedder import Embedder  # noqa: E402
from helix.cache.judge import CrossEncoder, Judge  # noqa: E402
from helix.model_install import quantize_embedding  # noqa: E402
from tests.labelled import Pair, Scored, count, load_intents, split_pairs  # noqa: E402


def cosines(pairs: list[Pair], embedder: Embedder) -> list[float]:
    texts = sorted({p.a for p in pairs} | {p.b for p in pairs})
    vectors = dict(zip(texts, embedder.embed(texts), strict=True))
    return [float(vectors[p.a] @ vectors[p.b]) for p in pairs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-path", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--int8", type=Path, help="an int8 folder made earlier (default: quantize now)")
    parser.add_argument("--show", action="store_true", help="list the pairs whose decision differs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="helix-int8-") as tmp:
        int8 = args.int8 or quantize_embedding(args.model_path, Path(tmp) / "int8")
        sizes = {
            name: (folder / "model.onnx").stat().st_size
            for name, folder in (("float", args.model_path), ("int8", int8))
        }
        print(f"model.onnx: float {sizes['float']:,} bytes, int8 {sizes['int8']:,} bytes")
        intents = load_intents()
        sets = {split: split_pairs(intents, split) for split in ("dev", "test")} | old_pairs()
        similarities = {
            name: {split: cosines(pairs, Embedder(model_path=str(folder))) for split, pairs in sets.items()}
            for name, folder in (("float", args.model_path), ("int8", int8))
        }
    # The judge scores each pair once, in the same batches for both models: its own int8 activations are
    # quantized per batch, so a different batch would move borderline scores by itself.
    judge = Judge(CrossEncoder(), threshold=0.0)
    scored: dict[str, dict[str, list[Scored]]] = {"float": {}, "int8": {}}
    for split, pairs in sets.items():
        highest = [max(f, q) for f, q in zip(similarities["float"][split], similarities["int8"][split], strict=True)]
        verdicts = judge.verify_pairs([(p.a, p.b, s) for p, s in zip(pairs, highest, strict=True)], DEFAULT_FLOOR)
        for name in scored:
            scored[name][split] = [
                Scored(p, s, v.score, v.reason)
                for p, s, v in zip(pairs, similarities[name][split], verdicts, strict=True)
            ]
    print(f"shipped defaults: floor {DEFAULT_FLOOR}, judge threshold {DEFAULT_JUDGE_THRESHOLD}")
    total = 0
    for split in sets:
        floats, int8s = scored["float"][split], scored["int8"][split]
        differ = [
            (f, q)
            for f, q in zip(floats, int8s, strict=True)
            if f.accepted(DEFAULT_FLOOR, DEFAULT_JUDGE_THRESHOLD) != q.accepted(DEFAULT_FLOOR, DEFAULT_JUDGE_THRESHOLD)
        ]
        total += len(differ)
        drift = max(abs(f.similarity - q.similarity) for f, q in zip(floats, int8s, strict=True))
        print(f"{split:<9} {len(floats):>6} pairs, {len(differ)} decisions differ, max |cosine change| {drift:.3f}")
        for name in ("float", "int8"):
            print(f"    {name:<5} {count(scored[name][split], DEFAULT_FLOOR, DEFAULT_JUDGE_THRESHOLD).line()}")
        if args.show:
            for f, q in differ:
                print(
                    f"    float {f.similarity:.3f} -> int8 {q.similarity:.3f} same={f.pair.same} "
                    f"{f.pair.a!r} ~ {f.pair.b!r}"
                )
    print(f"decisions that differ at the shipped defaults: {total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

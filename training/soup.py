"""A "model soup": the average of the float weights of several judge runs from one base, shipped as int8 ONNX.

    nice .venv-train/bin/python training/soup.py --runs v3:8 v4:8 --threads 2      # two ~25 min runs
    .venv-train/bin/python training/soup.py --states A.pt B.pt --onnx judge.onnx --out DIR

Each ingredient is a run of `train_judge.py`'s recipe (two-epoch schedule stopped after the first epoch) on a
data version and seed (`--runs DATA:SEED`, the head's initial weights from `--init-seed`), a float state
saved by `train_judge.py --save-state`, or a shipped int8 judge.onnx, dequantized (`--onnx`). Runs from one
initial seed start from the same weights, the head included, so their average stays in one basin: it costs
nothing at serve time (one model, the same size) and smooths the run-to-run noise of a single fine-tuning.
`--toward-base S` then moves every weight but the head S of the way back to the base model's (WiSE-FT, which
trades a little of the fine-tuned fit for robustness to data unlike the training data).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dequantize import from_onnx
from train_judge import OUT, QUANTIZATIONS, base_model, export, train

EPOCHS, STOP_AFTER, BATCH_SIZE, LR = 2, 1, 32, 5e-5
HEAD = "classifier."  # the one part the base does not have (its weights are random)


def average(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The element-wise mean of each float tensor; other tensors (position ids) from the first state."""
    out = {}
    for name, first in states[0].items():
        if first.is_floating_point():
            out[name] = torch.stack([s[name] for s in states]).mean(dim=0)
        else:
            out[name] = first
    return out


def toward(state: dict[str, torch.Tensor], base: dict[str, torch.Tensor], share: float) -> dict[str, torch.Tensor]:
    """WiSE-FT's interpolation: each float weight moved `share` of the way back to the base's, the head kept."""
    return {
        name: (1 - share) * w + share * base[name] if w.is_floating_point() and not name.startswith(HEAD) else w
        for name, w in state.items()
    }


def _run(spec: str, base: Path, saved: Path, init_seed: int | None) -> Path:
    data, _, seed = spec.partition(":")
    model, _ = train(base, EPOCHS, BATCH_SIZE, LR, int(seed), lambda *_: None, STOP_AFTER, data, init_seed)
    path = saved / f"{data}-{seed}.pt"
    torch.save(model.state_dict(), path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", nargs="*", default=[], metavar="DATA:SEED", help="train these runs")
    parser.add_argument("--init-seed", type=int, default=None, help="seed of the runs' head (default: each --seed)")
    parser.add_argument("--states", nargs="*", default=[], type=Path, help="float states saved by train_judge.py")
    parser.add_argument("--onnx", nargs="*", default=[], type=Path, help="int8 judge.onnx files, dequantized")
    parser.add_argument("--toward-base", type=float, default=0.0, help="move the average this share back to the base")
    parser.add_argument("--quantization", choices=QUANTIZATIONS, default="dynamic", help="see train_judge.export()")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=OUT, help="folder for judge.onnx and tokenizer.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        base = base_model(workdir)
        paths = args.states + [_run(spec, base, workdir, args.init_seed) for spec in args.runs]
        model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
        states = [torch.load(p, map_location="cpu") for p in paths]
        states += [from_onnx(p, model.state_dict()) for p in args.onnx]
        if not states:
            parser.error("nothing to average: give --runs, --states or --onnx")
        model.load_state_dict(toward(average(states), model.state_dict(), args.toward_base))
        model.eval()
        target = export(model, AutoTokenizer.from_pretrained(base), base, workdir, args.out, args.quantization)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    print(f"averaged {len(states)} models; wrote {target} ({target.stat().st_size / 1e6:.1f} MB) sha256 {digest}")


if __name__ == "__main__":
    main()

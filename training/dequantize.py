"""The float weights of a shipped int8 judge.onnx, dequantized: what `soup.py` mixes and `train_judge.py
--from-onnx` continues from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

FROZEN = "bert.embeddings."  # never trained (train_judge.py): every judge has the base's weights there
SAME_PARAMETER = 0.9  # cosine of a dequantized weight with the base parameter it is the fine-tuned form of


def from_onnx(path: Path, base: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The float weights of an int8 judge.onnx, dequantized. The exporter names most MatMul weights
    `onnx::MatMul_N`: each is the fine-tuned form of the unused base parameter of its shape it is closest to."""
    arrays = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}
    found: dict[str, np.ndarray] = {}
    for name, array in arrays.items():
        if name.endswith("_quantized"):
            stem = name.removesuffix("_quantized")
            zero = arrays[f"{stem}_zero_point"].astype(np.float32)
            found[stem] = (array.astype(np.float32) - zero) * arrays[f"{stem}_scale"]
        elif array.dtype == np.float32 and not name.endswith("_scale"):
            found[name] = array
    state = dict(base)
    unused = {k for k, v in base.items() if v.is_floating_point() and not k.startswith(FROZEN)}
    for stem, array in found.items():
        if stem.startswith(FROZEN):
            continue
        key = stem.removesuffix("_Transposed")
        weight = torch.from_numpy(np.ascontiguousarray(array.T if key != stem or stem.startswith("onnx::") else array))
        if key not in base:
            same_shape = [k for k in unused if base[k].shape == weight.shape]
            key = max(same_shape, key=lambda k: float(torch.cosine_similarity(base[k].flatten(), weight.flatten(), 0)))
            closeness = float(torch.cosine_similarity(base[key].flatten(), weight.flatten(), 0))
            if closeness < SAME_PARAMETER:
                raise ValueError(f"{path}: {stem} is not close to any parameter ({key}: {closeness:.3f})")
        state[key] = weight.reshape(base[key].shape)
        unused.discard(key)
    if unused:
        raise ValueError(f"{path} has no weights for {sorted(unused)}")
    return state

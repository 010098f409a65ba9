"""What keeps `helix serve` under its idle memory budget (350 MiB with everything loaded; measured by
bench/idle_rss.py, see docs/packaging.md): the int8 embedding model and the lean NER pipeline."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helix.config import Config
from helix.model_install import quantize_embedding
from helix.models import EMBEDDING, INT8_NOTE, Found
from tests.conftest import SPACY_MODEL, require_model


def _tiny_model(folder: Path) -> None:
    """An embedding-model-shaped folder whose model.onnx is one 256x256 MatMul."""
    onnx = pytest.importorskip("onnx")
    helper = onnx.helper
    weight = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 256])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 256])],
        [onnx.numpy_helper.from_array(weight, "w")],
    )
    folder.mkdir()
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(folder / "model.onnx"))
    for name in ("tokenizer.json", "config.json", "LICENSE"):
        (folder / name).write_text("{}")


def test_quantize_embedding_makes_a_smaller_model_that_answers_alike(tmp_path: Path) -> None:
    import onnxruntime

    _tiny_model(tmp_path / "float")
    shutil.copytree(tmp_path / "float", tmp_path / "int8")  # a stale folder in the way is replaced
    out = quantize_embedding(tmp_path / "float", tmp_path / "int8")
    assert (out / INT8_NOTE).is_file() and (out / "LICENSE").is_file() and EMBEDDING.complete(out)
    assert (out / "model.onnx").stat().st_size < (tmp_path / "float" / "model.onnx").stat().st_size / 3
    x = np.random.default_rng(1).standard_normal((1, 256)).astype(np.float32)
    y = [onnxruntime.InferenceSession(str(f / "model.onnx")).run(None, {"x": x})[0] for f in (tmp_path / "float", out)]
    assert float(np.corrcoef(y[0].ravel(), y[1].ravel())[0, 1]) > 0.99
    assert Found(EMBEDDING, "data dir", str(out), True).describe().endswith("(data dir, int8)")
    assert Found(EMBEDDING, "data dir", str(tmp_path / "float"), True).describe().endswith("(data dir)")
    assert Config().cache.enabled  # the int8 folder is an ordinary model folder: nothing to configure


_NER_ALLOCATIONS = """
import sys, tracemalloc
tracemalloc.start()
from helix.pii.casing import load_lexicon
from helix.pii.names import load_ner
before = tracemalloc.get_traced_memory()[0]
nlp, lexicon = load_ner(sys.argv[1]), load_lexicon(sys.argv[1])
print((tracemalloc.get_traced_memory()[0] - before) / 2**20, len(nlp.vocab.strings), len(lexicon))
"""


# tracemalloc makes loading spaCy several times slower: on a slow day's machine the subprocess alone takes over two
# minutes, past the suite's per-test timeout; this test is about memory, not time.
@pytest.mark.timeout(600)
def test_ner_pipeline_and_name_lexicon_stay_small() -> None:
    # With the vocabulary's 85k strings and the lexicon as frozensets of strings they took 34 MiB.
    model = require_model(SPACY_MODEL)
    out = subprocess.run(
        [sys.executable, "-c", _NER_ALLOCATIONS, str(model)], capture_output=True, text=True, check=True
    )
    mib, strings, words = out.stdout.split()
    assert float(mib) < 20, f"loading NER and the lexicon allocated {mib} MiB"
    assert int(strings) < 10_000 and int(words) > 50_000  # the strings skipped, the dictionary complete

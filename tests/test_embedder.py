"""The sentence embedder behind the semantic cache: lazy loading, failure messages, real vectors."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from helix.cache.embedder import Embedder, EmbedderUnavailable
from tests.conftest import EMBEDDING_MODEL

os.environ["HF_HUB_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parents[1]
MODEL_PATH = EMBEDDING_MODEL


class _FakeModel:
    def embed(self, texts: list[str]) -> list[np.ndarray]:
        return [np.full(384, float(len(t) + 1), dtype=np.float32) for t in texts]


def test_embedder_loads_lazily_and_once_under_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    loads = []

    def slow_load(self: Embedder) -> _FakeModel:
        loads.append(1)
        time.sleep(0.05)
        return _FakeModel()

    monkeypatch.setattr(Embedder, "_load", slow_load)
    embedder = Embedder(model_path="/unused")
    assert not embedder.loaded and embedder.dim == 384 and not loads
    threads = [threading.Thread(target=embedder.embed_one, args=("hello",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loads) == 1
    vectors = embedder.embed(["a", "bb"])
    assert vectors.dtype == np.float32 and vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert embedder.embed([]).shape == (0, 384)


@pytest.mark.parametrize("path", ["/nonexistent/helix-model", str(REPO / "tests")])
def test_embedder_bad_path_fails_fast_with_a_clear_message(path: str) -> None:
    start = time.monotonic()
    with pytest.raises(EmbedderUnavailable) as info:
        Embedder(model_path=path).embed_one("hello")
    assert time.monotonic() - start < 5
    message = str(info.value)
    assert "embedding_model_path" in message and "\n" not in message


def test_embedder_broken_model_file_fails_fast(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"not an onnx model")
    start = time.monotonic()
    with pytest.raises(EmbedderUnavailable, match="embedding_model_path"):
        Embedder(model_path=str(tmp_path)).embed(["hello"])
    assert time.monotonic() - start < 5


# --------------------------------------------------------------------------------- real model

needs_model = pytest.mark.usefixtures("embedding_model")


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(model_path=str(MODEL_PATH))


@needs_model
def test_real_embedder_vectors(embedder: Embedder) -> None:
    vectors = embedder.embed(["turn on dark mode", "turn off dark mode", "What is the capital of France?"])
    assert vectors.shape == (3, embedder.dim) == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) > 0.9 > float(vectors[0] @ vectors[2])

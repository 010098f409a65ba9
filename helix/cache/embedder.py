"""Sentence embedder for the semantic cache (fastembed + ONNX, CPU).

The model is loaded lazily on first use, once, under a lock: the gateway starts fast and a
burst of concurrent cache misses does not load the model several times.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_DIM = 384
_OFFLINE_VALUES = frozenset({"1", "TRUE", "YES", "ON"})
_CONFIG_HINT = "set [cache] embedding_model_path to a local ONNX model folder"


class EmbedderUnavailable(RuntimeError):
    """The embedding model cannot be loaded; the semantic cache must be disabled."""


def _env_says_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in _OFFLINE_VALUES


def _check_model_dir(model_path: str) -> None:
    path = Path(model_path)
    if not path.is_dir():
        raise EmbedderUnavailable(f"embedding model folder {model_path!r} does not exist; {_CONFIG_HINT}")
    if not any(path.rglob("*.onnx")):
        raise EmbedderUnavailable(f"no .onnx file in embedding model folder {model_path!r}; {_CONFIG_HINT}")


def _normalise(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0.0] = 1.0
    return (vectors / norms).astype(np.float32, copy=False)


class Embedder:
    """Turns texts into L2-normalised float32 vectors (cosine similarity = dot product)."""

    def __init__(
        self,
        model_name: str = DEFAULT_MODEL_NAME,
        model_path: str | None = None,
        threads: int | None = None,
    ) -> None:
        self.model_name = model_name
        self.model_path = model_path
        self.threads = threads
        self._model: Any = None
        self._dim: int | None = DEFAULT_DIM if model_name == DEFAULT_MODEL_NAME else None
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.embed_one("dimension probe").shape[0])
        return self._dim

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def embed(self, texts: list[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._ensure_loaded()
        vectors = np.asarray(list(model.embed(texts)), dtype=np.float32)
        return _normalise(vectors)

    def embed_one(self, text: str) -> NDArray[np.float32]:
        return self.embed([text])[0]

    def _ensure_loaded(self) -> Any:
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is None:
                self._model = self._load()
        return self._model

    def _load(self) -> Any:
        if self.model_path is not None:
            _check_model_dir(self.model_path)
        if self.model_path is not None or _env_says_offline():
            # fastembed retries the hub with back-off sleeps unless it believes it is offline; a
            # gateway must fail fast instead. It reads this variable at download time.
            os.environ["HF_HUB_OFFLINE"] = "1"
        try:
            from fastembed import TextEmbedding
            from loguru import logger

            # fastembed logs each failed download source as an ERROR; we raise one clear line instead.
            logger.disable("fastembed")
        except ImportError as exc:
            raise EmbedderUnavailable(f"fastembed is not installed ({exc}); {_CONFIG_HINT}") from exc
        try:
            return TextEmbedding(self.model_name, threads=self.threads, specific_model_path=self.model_path)
        except Exception as exc:
            where = self.model_path or "the Hugging Face cache"
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise EmbedderUnavailable(
                f"cannot load embedding model {self.model_name!r} from {where} ({reason}); {_CONFIG_HINT}"
            ) from exc

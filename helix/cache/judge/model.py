"""The trained same-question model: a MiniLM cross-encoder, int8 ONNX, shipped in `model/`.

It reads both questions at once and returns the probability that they deserve the same answer.
onnxruntime and tokenizers come with fastembed; no torch at run time. Loaded once, lazily, under a lock.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

SHIPPED_MODEL_DIR = Path(__file__).parent / "model"
BATCH = 64  # sequences per model run
MAX_LENGTH = 64  # tokens for the pair, as in training; support questions are far shorter


class JudgeUnavailable(RuntimeError):
    """The judge model cannot be loaded; semantic hits must be refused."""


class CrossEncoder:
    def __init__(self, model_dir: Path | None = None, threads: int = 1) -> None:
        self.model_dir = model_dir or SHIPPED_MODEL_DIR
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def score(self, pairs: list[tuple[str, str]]) -> list[float]:
        """P(same question) for each pair, in order: both orders in one batch, the lower one kept."""
        n = BATCH // 2
        chunks = [pairs[i : i + n] for i in range(0, len(pairs), n)]
        both = [self.probabilities(chunk + [(b, a) for a, b in chunk]) for chunk in chunks]
        return [min(p[i], p[len(chunk) + i]) for chunk, p in zip(chunks, both, strict=True) for i in range(len(chunk))]

    def probabilities(self, pairs: list[tuple[str, str]]) -> list[float]:
        """P(same question) for each pair read in the order given, BATCH sequences per run. The int8 model
        quantizes activations over the whole batch, so a pair's value depends a little on its batch-mates."""
        if not pairs:
            return []
        if len(pairs) > BATCH:
            return [p for i in range(0, len(pairs), BATCH) for p in self.probabilities(pairs[i : i + BATCH])]
        session, tokenizer = self._ensure_loaded()
        encodings = tokenizer.encode_batch(pairs)
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        logits = np.asarray(session.run(["logits"], feeds)[0], dtype=np.float64).reshape(-1)
        # A pair cut at MAX_LENGTH was judged on its beginnings only: two prompts sharing a long preamble (a
        # template, a retrieved context) and asking different things read as the same. Never the same question.
        return [
            0.0 if sum(e.attention_mask) >= MAX_LENGTH else float(p)
            for e, p in zip(encodings, 1.0 / (1.0 + np.exp(-logits)), strict=True)
        ]

    def _ensure_loaded(self) -> tuple[Any, Any]:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._tokenizer, self._session = self._load()
        return self._session, self._tokenizer

    def _load(self) -> tuple[Any, Any]:
        model_file = self.model_dir / "judge.onnx"
        tokenizer_file = self.model_dir / "tokenizer.json"
        if not model_file.is_file() or not tokenizer_file.is_file():
            raise JudgeUnavailable(f"no judge.onnx and tokenizer.json in {self.model_dir}")
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise JudgeUnavailable(f"onnxruntime or tokenizers is not installed ({exc})") from exc
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        tokenizer.enable_truncation(MAX_LENGTH)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        try:
            session = onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise JudgeUnavailable(f"cannot load the judge model {model_file} ({exc})") from exc
        return tokenizer, session

"""The trained same-question model: a MiniLM cross-encoder, int8 ONNX, shipped in `model/`.

It reads both questions at once and returns the probability that they deserve the same answer.
onnxruntime and tokenizers come with fastembed; no torch at run time. Loaded once, lazily, under a lock.
"""

from __future__ import annotations

import functools
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

SHIPPED_MODEL_DIR = Path(__file__).parent / "model"
MAX_LENGTH = 64  # tokens for the pair, as in training; support questions are far shorter
PARALLEL_RUNS = 2  # model runs at once when several pairs are judged


class JudgeUnavailable(RuntimeError):
    """The judge model cannot be loaded; semantic hits must be refused."""


class CrossEncoder:
    def __init__(self, model_dir: Path | None = None, threads: int = 1) -> None:
        self.model_dir = model_dir or SHIPPED_MODEL_DIR
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def score(self, pairs: list[tuple[str, str]]) -> list[float]:
        """P(same question) for each pair, in order: both orders read, the lower one kept."""
        both = self.probabilities(pairs + [(b, a) for a, b in pairs])
        return [min(ab, ba) for ab, ba in zip(both[: len(pairs)], both[len(pairs) :], strict=True)]

    def probabilities(self, pairs: list[tuple[str, str]]) -> list[float]:
        """P(same question) for each pair read in the order given, one pair a model run: the int8 model quantizes
        its activations over all it is given at once, so a pair scored beside others would depend on them (a
        near-miss scored 0.78 alone and 0.90 beside two other candidates, and its wrong answer was served)."""
        if not pairs:
            return []
        session, tokenizer = self._ensure_loaded()
        encodings = tokenizer.encode_batch(pairs)
        if len(encodings) == 1:
            return [self._probability(session, encodings[0])]
        # Runs of one pair each side by side (onnxruntime runs a session from several threads): the candidates after
        # the nearest cost about what one batch did.
        return list(self._runs().map(functools.partial(self._probability, session), encodings))

    def _runs(self) -> ThreadPoolExecutor:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(PARALLEL_RUNS, thread_name_prefix="helix-judge")
        return self._pool

    @staticmethod
    def _probability(session: Any, encoding: Any) -> float:
        # A pair cut at MAX_LENGTH was judged on its beginnings only: two prompts sharing a long preamble (a
        # template, a retrieved context) and asking different things read as the same. Never the same question.
        if len(encoding.ids) >= MAX_LENGTH:
            return 0.0
        feeds = {
            "input_ids": np.array([encoding.ids], dtype=np.int64),
            "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
            "token_type_ids": np.array([encoding.type_ids], dtype=np.int64),
        }
        logit = float(np.asarray(session.run(["logits"], feeds)[0]).reshape(-1)[0])
        return 1.0 / (1.0 + math.exp(-logit)) if logit >= 0 else math.exp(logit) / (1.0 + math.exp(logit))

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
        tokenizer.no_padding()  # one pair a run (its tokenizer.json pads to 128)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        try:
            session = onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise JudgeUnavailable(f"cannot load the judge model {model_file} ({exc})") from exc
        return tokenizer, session

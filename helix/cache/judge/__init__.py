"""Decides whether a cached question deserves the same answer as a new one (see `decide`)."""

from pathlib import Path

from helix.cache.judge.decide import Close, Judge, Verdict
from helix.cache.judge.model import CrossEncoder, JudgeUnavailable
from helix.config import CacheConfig

__all__ = ["Close", "CrossEncoder", "Judge", "JudgeUnavailable", "Verdict", "adopt", "judge_for"]


def judge_for(cache: CacheConfig, threads: int = 1) -> Judge:
    """The judge `[cache]` asks for: the shipped model unless `judge_model_path` names another folder."""
    judge = Judge(CrossEncoder(Path(cache.judge_model_path) if cache.judge_model_path else None, threads), 1.0)
    adopt(judge, cache)
    return judge


def adopt(judge: Judge, cache: CacheConfig) -> None:
    """Give the judge `[cache]`'s thresholds (at start and on a live reload)."""
    judge.threshold = cache.judge_threshold
    close = cache.judge_close_similarity
    judge.close = None if close is None else Close(close, cache.judge_close_threshold)

"""Decides whether a cached question deserves the same answer as a new one (see `decide`)."""

from pathlib import Path

from helix.cache.judge.decide import Judge, Verdict
from helix.cache.judge.model import CrossEncoder, JudgeUnavailable

__all__ = ["CrossEncoder", "Judge", "JudgeUnavailable", "Verdict", "judge_for"]


def judge_for(model_path: str | None, threshold: float, threads: int = 1) -> Judge:
    """The judge `[cache]` asks for: the shipped model unless `judge_model_path` names another folder."""
    return Judge(CrossEncoder(Path(model_path) if model_path else None, threads), threshold)

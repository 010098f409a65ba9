"""Serving reads a pair's second order only when its first reached the threshold: the same decisions as reading both."""

from __future__ import annotations

import pytest

from helix.cache.embedder import Embedder
from helix.cache.judge import CrossEncoder, Judge
from helix.config import CacheConfig
from tests.conftest import EMBEDDING_MODEL
from tests.labelled import load_intents, split_pairs
from tests.remembered import Remembered

DEFAULTS = CacheConfig()


class _Reads(Remembered):
    def __init__(self, model: CrossEncoder) -> None:
        super().__init__(model)
        self.read = 0

    def probabilities(self, pairs: list[tuple[str, str]]) -> list[float]:
        self.read += len(pairs)
        return super().probabilities(pairs)


@pytest.mark.usefixtures("embedding_model")
def test_second_order_only_when_needed_decides_every_dev_pair_as_both_orders_do() -> None:
    pairs = split_pairs(load_intents(), "dev")
    texts = sorted({p.a for p in pairs} | {p.b for p in pairs})
    vectors = dict(zip(texts, Embedder(model_path=str(EMBEDDING_MODEL)).embed(texts), strict=True))
    asked = [(p.a, p.b, float(vectors[p.a] @ vectors[p.b])) for p in pairs]
    # The int8 model's output for a pair depends a little on its batch-mates, so both ways read the same
    # numbers (each order of each pair read once, by the both-orders pass).
    model = _Reads(CrossEncoder())
    judge = Judge(model, DEFAULTS.judge_threshold)
    both = judge.verify_pairs(asked, DEFAULTS.threshold, both_orders=True)
    judged, model.read = model.read // 2, 0
    lazy = judge.verify_pairs(asked, DEFAULTS.threshold)
    assert [v.accepted for v in lazy] == [v.accepted for v in both]
    assert [v.score for v in lazy if v.accepted] == [v.score for v in both if v.accepted]
    assert [v.reason for v in lazy if v.score is None] == [v.reason for v in both if v.score is None]
    first_passed = sum(model.seen[(a, b)] >= judge.threshold for a, b, _ in asked if (b, a) in model.seen)
    assert model.read == judged + first_passed < 2 * judged
    assert 30 < sum(v.accepted for v in lazy) < judged  # the model both accepts and refuses here

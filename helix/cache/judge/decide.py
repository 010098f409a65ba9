"""`verify`: may a new question be answered with a cached one's answer?

Three gates, cheapest first, each able to refuse:
1. the cosine similarity of the two embeddings reaches the floor (`[cache] threshold`);
2. the facts that must match do (numbers and units, literals, symbols, negation, direction, entities, …), even
   where the texts are equal but for case ("-p" / "-P"); texts equal but for case and spaces are then accepted;
3. the trained cross-encoder judges them the same question with probability ≥ `judge_threshold` (or the
   lower `judge_close_threshold` when the cosine reaches `judge_close_similarity`), in both orders (the lower
   counts); a kept wording, also against the question its answer was written for. The second order is read
   only where the first reached the threshold: the lower of two reaches it exactly when both do, so a refused
   pair usually costs the model one sequence.
The model only runs on the few candidates that pass 1 and 2; serving stops at the first one accepted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from helix.cache.judge import facts
from helix.cache.judge.model import CrossEncoder


@dataclass(frozen=True, slots=True)
class Verdict:
    accepted: bool
    similarity: float
    # The model's P(same question), the lower of both orders (or of the first order alone when that was below
    # the threshold, unless both orders were asked for); None when an earlier gate refused.
    score: float | None
    reason: str  # why it was refused ("" when accepted)


@dataclass(frozen=True, slots=True)
class Close:
    """A lower threshold for a candidate the embedder already finds close. The model and the embedding err on
    different pairs: the near-misses the model scores high are far apart by cosine, or refused by a fact
    (docs/semantic-cache.md, the sixteenth pass)."""

    similarity: float
    threshold: float

    def lowers(self, threshold: float, similarity: float) -> float:
        """What a candidate of this similarity needs where others need `threshold`."""
        return min(threshold, self.threshold) if similarity >= self.similarity else threshold


def _same_text(a: str, b: str) -> bool:
    """The same words, read without the model: case and runs of spaces aside on one line; over several lines (code,
    YAML, a list) every character, indentation included. Punctuation counts: "You're coming." is no question."""
    if "\n" in a or "\n" in b:
        return a.strip() == b.strip()
    return " ".join(a.lower().split()) == " ".join(b.lower().split())


class Judge:
    def __init__(self, model: CrossEncoder, threshold: float, close: Close | None = None) -> None:
        self.model = model
        self.threshold = threshold
        self.close = close

    def threshold_at(self, similarity: float) -> float:
        """The model's score a candidate of this cosine similarity needs."""
        return self.threshold if self.close is None else self.close.lowers(self.threshold, similarity)

    def verify(
        self,
        query: str,
        candidates: Sequence[tuple[str, float]],
        floor: float,
        both_orders: bool = False,
        origins: Sequence[str | None] = (),
    ) -> list[Verdict]:
        """One verdict per (cached question, cosine similarity), in order. `origins`, if given, holds for each
        candidate the question its answer was written for when that is another (a kept wording's): the facts
        must match it too."""
        pairs = [(query, cached, similarity) for cached, similarity in candidates]
        return self.verify_pairs(pairs, floor, both_orders, origins)

    def first_accepted(
        self, query: str, candidates: Sequence[tuple[str, float]], floor: float, origins: Sequence[str | None] = ()
    ) -> int | None:
        """The index of the first candidate (give them most similar first) the judge accepts, else None. The
        nearest is judged first, so the usual hit costs the model one pair (two orders); the others after it."""
        if not candidates:
            return None
        if self.verify(query, candidates[:1], floor, origins=origins[:1])[0].accepted:
            return 0
        rest = self.verify(query, candidates[1:], floor, origins=origins[1:])
        return next((i + 1 for i, verdict in enumerate(rest) if verdict.accepted), None)

    def verify_pairs(
        self,
        pairs: Sequence[tuple[str, str, float]],
        floor: float,
        both_orders: bool = False,
        origins: Sequence[str | None] = (),
    ) -> list[Verdict]:
        """One verdict per (question, cached question, cosine similarity). `both_orders` scores both orders of
        every pair the model judges, so a refused pair's score is the exact lower one (for display)."""
        verdicts: list[Verdict | None] = []
        to_score: list[int] = []
        for i, (query, cached, similarity) in enumerate(pairs):
            origin = origins[i] if i < len(origins) else None
            if math.isnan(similarity) or similarity < floor:
                verdicts.append(Verdict(False, similarity, None, f"similarity below {floor:g}"))
            elif (veto := facts.veto(query, cached)) is not None:  # before equal text: "\\d" is not "\\D"
                verdicts.append(Verdict(False, similarity, None, str(veto)))
            elif origin is not None and (veto := facts.veto(query, origin)) is not None:
                verdicts.append(Verdict(False, similarity, None, f"{veto}, against the question it answered"))
            elif _same_text(query, cached):
                verdicts.append(Verdict(True, similarity, 1.0, ""))
            else:
                verdicts.append(None)
                to_score.append(i)
        thresholds = [self.threshold_at(pairs[i][2]) for i in to_score]
        scores = self._scores([(pairs[i][0], pairs[i][1]) for i in to_score], thresholds, both_orders)
        against_origin = self._origin_scores(pairs, origins, to_score, scores, thresholds, both_orders)
        for k, (i, threshold, score) in enumerate(zip(to_score, thresholds, scores, strict=True)):
            origin_score = against_origin.get(k)
            if origin_score is not None and origin_score < score:
                score, where = origin_score, ", against the question it answered"
            else:
                where = ""
            accepted = score >= threshold
            reason = "" if accepted else f"judge: {score:.2f} < {threshold:g}{where}"
            verdicts[i] = Verdict(accepted, pairs[i][2], score, reason)
        return [v for v in verdicts if v is not None]

    def _origin_scores(
        self,
        pairs: Sequence[tuple[str, str, float]],
        origins: Sequence[str | None],
        to_score: list[int],
        scores: list[float],
        thresholds: list[float],
        both_orders: bool,
    ) -> dict[int, float]:
        """The model's score against the question a kept wording's answer was written for, for each judged candidate
        (by its place in `to_score`) that is a kept wording and passed against the wording. Without it a chain of
        wordings, each judged the same as the last, carried an answer to questions it does not answer: *gas meter
        reading* served the answer to *electricity meter reading* (scored 0.14 against it) through a kept wording."""
        kept = [
            k
            for k, i in enumerate(to_score)
            if i < len(origins) and origins[i] is not None and (both_orders or scores[k] >= thresholds[k])
        ]
        asked = [(pairs[to_score[k]][0], str(origins[to_score[k]])) for k in kept]
        return dict(zip(kept, self._scores(asked, [thresholds[k] for k in kept], both_orders), strict=True))

    def _scores(self, pairs: list[tuple[str, str]], thresholds: list[float], both_orders: bool) -> list[float]:
        if both_orders:
            return self.model.score(pairs)
        scores = self.model.probabilities(pairs)
        passed = [i for i, (score, threshold) in enumerate(zip(scores, thresholds, strict=True)) if score >= threshold]
        swapped = self.model.probabilities([(pairs[i][1], pairs[i][0]) for i in passed])
        for i, score in zip(passed, swapped, strict=True):
            scores[i] = min(scores[i], score)
        return scores

    def warm_up(self) -> None:
        self.model.score([("warm up", "warming up")])

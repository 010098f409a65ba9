"""A judge model for evaluations that reads each pair (in each order) once."""

from __future__ import annotations

from helix.cache.judge import CrossEncoder


class Remembered(CrossEncoder):
    """Reads each (question, question) once, in whatever batch asks first: evaluations ask the same pairs again
    at every threshold, and two ways of deciding can be compared on the same numbers (the int8 model's output
    for a pair depends a little on the batch it is read in)."""

    def __init__(self, model: CrossEncoder) -> None:
        super().__init__(model.model_dir, model.threads)
        self._model = model
        self.seen: dict[tuple[str, str], float] = {}

    def probabilities(self, pairs: list[tuple[str, str]]) -> list[float]:
        new = [p for p in dict.fromkeys(pairs) if p not in self.seen]
        self.seen.update(zip(new, self._model.probabilities(new), strict=True))
        return [self.seen[p] for p in pairs]

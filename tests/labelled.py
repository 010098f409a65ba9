"""Question pairs from the labelled support set (`data/support_intents.jsonl`), for evaluation.

Positives: two ways of asking one intent. Negatives: questions of different intents in the same split;
`confusable` when both come from one family of near-misses (enable/disable, USD→EUR/EUR→USD, …).

`replay` measures what a user of the cache sees instead: the split's questions asked in turn, every miss
stored, each question served the most similar stored one the judge accepts (and, as the server does by
default, `[cache] keep_wordings`, kept as one more key to the answer it was served).
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the training environment reads the intents without Helix's dependencies
    from helix.cache.embedder import Embedder
    from helix.cache.judge import Close, Judge

SUPPORT_INTENTS = Path(__file__).parent / "data" / "support_intents.jsonl"


@dataclass(frozen=True, slots=True)
class Pair:
    a: str
    b: str
    same: bool
    kind: str  # "paraphrase", "confusable" or "other"


@dataclass(frozen=True, slots=True)
class Intent:
    split: str
    family: str
    name: str
    texts: tuple[str, ...]


def load_intents(path: Path = SUPPORT_INTENTS) -> list[Intent]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Intent(r["split"], r["family"], r["intent"], tuple(r["texts"])) for r in rows]


def split_pairs(intents: list[Intent], split: str) -> list[Pair]:
    chosen = [i for i in intents if i.split == split]
    pairs = [Pair(a, b, True, "paraphrase") for i in chosen for a, b in itertools.combinations(i.texts, 2)]
    for x, y in itertools.combinations(chosen, 2):
        kind = "confusable" if x.family == y.family else "other"
        pairs.extend(Pair(a, b, False, kind) for a in x.texts for b in y.texts)
    return pairs


@dataclass(frozen=True, slots=True)
class Scored:
    pair: Pair
    similarity: float
    score: float | None  # None: refused before the model (below the lowest floor, or a fact)
    reason: str

    def accepted(self, floor: float, threshold: float, close: Close | None = None) -> bool:
        if close is not None:
            threshold = close.lowers(threshold, self.similarity)
        return self.similarity >= floor and self.score is not None and self.score >= threshold


@dataclass(frozen=True, slots=True)
class Counts:
    tp: int
    fp: int
    fn: int
    confusable_fp: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def line(self) -> str:
        return (
            f"precision {self.precision:.3f}  recall {self.recall:.3f}  (tp {self.tp}, fp {self.fp}, "
            f"fn {self.fn}, confusable fp {self.confusable_fp})"
        )


def score_pairs(pairs: list[Pair], embedder: Embedder, judge: Judge, floor: float) -> list[Scored]:
    texts = sorted({p.a for p in pairs} | {p.b for p in pairs})
    vectors = dict(zip(texts, embedder.embed(texts), strict=True))
    similarities = [float(vectors[p.a] @ vectors[p.b]) for p in pairs]
    verdicts = judge.verify_pairs([(p.a, p.b, s) for p, s in zip(pairs, similarities, strict=True)], floor)
    return [Scored(p, v.similarity, v.score, v.reason) for p, v in zip(pairs, verdicts, strict=True)]


def count(rows: list[Scored], floor: float, threshold: float, close: Close | None = None) -> Counts:
    tp = fp = fn = confusable = 0
    for r in rows:
        hit = r.accepted(floor, threshold, close)
        if r.pair.same:
            tp, fn = tp + hit, fn + (not hit)
        elif hit:
            fp += 1
            confusable += r.pair.kind == "confusable"
    return Counts(tp, fp, fn, confusable)


@dataclass(frozen=True, slots=True)
class Replay:
    possible: int  # questions asked after another phrasing of their intent
    hits: int  # served the answer of their own intent
    wrong: int  # served another intent's answer

    @property
    def hit_rate(self) -> float:
        return self.hits / self.possible if self.possible else 0.0

    def line(self) -> str:
        return f"hits {self.hits} of {self.possible} possible ({self.hit_rate:.3f}), wrong answers {self.wrong}"


def replay(
    intents: list[Intent],
    split: str,
    embedder: Embedder,
    judge: Judge,
    floor: float,
    candidates: int,
    orders: int = 5,
    keep_wordings: bool = True,
) -> Replay:
    """The split's questions through a cache, in `orders` shuffled orders: each round asks one more phrasing of
    every intent (first phrasings first, so most questions have their intent stored). A miss is stored; a
    question is served the most similar of its `candidates` nearest stored questions that the judge accepts,
    and with `keep_wordings` stored too, holding the answer it was served and the question that answer was written
    for, whose facts a question judged against it must match too (as `ResponseCache.keep_wording`)."""
    asked_intents = [i for i in intents if i.split == split]
    texts = sorted({t for i in asked_intents for t in i.texts})
    vectors = dict(zip(texts, embedder.embed(texts), strict=True))
    possible = hits = wrong = 0
    for order in range(orders):
        rng = random.Random(order)
        stored: list[tuple[str, str, str | None]] = []  # (intent, question, the question its answer was for)
        for round_ in range(max(len(i.texts) for i in asked_intents)):
            asked = [(i.name, i.texts[round_]) for i in asked_intents if round_ < len(i.texts)]
            rng.shuffle(asked)
            for intent, text in asked:
                possible += any(name == intent for name, _, _ in stored)
                nearest = sorted(stored, key=lambda s: -float(vectors[text] @ vectors[s[1]]))[:candidates]
                judged = [(q, float(vectors[text] @ vectors[q])) for _, q, _ in nearest]
                chosen = judge.first_accepted(text, judged, floor, [origin for _, _, origin in nearest])
                if chosen is None:
                    stored.append((intent, text, None))
                else:
                    served, question, origin = nearest[chosen]
                    hits += served == intent
                    wrong += served != intent
                    if keep_wordings:
                        stored.append((served, text, origin or question))
    return Replay(possible, hits, wrong)

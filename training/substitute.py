"""Single-substitution hard negatives (docs/semantic-cache.md, issue 8's fifth pass).

    HF_HUB_OFFLINE=1 .venv/bin/python training/build_lexicon.py --spacy DIR   # rewrites the lexicon (~1 min)

A training question with one noun, verb or adjective replaced by a sibling, another word of the same fine-grained
tag from other training questions (*cancel my order* -> *cancel my subscription*), is a different question. The
lexicon (`data/substitution_lexicon.json`) lists, for each word that may be replaced, the siblings that may replace
it; it is computed once here (spaCy's tags, the embedding model's word vectors) from the training questions only,
so `pairs()` needs neither. A sibling is never the word's own lemma, never a word the training intents use
interchangeably (one phrasing of an intent has one where another phrasing has the other), never too close to the
word in the embedding space (synonyms), and never a filler word (how a question is framed, not what it asks).
"""

from __future__ import annotations

import itertools
import json
import random
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

LEXICON = Path(__file__).resolve().parent / "data" / "substitution_lexicon.json"
TAGS = ("NN", "NNS", "VB", "VBD", "VBG", "VBN", "VBP", "VBZ", "JJ")
DOMINANT = 0.9  # a word is replaceable when at least this share of its uses carry one tag (no noun/verb guessing)
COMMON = 0.15  # a word in more than this share of the intents (want, need) is a filler
# how questions are framed rather than what they ask (beyond spaCy's stop words): neither replaced nor a replacement
FILLERS = frozenset(
    {
        "able",
        "actually",
        "anymore",
        "ask",
        "asking",
        "explain",
        "figure",
        "find",
        "forgot",
        "get",
        "getting",
        "got",
        "guys",
        "help",
        "hey",
        "idea",
        "instead",
        "know",
        "like",
        "looking",
        "mean",
        "need",
        "possible",
        "question",
        "really",
        "remember",
        "stuff",
        "sure",
        "tell",
        "thanks",
        "thing",
        "things",
        "trying",
        "try",
        "want",
        "wondering",
        "work",
        "working",
    }
)
SYNONYM = 0.5  # the two words' cosine (all-MiniLM-L6-v2) at or above which a sibling is taken for a synonym
SEEN = 2  # a word used fewer times than this in the training questions (often a typo) is left out
SIBLINGS = 12  # the closest siblings below SYNONYM kept for each word
TRADED = 2  # a synonym (v8) is traded by the phrasings of at least this many intents...
CLOSE = 0.7  # ...its cosine to the word is at least this, and the two are not opposites (the facts' WordNet list)
WORD = re.compile(r"[A-Za-z][a-z]+")

Pair = tuple[str, str, int]
Lexicon = dict[str, list[str]]


def load(kind: str = "siblings") -> Lexicon:
    """The siblings (different questions) or the synonyms (the same question) of each replaceable word."""
    data: dict[str, Lexicon] = json.loads(LEXICON.read_text(encoding="utf-8"))
    return data[kind]


def _case_like(word: str, model: str) -> str:
    return word.capitalize() if model[0].isupper() else word


def substitute(text: str, lexicon: Lexicon, follows: set[tuple[str, str]], rng: random.Random) -> str | None:
    """`text` with one replaceable word replaced by one of its siblings (a sibling seen after the same preceding
    word is three times as likely: it keeps the question fluent); None when no word is replaceable."""
    slots = [m for m in WORD.finditer(text) if lexicon.get(m.group().lower()) and "`" not in text[: m.start()]]
    if not slots:
        return None
    slot = rng.choice(slots)
    before = text[: slot.start()].split()
    previous = before[-1].lower() if before else ""
    siblings = lexicon[slot.group().lower()]
    weights = [3 if (previous, s) in follows else 1 for s in siblings]
    sibling = rng.choices(siblings, weights)[0]
    return text[: slot.start()] + _case_like(sibling, slot.group()) + text[slot.end() :]


def bigrams(texts: Iterable[str]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for text in texts:
        words = text.lower().split()
        out |= set(itertools.pairwise(words))
    return out


def pairs(
    families: list[list[list[str]]],
    rng: random.Random,
    edit: Callable[[str, random.Random], str],
    normal: Callable[[str], str],
    lexicon: Lexicon | None = None,
    edit_negatives: bool = False,
) -> list[Pair]:
    """For each question of `families` (intents grouped in families): the question with one word substituted,
    "different" against the question or another phrasing of its intent; and a "same" pair beside it, the
    substituted question or the original against itself with a trivial `edit`, so neither an edit nor an odd new
    sentence is a cue for "different". A substitution that lands on a phrasing of its own intent is dropped.
    `edit_negatives`: half the "different" pairs have one side edited too, so an edit is no cue for "same" either
    (without it, every edited pair is "same": framed near-misses were served)."""
    lexicon = load() if lexicon is None else lexicon
    follows = bigrams(t for family in families for texts in family for t in texts)
    out: list[Pair] = []
    for family in families:
        for texts in family:
            own = {normal(t) for t in texts}
            for text in texts:
                new = substitute(text, lexicon, follows, rng)
                if new is None or normal(new) in own:
                    continue
                other = text if len(texts) == 1 or rng.random() < 0.5 else rng.choice([t for t in texts if t != text])
                if edit_negatives and rng.random() < 0.5:
                    if rng.random() < 0.5:
                        other = edit(other, rng)
                    else:
                        new = edit(new, rng)
                out.append((other, new, 0) if rng.random() < 0.5 else (new, other, 0))
                # With `edit_negatives`, `new` may already be edited here: its "same" pair then carries two edits (v10
                # was trained so; changing it would change v10's pairs).
                kept = new if rng.random() < 0.5 else text
                edited = edit(kept, rng)
                if normal(edited) != normal(kept) or edited != kept:
                    out.append((kept, edited, 1) if rng.random() < 0.5 else (edited, kept, 1))
    return out


def synonym_pairs(families: list[list[list[str]]], rng: random.Random, lexicon: Lexicon | None = None) -> list[Pair]:
    """v8: each question with one word replaced by a synonym, "same" against the question or another phrasing of
    its intent, so a changed content word is not by itself a cue for "different"."""
    lexicon = load("synonyms") if lexicon is None else lexicon
    follows = bigrams(t for family in families for texts in family for t in texts)
    out: list[Pair] = []
    for family in families:
        for texts in family:
            for text in texts:
                new = substitute(text, lexicon, follows, rng)
                if new is None:
                    continue
                other = text if len(texts) == 1 or rng.random() < 0.5 else rng.choice([t for t in texts if t != text])
                out.append((other, new, 1) if rng.random() < 0.5 else (new, other, 1))
    return out


def build_lexicon(families: list[list[list[str]]], spacy_dir: Path, embedding_dir: Path) -> dict[str, object]:
    """The lexicon from the training questions: spaCy tags each question; the embedding model scores word pairs."""
    import numpy as np
    import spacy

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from helix.cache.embedder import Embedder
    from helix.cache.judge.wordlists import opposites

    opposite = {frozenset(pair) for pair in opposites()}

    nlp = spacy.load(spacy_dir, exclude=["ner", "parser"])
    intents = [texts for family in families for texts in family]
    tags: dict[str, Counter[str]] = defaultdict(Counter)
    lemma: dict[str, str] = {}
    per_intent: list[list[set[str]]] = []
    for texts in intents:
        words_of: list[set[str]] = []
        for doc in nlp.pipe(texts):
            seen: set[str] = set()
            for tok in doc:
                word = tok.text.lower()
                if WORD.fullmatch(tok.text) and not tok.is_stop and len(word) > 2 and word not in FILLERS:
                    tags[word][tok.tag_] += 1
                    lemma.setdefault(word, tok.lemma_.lower())
                    seen.add(word)
            words_of.append(seen)
        per_intent.append(words_of)
    used_by = Counter(w for words_of in per_intent for w in set().union(*words_of))
    interchangeable: Counter[frozenset[str]] = Counter()  # in how many intents two phrasings trade the words
    for words_of in per_intent:
        traded: set[frozenset[str]] = set()
        for a, b in itertools.combinations(words_of, 2):
            traded |= {frozenset((x, y)) for x in a - b for y in b - a}
        interchangeable.update(traded)
    tag_of = {}
    for word, counts in tags.items():
        tag, n = counts.most_common(1)[0]
        total = sum(counts.values())
        if tag in TAGS and n >= DOMINANT * total and total >= SEEN and used_by[word] <= COMMON * len(intents):
            tag_of[word] = tag
    words = sorted(tag_of)
    vectors = Embedder(model_path=str(embedding_dir)).embed(words)
    similarity = vectors @ vectors.T
    siblings: Lexicon = {}
    synonyms: Lexicon = {}  # v8: words two phrasings of one intent use interchangeably, at least SYNONYM close
    for i, word in enumerate(words):
        order = np.argsort(-similarity[i])
        chosen = [
            words[j]
            for j in order
            if tag_of[words[j]] == tag_of[word]
            and similarity[i, j] < SYNONYM
            and lemma[words[j]] != lemma[word]
            and frozenset((word, words[j])) not in interchangeable
        ][:SIBLINGS]
        if chosen:
            siblings[word] = chosen
        same = [
            words[j]
            for j in order
            if j != i
            and tag_of[words[j]] == tag_of[word]
            and similarity[i, j] >= CLOSE
            and lemma[words[j]] != lemma[word]
            and interchangeable[frozenset((word, words[j]))] >= TRADED
            and frozenset((lemma[word], lemma[words[j]])) not in opposite
        ]
        if same:
            synonyms[word] = same
    return {"tags": {w: tag_of[w] for w in siblings}, "siblings": siblings, "synonyms": synonyms}

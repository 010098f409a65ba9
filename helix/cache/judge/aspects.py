"""Closed classes of words two questions must not disagree on: tense (past / future), a time relative to now
(yesterday / today / tomorrow, last / this / next week), the modality of a yes/no question (may I / must I /
should I) and quantity (all / some / none / most). The model reads these words as near-synonyms: "Did my payment
go through?" and "Will my payment go through?" score 0.93.

A question disagrees with another when each has a class of the fact the other lacks; a class on one side only is
wording ("I was charged twice, will I get a refund?" / "Will I be refunded?").
"""

from __future__ import annotations

import re
from functools import cache

from helix.cache.judge import wordlists
from helix.cache.judge.text import word_matches

_QUESTION_WORDS = frozenset({"how", "what", "when", "where", "which", "why", "who", "much", "many"})
_CLAUSE_START_RE = re.compile(r"(?:^|[.!?;:,(]|\b(?:and|but|so|or|hi|hello|hey|please)\b)\s*$", re.IGNORECASE)
# Where a fact's phrases count: a tense's and a modality's only where they open a question ("Did my payment...",
# "why did it...", "Can I..."); "the flight was late, will you rebook me" tells a story before it asks.
_QUESTION_OPENERS = frozenset({"tense", "modality"})
# "is there any way to": "any" asks whether a way exists, not for some of a thing
_IDIOMS_AFTER_SOME = frozenset({"way", "chance", "option", "possibility", "help", "idea", "reason"})

Phrase = tuple[str, ...]


@cache
def classes() -> dict[str, dict[str, tuple[Phrase, ...]]]:
    """{fact: {class: phrases}} from data/aspects.txt."""
    lines = wordlists.lines("aspects.txt")
    periods = next(rest for head, _, rest in (line.partition(":") for line in lines) if head == "periods")
    out: dict[str, dict[str, tuple[Phrase, ...]]] = {}
    for head, _, rest in (line.partition(":") for line in lines):
        if head == "periods":
            continue
        fact, name = head.split()
        phrases: list[Phrase] = []
        for phrase in (p.strip() for p in rest.split(",")):
            each = [phrase.replace("{period}", p.strip()) for p in periods.split(",")] if "{" in phrase else [phrase]
            phrases.extend(tuple(p.split()) for p in each)
        out.setdefault(fact, {})[name] = tuple(phrases)
    return out


def _found(tokens: list[str], starts: list[bool], fact: str, phrase: Phrase, at: int) -> bool:
    if tuple(tokens[at : at + len(phrase)]) != phrase:
        return False
    if fact in _QUESTION_OPENERS and not (starts[at] or (fact == "tense" and at and tokens[at - 1] in _QUESTION_WORDS)):
        return False
    after = tokens[at + len(phrase)] if at + len(phrase) < len(tokens) else ""
    return not (fact == "quantity" and phrase in (("any",), ("some",)) and after in _IDIOMS_AFTER_SOME)


def present(text: str, fact: str) -> set[str]:
    """The classes of `fact` the text's words name."""
    matches = list(word_matches(text))
    tokens = [m.group(0).lower().replace("\u2019", "'") for m in matches]
    starts = [bool(_CLAUSE_START_RE.search(m.string[: m.start()])) for m in matches]
    return {
        name
        for name, phrases in classes()[fact].items()
        if any(_found(tokens, starts, fact, phrase, at) for phrase in phrases for at in range(len(tokens)))
    }


def disagreement(a: str, b: str) -> tuple[str, list[str], list[str]] | None:
    """(fact, classes of a only, classes of b only) for the first fact on which each has a class the other lacks."""
    for fact in classes():
        ca, cb = present(a, fact), present(b, fact)
        if ca - cb and cb - ca:
            return fact, sorted(ca - cb), sorted(cb - ca)
    return None

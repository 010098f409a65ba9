"""Closed classes of words two questions must not disagree on: tense (past / future), a time relative to now
(yesterday / today / tomorrow, last / this / next week), the modality of a yes/no question (may I / must I /
should I) and quantity (all / some / none / most). The model reads these words as near-synonyms: "Did my payment
go through?" and "Will my payment go through?" score 0.93.

A question disagrees with another when each has a class of the fact the other lacks; a class on one side only is
wording ("I was charged twice, will I get a refund?" / "Will I be refunded?").
"""

from __future__ import annotations

from functools import cache, lru_cache

from helix.cache.judge import questions, wordlists
from helix.cache.judge.text import word_matches

_QUESTION_WORDS = frozenset({"how", "what", "when", "where", "which", "why", "who", "much", "many"})
_CLAUSE_START_RE = questions.clause_start("hi", "hello", "hey", "please")  # "Hi did my payment go through?"
# Where a fact's phrases count: a tense's and a modality's only where they open a question ("Did my payment...",
# "why did it...", "Can I..."); "the flight was late, will you rebook me" tells a story before it asks.
_QUESTION_OPENERS = frozenset({"tense", "modality"})
# "can you", "could you", "may I ask": a request put politely, not a question of what one may do
_POLITE_AFTER = frozenset({"you", "u", "ya", "ask"})
# "is there any way to": "any" asks whether a way exists, not for some of a thing
_IDIOMS_AFTER_SOME = frozenset({"way", "chance", "option", "possibility", "help", "idea", "reason"})

# after "once" a clause's subject makes it a time, not a count ("once I reopen it")
_SUBJECTS = frozenset({"i", "you", "we", "they", "he", "she", "it", "the", "my", "your", "our", "their"})
# before "I just", a question asking whether that is all it takes ("do I just reinstall the app")
_AUXILIARIES_BEFORE_I = frozenset({"do", "can", "could", "should", "shall", "would", "will", "must"})
Phrase = tuple[str, ...]
_TEXTS_REMEMBERED = 1024


@cache
def periods() -> tuple[str, ...]:
    """The words for a period of time (the `periods` line): day, week, month, monday, ..."""
    lines = wordlists.lines("aspects.txt")
    periods = next(rest for head, _, rest in (line.partition(":") for line in lines) if head == "periods")
    return tuple(p.strip() for p in periods.split(","))


@cache
def classes() -> dict[str, dict[str, tuple[Phrase, ...]]]:
    """{fact: {class: phrases}} from data/aspects.txt."""
    lines = wordlists.lines("aspects.txt")
    out: dict[str, dict[str, tuple[Phrase, ...]]] = {}
    for head, _, rest in (line.partition(":") for line in lines):
        if head == "periods":
            continue
        fact, name = head.split()
        phrases: list[Phrase] = []
        for phrase in (p.strip() for p in rest.split(",")):
            each = [phrase.replace("{period}", p) for p in periods()] if "{" in phrase else [phrase]
            phrases.extend(tuple(p.split()) for p in each)
        out.setdefault(fact, {})[name] = tuple(phrases)
    return out


@cache
def _by_first_word() -> dict[str, list[tuple[str, str, Phrase]]]:
    """first word -> (fact, class, phrase) for every phrase: a text's words are looked up once each."""
    index: dict[str, list[tuple[str, str, Phrase]]] = {}
    for fact, named in classes().items():
        for name, phrases in named.items():
            for phrase in phrases:
                index.setdefault(phrase[0], []).append((fact, name, phrase))
    return index


def _opens_a_question(text: str, start: int, before: str) -> bool:
    """A word at a clause's start, or (for a tense) right after a question word ("why did it fail")."""
    return bool(_CLAUSE_START_RE.search(text, max(0, start - 12), start)) or before in _QUESTION_WORDS


@lru_cache(maxsize=_TEXTS_REMEMBERED)
def present(text: str) -> dict[str, frozenset[str]]:
    """fact -> the classes the text's words name (a question is judged against several candidates: read once)."""
    matches = list(word_matches(text))
    tokens = [m.group(0).lower().replace("\u2019", "'") for m in matches]
    index = _by_first_word()
    found: dict[str, set[str]] = {}
    for at, token in enumerate(tokens):
        for fact, name, phrase in index.get(token, ()):
            if tuple(tokens[at : at + len(phrase)]) != phrase or name in found.get(fact, ()):
                continue
            before = tokens[at - 1] if at else ""
            after = tokens[at + len(phrase)] if at + len(phrase) < len(tokens) else ""
            if fact in _QUESTION_OPENERS:
                start = matches[at].start()
                if not _opens_a_question(matches[at].string, start, before if fact == "tense" else ""):
                    continue
            if fact == "quantity" and phrase in (("any",), ("some",)) and after in _IDIOMS_AFTER_SOME:
                continue
            if fact == "modality" and len(phrase) == 1 and after in _POLITE_AFTER:
                continue
            if fact == "position" and after in periods():
                continue
            if fact == "recurrence" and (before in ("than", "least") or (phrase == ("once",) and after in _SUBJECTS)):
                continue  # "more than once", "at least once": repeated; "once I reopen it": a time
            if fact == "precision" and phrase == ("exactly",) and before in _QUESTION_WORDS:  # "what exactly happens"
                continue
            if fact == "reality" and phrase[0] == "i" and before in _AUXILIARIES_BEFORE_I:  # "do I just reinstall"
                continue
            found.setdefault(fact, set()).add(name)
    return {fact: frozenset(names) for fact, names in found.items()}


def disagreement(a: str, b: str) -> tuple[str, list[str], list[str]] | None:
    """(fact, classes of a only, classes of b only) for the first fact on which each has a class the other lacks."""
    pa, pb = present(a), present(b)
    for fact in classes():
        ca, cb = pa.get(fact, frozenset()), pb.get(fact, frozenset())
        if ca - cb and cb - ca:
            return fact, sorted(ca - cb), sorted(cb - ca)
    return None

"""The kind of answer a question asks for, from its question word: a person (who), a reason (why), a time
(when), a duration (how long), a frequency (how often), a place (where) or an amount (how many, how much).

"Who founded Microsoft?" and "When was Microsoft founded?" share every content word and ask for different answers;
so do "Is my flight delayed?" (yes or no) and "Why is my flight delayed?".
Only a person or a reason counts against another kind: users ask a place, a time or an amount for one another
when they want a status ("Where is my refund?" / "When will my refund arrive?", "How often do I pay?" / "When
are payments due?"), which the paraphrases of every labelled set do. And only when neither question adds a
content word: otherwise the model reads the rest. A duration and a frequency are told apart whatever the words ("how
long does the backup take" / "how often does the backup run").

Besides the question word, what a question asks about: what a thing is, whether it is legal or whether one is
eligible, against how to do it or where it is ("what is an API key" / "where do I find my API key", "am I eligible
for financial aid" / "how do I apply for financial aid"); and a cause against a consequence ("what causes high blood
pressure" / "what does high blood pressure cause").
"""

from __future__ import annotations

import re
from functools import cache

from helix.cache.judge import wordlists
from helix.cache.judge.text import stem, word_matches, words


def clause_start(*also: str) -> re.Pattern[str]:
    """Searched in the text before a word: whether the word starts a clause (after the text's start, a mark, a joining
    word or one of `also`)."""
    joiners = "|".join(("and", "but", "so", "or", *also))
    return re.compile(rf"(?:^|[.!?;:,(]|\b(?:{joiners})\b)\s*$", re.IGNORECASE)


_CLAUSE_START_RE = clause_start()
# after these, "when" and "where" ask ("when will it arrive"); before a subject they join clauses ("when I log in")
_AUXILIARIES = frozenset(
    {"is", "are", "was", "were", "am", "do", "does", "did", "will", "would", "can", "could", "should", "shall"}
    | {"may", "might", "must", "has", "have", "had"}
)
_JOINING = frozenset({"when", "where"})
_DISTINCT = frozenset({"person", "reason"})
_DURATION_AND_FREQUENCY = frozenset({"duration", "frequency"})


@cache
def _first_words() -> frozenset[str]:
    return frozenset(phrase.split()[0] for phrase in wordlists.question_words())


def asked(text: str) -> str | None:
    """The kind of answer asked for by the first question word that starts a clause ("Hi, who…", "…, why?"),
    None when that word asks for none of the kinds ("what", "how do I"); with no question word, "yes or no" when a
    clause ends in "?" and opens with an auxiliary ("Is my flight delayed?"), else None."""
    kinds, firsts = wordlists.question_words(), _first_words()
    matches = list(word_matches(text))
    normal = [m.group(0).lower().replace("\u2019", "'") for m in matches]
    yes_or_no = False
    for i, match in enumerate(matches):
        if not yes_or_no and normal[i] in _AUXILIARIES and _CLAUSE_START_RE.search(match.string[: match.start()]):
            yes_or_no = "?" in text[match.end() :]
        word, _, clitic = normal[i].partition("'")  # "where's", "who'd"
        if word not in firsts and word not in ("what", "how", "which"):
            continue
        if not _CLAUSE_START_RE.search(match.string[: match.start()]):
            continue
        after = normal[i + 1] if i + 1 < len(normal) else ""
        kind = kinds.get(f"{word} {after}") or kinds.get(word)
        if word in _JOINING and not clitic and after not in _AUXILIARIES:
            continue
        return kind
    return "yes or no" if yes_or_no else None


def _content(text: str) -> set[str]:
    function_words = wordlists.words("function_words.txt")
    return {stem(w) for w in words(text) if w.isalpha() and w not in function_words}


# Questions about a thing that are not how to do it: the whole question, the thing in its group (greedy, then the
# closing marks: a lazy group before them rescanned long runs of marks, seconds on 40 KB).
_THING = r"(?P<thing>[^?.!,;:]+)[?.!,;:\s]*$"
_ABOUT_RES = (
    # "what is an API key", "what are webhooks"; not "what is my account number" ("where do I find it" asks the same)
    (
        "definition",
        re.compile(r"^\W*what(?:\s+is|\s+are|'s|\u2019s)\s+(?!(?:my|our|your|the)\b)(?:an?\s+)?" + _THING, re.I),
    ),
    ("legality", re.compile(r"^\W*is\s+it\s+(?:legal|illegal|against\s+the\s+law)\s+to\s+" + _THING, re.I)),
    (
        "eligibility",
        re.compile(
            r"^\W*(?:am\s+i|are\s+we|do\s+i|do\s+we|can\s+i|would\s+i|will\s+i)\s+"
            r"(?:be\s+)?(?:eligible|qualify|qualified|entitled)(?:\s+(?:for|to))?\s+" + _THING,
            re.IGNORECASE,
        ),
    ),
)
# the other side's words that ask the same about it ("how do I know if I'm eligible for a refund")
_ASKED_THE_SAME = {
    "definition": re.compile(r"\bwhat\b|\bmean|\bexplain|\bwork\b", re.I),
    "legality": re.compile(r"\blegal|\blaw|\ballowed\b", re.I),
    "eligibility": re.compile(r"\beligib|\bqualif|\bentitled\b", re.I),
}
# how one does something (a person doing it) or where it is; not "how does a VPN work" (what it is)
_HOW_OR_WHERE_RE = re.compile(r"\bhow\s+(?:do|can|could|should|would)\s+(?:i|we|you)\b|\bhow\s+to\b|\bwhere\b", re.I)
_HOW_LONG_BETWEEN = re.compile(r"\bhow\s+long\s+between\b", re.IGNORECASE)  # how often, said another way


def _about(a: str, b: str) -> str | None:
    """What `a` asks of a thing (a "definition", its "legality", one's "eligibility") when `b` asks how to do something
    with it or where it is: "what is an API key" / "where do I find my API key", "is it legal to record my calls" /
    "how do I record my calls", "do I qualify for a mortgage" / "how do I apply for a mortgage"."""
    if not _HOW_OR_WHERE_RE.search(b):
        return None
    for kind, pattern in _ABOUT_RES:
        match = pattern.match(a)
        if match and not _ASKED_THE_SAME[kind].search(b) and _content(match.group("thing")) <= _content(b):
            return kind
    return None


_CAUSE_RE = re.compile(r"\bwhy\b|\bwhat(?:'s|\u2019s|\s+is|\s+are)?\s+caus|\breasons?\s+(?:for|why)\b", re.IGNORECASE)
_EFFECT_RE = re.compile(
    r"\bwhat\s+(?:will\s+|would\s+)?happens?\b|\bwhat\s+(?:does|do|did|can|could|will|would)\s+[^?.!]{1,60}?\s+cause\b"
    r"|\b(?:effects?|consequences?)\s+of\b",
    re.IGNORECASE,
)


def _cause_against_effect(a: str, b: str) -> bool:
    """ "what causes high blood pressure" / "why is my laptop overheating" against "what does high blood pressure
    cause" / "what happens if my laptop overheats": what leads to a thing against what it leads to."""
    return bool(_CAUSE_RE.search(a) and not _EFFECT_RE.search(a) and _EFFECT_RE.search(b) and not _CAUSE_RE.search(b))


def different_kinds(a: str, b: str) -> tuple[str, str] | None:
    """The two kinds, when one question asks for a person or a reason and the other for another kind, and one
    question's content words are all in the other; a duration and a frequency; what one asks of a thing against
    how to do something with it or where it is; a cause and a consequence."""
    if (about := _about(a, b)) is not None:
        return about, "way or place"
    if (about := _about(b, a)) is not None:
        return "way or place", about
    if _cause_against_effect(a, b):
        return "cause", "consequence"
    if _cause_against_effect(b, a):
        return "consequence", "cause"
    ka, kb = asked(a), asked(b)
    if ka is None or kb is None or ka == kb:
        return None
    if {ka, kb} == _DURATION_AND_FREQUENCY:
        return None if _HOW_LONG_BETWEEN.search(a) or _HOW_LONG_BETWEEN.search(b) else (ka, kb)
    if not {ka, kb} & _DISTINCT:
        return None
    ca, cb = _content(a), _content(b)
    return (ka, kb) if ca <= cb or cb <= ca else None

"""Who acts on whom: "how do I rate my driver" and "how does my driver rate me" share every word and ask opposite
things, as do "can my manager see my messages" and "can I see my manager's messages". And whose a thing is: "can I
make changes to my booking" / "... to her booking".

Read without a parser: for each act, its doer is the word just before it (a personal pronoun, or a noun after a
determiner: "my driver") and what it acts on the first word after it (determiners aside). Two questions about one
act trade their parties when one's doer is what the other acts on. "I" and "me" are one party, "my manager's" is
the manager.
"""

from __future__ import annotations

from helix.cache.judge import wordlists
from helix.cache.judge.text import stem, words

_SAME_PARTY = {"me": "i", "us": "we", "him": "he", "her": "she", "them": "they"}
# Not "you": whoever the question asks, and "can you contact us" is how a page asks "how do I contact you".
_DOERS = frozenset({"i", "we", "he", "she", "they"})
_ACTED_ON = frozenset(_SAME_PARTY)
# Verbs among the function words (spaCy's stop words): "can my manager see my messages".
_COMMON_ACTS = frozenset({"see", "make", "give", "get", "call", "show", "take", "put", "move", "keep"})
# Before a subject that is then acted on ("was I charged", "is my card blocked", "did I get billed"): no doer.
_PASSIVE_BEFORE = frozenset({"was", "were", "is", "are", "am", "been", "be", "get", "got"})
# Between a doer and its act: "my driver just rated me", "I can see".
_BETWEEN = frozenset({"just", "also", "still", "ever", "never", "can", "could", "will", "would", "should", "may"})


def _party(word: str) -> str:
    return _SAME_PARTY.get(word) or stem(word.removesuffix("'s").removesuffix("\u2019s"))


def _acts(tokens: list[str]) -> set[tuple[str, str, str]]:
    """(doer, act, acted on) for each content word with a doer before it and something after it, as parties and
    stems."""
    function_words, determiners = wordlists.words("function_words.txt"), wordlists.words("determiners.txt")
    out = set()
    for i, act in enumerate(tokens):
        if (act in function_words and act not in _COMMON_ACTS) or not act.isalpha():
            continue
        at = i - 1
        while at >= 0 and tokens[at] in _BETWEEN:
            at -= 1
        doer = tokens[at] if at >= 0 else ""
        if at >= 1 and tokens[at - 1] in _PASSIVE_BEFORE:  # "why was I charged": I am what is charged
            continue
        is_noun_doer = at >= 1 and tokens[at - 1] in determiners and doer not in function_words
        if doer not in _DOERS and not is_noun_doer:
            continue
        rest = [w for w in tokens[i + 1 :] if w not in determiners]
        if rest and (rest[0] in _ACTED_ON or rest[0] not in function_words):
            out.add((_party(doer), stem(act), _party(rest[0])))
    return out


def traded(a: str, b: str) -> tuple[str, str, str] | None:
    """(act, one question's doer, the other's) when the doer of an act in one question is what the same act is done
    to in the other, and the doers differ."""
    acts_b = _acts(words(b))
    for doer, act, done_to in sorted(_acts(words(a))):
        for doer_b, act_b, done_to_b in acts_b:
            if act == act_b and doer != doer_b and (doer == done_to_b or doer_b == done_to):
                return act, doer, doer_b
    return None


_MINE = frozenset({"my", "our"})
# Not "their" (what users ask of a product: "how can users reset their password") nor "X's" ("my driver's license",
# "the account's email", "the app's not loading").
_ANOTHERS = frozenset({"his", "her"})


def _owners(tokens: list[str]) -> dict[str, set[str]]:
    """thing (stemmed) -> whose it is said to be: "mine" (my, our) or "another's" (his, her)."""
    out: dict[str, set[str]] = {}
    for i, word in enumerate(tokens[:-1]):
        if word in _MINE or word in _ANOTHERS:
            out.setdefault(stem(tokens[i + 1]), set()).add("mine" if word in _MINE else "another's")
    return out


def other_owner(a: str, b: str) -> tuple[str, str, str] | None:
    """(thing, whose in `a`, whose in `b`) when one question's thing is the asker's and the other's someone else's:
    "can I make changes to my booking" / "my friend booked the trip, can I make changes to her booking"."""
    oa, ob = _owners(words(a)), _owners(words(b))
    for thing in sorted(oa.keys() & ob.keys()):
        if len(oa[thing]) == 1 and len(ob[thing]) == 1 and oa[thing] != ob[thing]:
            return thing, next(iter(oa[thing])), next(iter(ob[thing]))
    return None

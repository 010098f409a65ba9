"""Words as the facts read them: lower case, "non-root" as "non root", "two-factor" as one word, crude stems."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

WORD_RE = re.compile(r"[a-z0-9][a-z0-9+#.'\u2019]*[a-z0-9+#]|[a-z0-9]|[$€£%]", re.IGNORECASE)
SHORT_WORD = 3  # "100 to EUR": a word this short after a number is not what it counts
_NON_RE = re.compile(r"\bnon-", re.IGNORECASE)
_LETTER_HYPHEN_RE = re.compile(r"(?<=[a-z])-(?=[a-z])", re.IGNORECASE)


def normalised(text: str) -> str:
    return _LETTER_HYPHEN_RE.sub("", _NON_RE.sub("non ", text))


def word_matches(text: str) -> Iterator[re.Match[str]]:
    """The words of `normalised(text)`, with their places in it."""
    return WORD_RE.finditer(normalised(text))


# Country names written in capitals that lower-case to a function word: "a US company" is no "us".
_CAPITAL_NAMES = {"US": "usa", "U.S": "usa"}


def words(text: str) -> list[str]:
    """Lower-case words; "non-root" is "non root" (a negation), "two-factor" one word (not a number)."""
    return list(_words(text))


# A pair's facts read each question's words a dozen times, and a question is judged against several candidates.
_TEXTS_REMEMBERED = 1024


@lru_cache(maxsize=_TEXTS_REMEMBERED)
def _words(text: str) -> tuple[str, ...]:
    found = (m.group(0) for m in word_matches(text))
    return tuple(_CAPITAL_NAMES.get(word) or word.lower().replace("\u2019", "'") for word in found)


def stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= SHORT_WORD:
            return word[: -len(suffix)]
    return word

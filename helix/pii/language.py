"""Whether a line of a text is written in another language than English, for the cased view's sake (`casing.py`).

The cased view capitalises lower-case words the English dictionary does not know, so that spaCy's English model can
tell "ask maria gonzalez" for a name. In Spanish, Portuguese, Italian or Dutch no word is in that dictionary: every
run of them was capitalised, and the model read "¿Cuántos Días Son?" as a name (on the benign prompts of the probe
sets, 49 of 597 over-redactions). A line is another language's when its words are mostly function words of one of
twenty-odd other languages (spaCy's own stop-word lists), or letters of a script English is not written in, rather
than English function words; only an introduction ("me llamo", "il nome") then capitalises a name there.
"""

from __future__ import annotations

import functools
import importlib
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Callable

import regex
import spacy.lang
from spacy.lang.en.stop_words import STOP_WORDS

_LANGUAGES = (
    *("de", "es", "it", "fr", "pt", "nl", "pl", "tr", "ru", "uk", "id", "sv", "da", "nb", "ro", "cs", "hu"),
    *("fi", "ca", "hr", "sk", "sl"),
)
_WORD = regex.compile(r"\p{L}+")


@functools.cache
def _function_words() -> frozenset[str]:
    """Other languages' stop words that are not English words too ("die", "es", "a" read as English)."""
    words: set[str] = set()
    for code in _LANGUAGES:
        words |= stop_words(code)
    return frozenset(w for w in words if " " not in w) - STOP_WORDS


def stop_words(code: str) -> frozenset[str]:
    """spaCy's stop words of the language `code`, without running its language package: French's compiles its
    tokenizer's exceptions on import (~2.5 s, a third of `helix serve`'s start-up), and only the word list is read.
    The list's module is found in the package's folders (in the binary, its frozen ones) and run as a module of its own,
    out of `sys.modules`: nothing another thread imports meanwhile can see it."""
    package = f"spacy.lang.{code}"
    if package not in sys.modules:
        folders = [os.path.join(folder, code) for folder in spacy.lang.__path__]
        spec = importlib.machinery.PathFinder.find_spec(f"{package}.stop_words", folders)
        if spec is not None and spec.loader is not None:
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return frozenset(module.STOP_WORDS)
    return frozenset(importlib.import_module(f"{package}.stop_words").STOP_WORDS)


def foreign(line: str, english: Callable[[str], bool]) -> bool:
    """Whether `line` is written in another language: at least two of its words are another language's function
    words that are no English word (`english`: the English dictionary's test; "ok", "later", "van" are both), or
    words with letters English does not write (días, não, straße) or in another script, and more than twice as many
    as its English function words."""
    others = english_words = 0
    function_words = _function_words()
    for match in _WORD.finditer(line):
        word = match.group().lower()
        if word in STOP_WORDS:
            english_words += 1
        elif not word.isascii() or (len(word) > 1 and word in function_words and not english(word)):
            others += 1
    return others >= 2 and others > 2 * english_words


def in_foreign_line(text: str, at: int, english: Callable[[str], bool]) -> bool:
    """Whether the line of `text` that holds position `at` is written in another language (`foreign`)."""
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    return foreign(text[start : end if end >= 0 else len(text)], english)

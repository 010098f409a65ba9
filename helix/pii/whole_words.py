"""Where found values stand in a text as whole words, all of them found in one pass (Aho-Corasick): looking for each
value in turn costs the text's length once a value, and a request can carry thousands of found values."""

from __future__ import annotations

from collections.abc import Iterable

import ahocorasick


def stands_alone(text: str, start: int, end: int) -> bool:
    """Not part of a longer word or number."""
    return (start == 0 or not text[start - 1].isalnum()) and (end == len(text) or not text[end].isalnum())


class WholeWords:
    """A set of values, looked for in any number of texts."""

    def __init__(self, values: Iterable[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for value in values:
            self._automaton.add_word(value, value)
        if len(self._automaton):
            self._automaton.make_automaton()

    def places(self, text: str) -> list[tuple[int, str]]:
        """(start, value) of every place a value stands alone in `text`, overlapping places too, by their ends."""
        if not len(self._automaton):
            return []
        places = []
        for last, value in self._automaton.iter(text):
            start = last + 1 - len(value)
            if stands_alone(text, start, last + 1):
                places.append((start, value))
        return places

"""One pass over a text for the hints of every gate (`scan.py`), by Hyperscan, before any gate is asked.

A gate may say which patterns a text needs one of for it to say yes (`Needs`): each is a necessary condition, not the
gate itself. `Prescreen` compiles all of them into two Hyperscan databases, one for the text and one for its
lower-cased view, in prefilter mode: a pattern using what Hyperscan cannot run (lookarounds, back references) is
matched by a looser pattern, so the screen may say "maybe" where the gate says no, never "no" where it says yes. Most
texts then skip most gates after a single scan of ~1 us each, where the gates' own searches took ~20 us for a
short prompt.

Without Hyperscan (it does not import on this machine), or for a text it cannot scan (lone surrogates are not UTF-8),
every gate is asked, as it would be without a screen.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("helix.pii")

try:
    import hyperscan
except ImportError:  # pragma: no cover - a platform without its wheel
    hyperscan = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Needs:
    """Patterns (Python `re` syntax) a text must match one of, in `text` or in its lower-cased view (`lowered`), for
    a gate to say yes."""

    text: tuple[str, ...] = ()
    lowered: tuple[str, ...] = ()

    def __or__(self, other: Needs) -> Needs:
        return Needs(self.text + other.text, self.lowered + other.lowered)


def literals(*words: str) -> str:
    """A pattern matching any of `words` as they are."""
    return "|".join(_escaped(word) for word in words)


def _escaped(word: str) -> str:
    return "".join("\\" + char if char.isascii() and not char.isalnum() and char != " " else char for char in word)


_FLAGS = (
    (hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_UCP)
    if hyperscan is not None
    else 0
)


class _Database:
    """The patterns of one view, each once, and a scratch space per thread (Hyperscan's may not be shared)."""

    def __init__(self, patterns: list[str]) -> None:
        self._db: Any = None
        if patterns:
            self._db = hyperscan.Database()
            self._db.compile(
                expressions=[_hyperscan(p) for p in patterns],
                ids=list(range(len(patterns))),
                elements=len(patterns),
                flags=_FLAGS,
            )
        self._prototype = hyperscan.Scratch(self._db) if self._db is not None else None
        self._local = threading.local()

    def matched(self, data: bytes, found: set[int], offset: int) -> None:
        if self._db is None:
            return
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._prototype.clone()  # type: ignore[union-attr]
        self._db.scan(data, match_event_handler=lambda pattern, *_: found.add(offset + pattern), scratch=scratch)


class Prescreen:
    """Which of the gates' `Needs` a text may meet, all found in one scan of the text and one of its lowered view."""

    def __init__(self, needs: Sequence[Needs]) -> None:
        """Every `needs` whose patterns Hyperscan compiles gets its patterns' ids (`ids[i]`); the others None (their
        gates are asked always)."""
        screened = [all(map(_compiles, n.text)) and all(map(_compiles, n.lowered)) for n in needs]
        text, lowered = _Numbered(), _Numbered()
        for need, ok in zip(needs, screened, strict=True):
            if ok:
                text.add(need.text)
                lowered.add(need.lowered)
            else:
                log.debug("pii: a gate's hints are not screened (Hyperscan cannot compile them): %s", need)
        self._offset = len(text.patterns)  # the lowered view's ids follow the text's
        self.ids: list[frozenset[int] | None] = [
            frozenset([*map(text.ids.__getitem__, n.text), *(self._offset + lowered.ids[p] for p in n.lowered)])
            if ok
            else None
            for n, ok in zip(needs, screened, strict=True)
        ]
        self._text = _Database(text.patterns)
        self._lowered = _Database(lowered.patterns)

    def matched(self, text: str, lowered: str) -> set[int] | None:
        """Ids of the patterns the text (or its view) may match; None if it cannot be scanned."""
        try:
            data, view = text.encode(), lowered.encode()
        except UnicodeEncodeError:  # lone surrogates
            return None
        found: set[int] = set()
        self._text.matched(data, found, 0)
        self._lowered.matched(view, found, self._offset)
        return found


class _Numbered:
    """Patterns, each once, numbered in order."""

    def __init__(self) -> None:
        self.patterns: list[str] = []
        self.ids: dict[str, int] = {}

    def add(self, patterns: Iterable[str]) -> None:
        for pattern in patterns:
            if pattern not in self.ids:
                self.ids[pattern] = len(self.patterns)
                self.patterns.append(pattern)


def _hyperscan(pattern: str) -> bytes:
    """A pattern in Hyperscan's syntax: Python's `\\uXXXX` escapes as PCRE's `\\x{XXXX}`."""
    return _PYTHON_ESCAPE.sub(r"\\x{\1}", pattern).encode()


_PYTHON_ESCAPE = re.compile(r"(?<!\\)\\u([0-9a-fA-F]{4})")


def _compiles(pattern: str) -> bool:
    try:
        hyperscan.Database().compile(expressions=[_hyperscan(pattern)], ids=[0], elements=1, flags=_FLAGS)
    except hyperscan.error:
        return False
    return True


def available() -> bool:
    return hyperscan is not None

r"""One pass over a text for the hints of every gate (`scan.py`), by Hyperscan, before any gate is asked.

A gate may say which patterns a text needs one of for it to say yes (`Needs`): each is a necessary condition, not the
gate itself. `Prescreen` compiles all of them into two Hyperscan databases, one for the text and one for its
lower-cased view, in prefilter mode: a pattern using what Hyperscan cannot run (lookarounds, back references) is
matched by a looser pattern, so the screen may say "maybe" where the gate says no, never "no" where it says yes. Most
texts then skip most gates after a single scan of ~1 us each, where the gates' own searches took ~20 us for a
short prompt.

Without Hyperscan (it does not import on this machine), or for a text it cannot scan (lone surrogates are not UTF-8),
every gate is asked, as it would be without a screen. So it is for a text holding a character Hyperscan's Unicode tables
(older than Python's) do not count as a digit, a word character or white space where Python's `re` does (Adlam digits,
Georgian capitals: `_unread`): a pattern's `\d` would miss there what the gate's finds.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy

from helix.pii.compiled import load_or_compile

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
    """The patterns of one view, each once (and after them, with `unread`, the class of `_unread`), and a scratch space
    per thread (Hyperscan's may not be shared)."""

    def __init__(self, patterns: list[str], *, unread: bool = False) -> None:
        self._db: Any = None
        if patterns or unread:
            expressions = [_hyperscan(p) for p in patterns]  # keyed as compiled: a change of `_hyperscan` too
            key = [e.decode() for e in expressions] + ([_UNREAD] if unread else [])
            self._db = load_or_compile(
                hyperscan,
                key,
                _FLAGS,
                lambda: _compiled([*expressions, _hyperscan(_unread())] if unread else expressions),
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


def _compiled(expressions: list[bytes]) -> Any:
    database = hyperscan.Database()
    ids = list(range(len(expressions)))
    database.compile(expressions=expressions, ids=ids, elements=len(expressions), flags=_FLAGS)
    return database


@functools.lru_cache(maxsize=8)
def prescreen_for(needs: tuple[Needs, ...]) -> Prescreen:
    """One prescreen per set of needs in a process, shared by every engine built with them (a scan's scratch space is
    its thread's). Its databases are compiled once a machine (~1 s) and loaded from the cache after (`compiled.py`)."""
    try:
        return Prescreen(needs, [True] * len(needs))
    except hyperscan.error:  # a pattern it cannot compile: each need tried alone
        return Prescreen(needs, [all(map(_compiles, n.text)) and all(map(_compiles, n.lowered)) for n in needs])


class Prescreen:
    """Which of the gates' `Needs` a text may meet, all found in one scan of the text and one of its lowered view."""

    def __init__(self, needs: Sequence[Needs], screened: Sequence[bool]) -> None:
        """Every `needs` that is `screened` gets its patterns' ids (`ids[i]`); the others None (their gates are asked
        always)."""
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
        self._unread = len(text.patterns)  # after the needs': the characters Hyperscan reads otherwise than Python
        self._text = _Database(text.patterns, unread=True)
        self._lowered = _Database(lowered.patterns)

    def matched(self, text: str, lowered: str) -> set[int] | None:
        """Ids of the patterns the text (or its view) may match; None if it cannot be scanned."""
        try:
            data, view = text.encode(), lowered.encode()
        except UnicodeEncodeError:  # lone surrogates
            return None
        found: set[int] = set()
        self._text.matched(data, found, 0)
        if self._unread in found:
            return None
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


# Its stand-in in the cache's key: the class follows from the key's other parts (Hyperscan's release, Python's Unicode
# tables) and from `_unread`'s code, whose version this is: a change of it must change the stand-in.
_UNREAD = "(the class of _unread, 1)"


@functools.cache
def _unread() -> str:
    """A class of the code points Python's `re` counts as digits, word characters or white space and Hyperscan does
    not, or counts as digits where Python does not (then its class of letters, `[^\\W\\d_]`, would leave them out)."""
    points = numpy.arange(0x110000, dtype="<u4")
    every = points[(points < 0xD800) | (points > 0xDFFF)].tobytes().decode("utf-32-le")
    words = re.findall(r"\w", every)
    unread = {
        *_unmatched(re.findall(r"\d", every), r"[^\d\n]"),
        *_unmatched(words, r"[^\w\n]"),
        *_unmatched(re.findall(r"\s", every), r"[^\sa]", separator="a"),
        *_unmatched([w for w in words if not w.isdecimal()], r"\d"),
    }
    return "[" + "".join(_range(a, b) for a, b in _runs(sorted(map(ord, unread)))) + "]" if unread else r"\x{10FFFF}"


def _unmatched(chars: list[str], pattern: str, separator: str = "\n") -> list[str]:
    """Those of `chars` where Hyperscan matches `pattern` (each char scanned between separators)."""
    ends = dict(zip(itertools.accumulate(len(c.encode()) + 1 for c in chars), chars, strict=True))
    database = hyperscan.Database()
    database.compile(expressions=[pattern.encode()], flags=hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_UCP)
    found: list[str] = []
    data = "".join(c + separator for c in chars).encode()
    database.scan(data, match_event_handler=lambda _id, _start, end, *_: found.append(ends[end + 1]))
    return found


def _runs(points: list[int]) -> Iterator[tuple[int, int]]:
    start = previous = points[0]
    for point in points[1:]:
        if point != previous + 1:
            yield start, previous
            start = point
        previous = point
    yield start, previous


def _range(first: int, last: int) -> str:
    return f"\\x{{{first:X}}}" + (f"-\\x{{{last:X}}}" if last > first else "")


def _compiles(pattern: str) -> bool:
    try:
        _compiled([_hyperscan(pattern)])
    except hyperscan.error:
        return False
    return True


def available() -> bool:
    return hyperscan is not None

"""The texts Presidio analyses for one request, and how a finding in them maps back to the fields.

Fields are analysed through their canonical views (`canonical.py`), in documents of bounded size:
- each conversation text (message contents, parts, tool arguments, embeddings inputs) is its own
  document, so a history resent on every turn is found in the engine's result cache;
- the short strings around them (names, ids, keys, metadata, tool schemas, ...) share documents, each
  after what names it (`Source.context`: the key it is under, `password: hunter2`), so a recognizer reads
  the key as the context a value has in prose; the key is read, never mapped back (it is a field of its own);
- base64 segments that decode to text follow their field, each mapped to the whole segment;
- a seam document per pair of neighbouring conversation texts joins the end of the first to the start
  of the second, so a value split across two messages or parts (half an API key in each) is found;
  only findings that cross the seam are taken from it. One per seam, so the seams of a history resent
  on every turn are found in the result cache too, and a turn analyses only its new seam;
- a text longer than `CHUNK_CHARS` is cut into overlapping chunks, each at white space (`TOKEN_CHARS`), so
  analysis of a huge body is a series of short jobs that other requests' jobs can run between, and no token
  (a JWT, a key) is cut in two.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from helix.pii.canonical import View

CHUNK_CHARS = 8192
OVERLAP_CHARS = 256  # longer than any value of several words a recognizer looks for (an address, a name)
# A chunk ends at the last white space of its last TOKEN_CHARS, so a token up to that long (a JWT of many claims, a
# long key) lies whole in one chunk; a PEM key's lines are whole tokens, and its tail is found by its END line.
TOKEN_CHARS = 2048
SEAM_CHARS = 100
SEPARATOR = "\n"

Span = tuple[int, int]
Mapper = Callable[[int, int], Span]


class Source(Protocol):
    """A provider-visible string: its text, and whether it is part of the conversation flow."""

    @property
    def text(self) -> str: ...

    @property
    def conversation(self) -> bool: ...

    @property
    def ident(self) -> bool:
        """An identifier ([A-Za-z0-9_-]: a message's `name`, a tool's): its underscores are read as spaces."""
        ...

    @property
    def context(self) -> str:
        """What names the text (the key it is under, a list's in the singular, a name/value pair's name), read
        before it and never redacted; or "" (message text, the API's own keys)."""
        ...


@dataclass(slots=True)
class _Piece:
    start: int
    end: int
    field: int
    to_original: Mapper  # piece-relative [a, b) -> span in the field's original text


@dataclass(slots=True)
class Doc:
    seam: ClassVar[bool] = False
    parts: list[str] = field(default_factory=list)
    pieces: list[_Piece] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    length: int = 0

    def add(self, field_index: int, text: str, to_original: Mapper) -> None:
        if not text:
            return
        piece = _Piece(self.length, self.length + len(text), field_index, to_original)
        self.parts.append(text)
        self.pieces.append(piece)
        self.starts.append(piece.start)
        self.length = piece.end

    def read_first(self, context: str) -> None:
        """Text the next piece is read after but that belongs to no field (no piece maps to it)."""
        self.parts.append(context)
        self.length += len(context)

    def separate(self) -> None:
        if self.length:
            self.parts.append(SEPARATOR)
            self.length += len(SEPARATOR)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def locate(self, start: int, end: int) -> dict[int, Span]:
        """Field index -> original span of every field that document characters [start, end) came from."""
        spans: dict[int, Span] = {}
        i = max(0, bisect.bisect_right(self.starts, start) - 1)
        while i < len(self.pieces) and self.pieces[i].start < end:
            piece = self.pieces[i]
            a, b = max(start, piece.start), min(end, piece.end)
            if a < b:
                s, e = piece.to_original(a - piece.start, b - piece.start)
                prev = spans.get(piece.field)
                spans[piece.field] = (min(s, prev[0]), max(e, prev[1])) if prev else (s, e)
            i += 1
        return spans


def _view_mapper(view: View, offset: int) -> Mapper:
    return lambda a, b: view.span(offset + a, offset + b)


def _fixed_mapper(span: Span) -> Mapper:
    return lambda a, b: span


def _view_mappers(view: View) -> Callable[[int], Mapper]:
    return lambda offset: _view_mapper(view, offset)


def _fixed_mappers(span: Span) -> Callable[[int], Mapper]:
    return lambda offset: _fixed_mapper(span)


def _chunks(text: str) -> list[Span]:
    """Overlapping spans of at most CHUNK_CHARS covering `text`, each cut at white space where it can be."""
    length = len(text)
    spans: list[Span] = []
    start = 0
    while start + CHUNK_CHARS < length:
        end = start + CHUNK_CHARS
        low = end - TOKEN_CHARS
        cut = max(text.rfind(" ", low, end), text.rfind("\n", low, end), text.rfind("\t", low, end))
        end = cut + 1 if cut > low else end
        spans.append((start, end))
        start = end - OVERLAP_CHARS
    spans.append((start, length))
    return spans


class _Packer:
    """Packs short texts into shared documents of at most CHUNK_CHARS; long ones get their own chunks."""

    def __init__(self) -> None:
        self.docs: list[Doc] = []
        self._open: Doc | None = None

    def own(self, index: int, text: str, mapper: Callable[[int], Mapper]) -> None:
        for a, b in _chunks(text):
            doc = Doc()
            doc.add(index, text[a:b], mapper(a))
            self.docs.append(doc)

    def shared(self, index: int, text: str, mapper: Callable[[int], Mapper], context: str = "") -> None:
        if len(text) > CHUNK_CHARS:
            self.own(index, text, mapper)
            return
        lead = f"{context}: " if context else ""
        if self._open is None or self._open.length + len(lead) + len(text) > CHUNK_CHARS:
            self._open = Doc()
            self.docs.append(self._open)
        if lead:
            self._open.read_first(lead)
        self._open.add(index, text, mapper(0))
        self._open.separate()


def build_docs(sources: Sequence[Source], views: Sequence[View], settled: Sequence[bool]) -> list[Document]:
    """`settled`: fields analysed whole before and found clean; only their seams are analysed again."""
    packer = _Packer()
    conversation: list[int] = []
    for i, (source, view, done) in enumerate(zip(sources, views, settled, strict=True)):
        if not view.text.strip() and not view.decoded:
            continue
        if source.conversation:
            conversation.append(i)  # joined to its neighbours at the seams, settled or not
        if done:
            continue
        if source.conversation:
            packer.own(i, view.text, _view_mappers(view))
        else:
            packer.shared(i, view.text, _view_mappers(view), source.context)
        for decoded in view.decoded:
            packer.shared(i, decoded.text, _fixed_mappers((decoded.start, decoded.end)), source.context)
    seams = (_seam(views, before, after) for before, after in itertools.pairwise(conversation))
    return [*packer.docs, *(seam for seam in seams if seam is not None)]


class Seam:
    """The end of one conversation text joined to the start of the next (at most `SEAM_CHARS` of each)."""

    __slots__ = ("_after", "_before", "_head", "_left", "_right", "_tail", "text")
    seam = True

    def __init__(self, before: int, left: View, tail: Span, after: int, right: View, head: Span) -> None:
        self._before, self._left, self._tail = before, left, tail
        self._after, self._right, self._head = after, right, head
        self.text = left.text[tail[0] : tail[1]] + right.text[head[0] : head[1]]

    def locate(self, start: int, end: int) -> dict[int, Span]:
        """Field index -> original span of each of the two texts that characters [start, end) came from."""
        spans: dict[int, Span] = {}
        tail_start, tail_end = self._tail
        head_start = self._head[0]
        joint = tail_end - tail_start
        if start < joint:
            spans[self._before] = self._left.span(tail_start + start, tail_start + min(end, joint))
        if end > joint:
            spans[self._after] = self._right.span(head_start + max(start, joint) - joint, head_start + end - joint)
        return spans


Document = Doc | Seam


def _seam(views: Sequence[View], before: int, after: int) -> Seam | None:
    left, right = views[before], views[after]
    tail_end = len(left.text.rstrip())
    tail_start = max(0, tail_end - SEAM_CHARS)
    head_start = len(right.text) - len(right.text.lstrip())
    head_end = min(len(right.text), head_start + SEAM_CHARS)
    if tail_end <= tail_start or head_end <= head_start:
        return None
    return Seam(before, left, (tail_start, tail_end), after, right, (head_start, head_end))

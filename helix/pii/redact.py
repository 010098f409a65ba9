"""Apply the configured action to every finding across all texts of one request.

One `Redactor.redact_sources(fields)` call per request (or `plan()`, analysis of `plan.texts` in
steps, then `plan.finish()`): every field is analysed through its canonical view and across the seams
between conversation texts (`document.py`), and findings are mapped back to the original.
Pseudonyms are numbered in order of appearance over
the whole request (system prompt, history, tool calls, tool results), and the same value gets the
same placeholder wherever it appears, so the model sees a consistent conversation.

Actions: redact `<EMAIL_ADDRESS>`; mask `j***@example.com`, `****1234`; hash `<EMAIL_ADDRESS:ab12cd34>`
(keyed HMAC-SHA256, stable across requests for the same key); pseudonymize `<PERSON_1>` (reversible
with `mapping`); block (the text is redacted and the entity listed in `blocked_entities`; the caller
refuses the request).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from helix.pii.analyzer import MIN_REPEATED, Finding, PiiEngine
from helix.pii.canonical import View, canonical
from helix.pii.config import NER_ENTITIES, SECRET_ENTITIES
from helix.pii.document import Document, Source, build_docs
from helix.pii.hashing import keyed_hash
from helix.pii.walk import walk, write_back
from helix.pii.whole_words import WholeWords

log = logging.getLogger("helix.pii")

_EXISTING_PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*)_(\d+)>")
_STARS = "****"


class EntitySummary(msgspec.Struct, frozen=True):
    count: int
    max_score: float
    action: str


class Redaction(msgspec.Struct):
    texts: list[str]
    findings: dict[str, EntitySummary] = {}
    blocked_entities: list[str] = []
    mapping: dict[str, str] = {}

    @property
    def changed(self) -> bool:
        return bool(self.findings)


# --- masks ----------------------------------------------------------------------------------


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def _mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}"


def _mask_words(value: str) -> str:
    return " ".join(f"{w[:1]}***" for w in value.split())


def _mask_prefix(value: str) -> str:
    # Key prefixes (sk-p, ghp_, AKIA) name the issuer, which helps a reader; the rest is hidden.
    return value[:4] + _STARS if len(value) >= 16 else _STARS


_MASKS = {
    "EMAIL_ADDRESS": _mask_email,
    "CREDIT_CARD": lambda v: _STARS + _digits(v)[-4:],
    "PHONE_NUMBER": lambda v: _STARS + _digits(v)[-2:],
    "US_SSN": lambda v: "***-**-" + _digits(v)[-4:],
    "IBAN_CODE": lambda v: v.replace(" ", "")[:4] + _STARS + v.replace(" ", "")[-4:],
    "PERSON": _mask_words,
    "LOCATION": _mask_words,
    "API_KEY": _mask_prefix,
    "AWS_ACCESS_KEY": _mask_prefix,
    "JWT": lambda v: "eyJ" + _STARS,
    "PASSWORD": lambda v: _STARS,
    "SECRET": lambda v: _STARS,
    "AWS_SECRET_KEY": lambda v: _STARS,
    "PRIVATE_KEY": lambda v: "-----PRIVATE KEY " + _STARS + "-----",
}


def mask(value: str, entity: str) -> str:
    masker = _MASKS.get(entity)
    if masker:
        return masker(value)
    return value[:1] + _STARS if len(value) > 6 else _STARS


# --- per-request state ----------------------------------------------------------------------


class _Pseudonyms:
    """Placeholder numbering for one request."""

    def __init__(self, texts: Sequence[str]) -> None:
        # Start above any placeholder-shaped text already present (a user pasting "<PERSON_1>"),
        # so restore never turns their literal text into someone's name.
        self.counters: dict[str, int] = {}
        for text in texts:
            for match in _EXISTING_PLACEHOLDER.finditer(text):
                name, number = match.group(1), int(match.group(2))
                self.counters[name] = max(self.counters.get(name, 0), number)
        self.by_value: dict[tuple[str, str], str] = {}
        self.mapping: dict[str, str] = {}

    def placeholder(self, entity: str, value: str) -> str:
        key = (entity, value)
        if key not in self.by_value:
            self.counters[entity] = self.counters.get(entity, 0) + 1
            placeholder = f"<{entity}_{self.counters[entity]}>"
            self.by_value[key] = placeholder
            self.mapping[placeholder] = value
        return self.by_value[key]


class Redactor:
    """Applies `[pii]` actions to the texts of one request at a time. Thread-safe (no shared state)."""

    def __init__(self, engine: PiiEngine, hash_key: bytes | str | None = None) -> None:
        self.engine = engine
        self.cfg = engine.cfg
        key = hash_key if hash_key is not None else self.cfg.hash_key
        if key is None:
            if "hash" in {self.cfg.default_action, *self.cfg.actions.values()}:
                log.warning("pii: no hash_key given; hashes will not match across restarts")
            key = secrets.token_bytes(32)
        self._key = key.encode() if isinstance(key, str) else key

    def redact(self, texts: Sequence[str]) -> Redaction:
        """Redact plain texts (consecutive ones as one conversation); returns texts in the same order."""
        return self.redact_sources([Text(t) for t in texts])

    def redact_sources(self, sources: Sequence[Source], *, answer: bool = False) -> Redaction:
        plan = self.plan(sources, answer=answer)
        return plan.finish(self.engine.analyze_many(plan.texts))

    def plan(self, sources: Sequence[Source], *, answer: bool = False) -> Plan:
        """The documents to analyse for `sources`; analyse `plan.texts`, then call `plan.finish()`.

        `answer`: the texts are a model's answer, which cannot be refused or restored later, so
        `block` and `pseudonymize` redact (`<EMAIL_ADDRESS>`) instead.
        """
        settled = self._settled(sources, answer)
        # A settled field is seen again only at its seams, which need its view but not its decoded parts.
        views = [_view(s, done) for s, done in zip(sources, settled, strict=True)]
        return Plan(self, list(sources), build_docs(sources, views, settled), answer, settled)

    def _settled(self, sources: Sequence[Source], answer: bool) -> list[bool]:
        """Conversation texts (each analysed in documents of its own, so alone) found clean before. Not
        answers, which are new every time, nor the short strings packed together, which share context."""
        indexes = [] if answer else [i for i, s in enumerate(sources) if s.conversation]
        settled = [False] * len(sources)
        for i, done in zip(indexes, self.engine.settled([sources[i].text for i in indexes]), strict=True):
            settled[i] = done
        return settled

    def apply(self, sources: Sequence[Source], found: list[list[Finding]], answer: bool = False) -> Redaction:
        texts = [s.text for s in sources]
        found = everywhere(sources, found)
        pseudonyms = _Pseudonyms(texts)
        summary: dict[str, EntitySummary] = {}
        out = [
            self._apply(text, findings, pseudonyms, summary, answer)
            for text, findings in zip(texts, found, strict=True)
        ]
        blocked = sorted(e for e, s in summary.items() if s.action == "block")
        return Redaction(texts=out, findings=summary, blocked_entities=blocked, mapping=pseudonyms.mapping)

    def _apply(
        self,
        text: str,
        findings: list[Finding],
        pseudonyms: _Pseudonyms,
        summary: dict[str, EntitySummary],
        answer: bool,
    ) -> str:
        if not findings:
            return text
        parts: list[str] = []
        pos = 0
        for f in findings:
            action = self.cfg.action_for(f.entity_type)
            if answer and action in ("block", "pseudonymize"):
                action = "redact"
            parts += [
                text[pos : f.start],
                self._replace(text[f.start : f.end], f.entity_type, action, pseudonyms),
            ]
            pos = f.end
            _count(summary, f, action)
        parts.append(text[pos:])
        return "".join(parts)

    def _replace(self, value: str, entity: str, action: str, pseudonyms: _Pseudonyms) -> str:
        if action == "pseudonymize":
            return pseudonyms.placeholder(entity, value)
        if action == "mask":
            return mask(value, entity)
        if action == "hash":
            return f"<{entity}:{keyed_hash(_normalise(value, entity), self._key)[:8]}>"
        return f"<{entity}>"  # redact, and block (the caller refuses; the text stays safe to log)


def _normalise(value: str, entity: str) -> str:
    # The same address or card written differently should hash the same.
    if entity == "EMAIL_ADDRESS":
        return value.strip().lower()
    if entity in {"CREDIT_CARD", "PHONE_NUMBER", "US_SSN"}:
        return _digits(value)
    if entity == "IBAN_CODE":
        return value.replace(" ", "").upper()
    return value


def _count(summary: dict[str, EntitySummary], f: Finding, action: str) -> None:
    prev = summary.get(f.entity_type)
    if prev is None:
        summary[f.entity_type] = EntitySummary(count=1, max_score=f.score, action=action)
    else:
        summary[f.entity_type] = EntitySummary(prev.count + 1, max(prev.max_score, f.score), action)


def _view(source: Source, settled: bool) -> View:
    """What recognizers read of `source`: an identifier's words joined by "_" as words (`Margaret_Oyelaran`)."""
    view = canonical(source.text, decode_base64=not settled)
    if source.ident and "_" in view.text:
        return View(view.text.replace("_", " "), view.starts, view.ends, view.decoded)
    return view


@dataclass(slots=True)
class Text:
    """A plain text to redact (`Redactor.redact`)."""

    text: str
    conversation: bool = True
    context: str = ""
    ident: bool = False


class Plan:
    """The analysis one request needs: `texts` to analyse (in any number of steps), then `finish`."""

    def __init__(
        self, redactor: Redactor, sources: list[Source], docs: list[Document], answer: bool, settled: list[bool]
    ) -> None:
        self._redactor = redactor
        self._answer = answer
        self._sources = sources
        self._docs = docs
        self._settled = settled
        self.texts = [doc.text for doc in docs]

    @property
    def chars(self) -> int:
        return sum(len(t) for t in self.texts)

    def finish(self, found: Sequence[Sequence[Finding]]) -> Redaction:
        """Map each document's findings back to the fields and redact them."""
        if not any(found):  # most requests: nothing to map back, number or rewrite
            self._settle(set())
            return Redaction(texts=[s.text for s in self._sources])
        return self._redactor.apply(self._sources, self.locate(found), self._answer)

    def _settle(self, found_in: set[int]) -> None:
        """Remember the fields nothing was found in, but by their seams (which are analysed every time)."""
        if not self._answer:
            fresh = (i for i, s in enumerate(self._sources) if s.conversation and not self._settled[i])
            self._redactor.engine.settle(self._sources[i].text for i in fresh if i not in found_in)

    def locate(self, found: Sequence[Sequence[Finding]]) -> list[list[Finding]]:
        """Each document's findings as spans of the fields' original texts, merged per field."""
        per_field: list[list[Finding]] = [[] for _ in self._sources]
        found_in: set[int] = set()
        for doc, findings in zip(self._docs, found, strict=True):
            for f in findings:
                spans = doc.locate(f.start, f.end)
                if not doc.seam:
                    found_in.update(spans)
                if doc.seam and (
                    len(spans) < 2
                    or f.entity_type in NER_ENTITIES
                    or _whole_in_one(f.entity_type, spans, per_field, self._sources)
                ):
                    # Inside one text: its own document has it. A name "across" two messages is the
                    # model reading the end of one and the start of the next as one sentence.
                    continue
                if f.entity_type in SECRET_ENTITIES:
                    spans = _without_words(spans, self._sources)
                for index, (start, end) in spans.items():
                    per_field[index].append(Finding(f.entity_type, start, end, f.score))
        self._settle(found_in)
        return [merge_overlaps(f) for f in per_field]


def _whole_in_one(
    entity: str, spans: dict[int, tuple[int, int]], per_field: list[list[Finding]], sources: Sequence[Source]
) -> bool:
    """Whether one of the texts a seam's personal-data finding crosses holds its part as a whole value of the same kind,
    found by its own document: the seam only glued the neighbour's edge to it (`Be terse.` and `john@x.io, my
    order...` read `terse.john@x.io`), and that edge is not part of the value: a word, or what ends in punctuation.
    Not when the text before breaks off inside something that is no word (`Write to zed.qu` and `ill@protonmail.com`:
    a value split in two, which looks whole from its second half). Not for secrets: a key split over two messages may
    have a part that looks whole, and any fragment of a key is one too many. (The documents of the texts come before
    the seams.)"""
    if entity in SECRET_ENTITIES:
        return False
    (before, (_, tail_end)), (after, (head_start, head_end)) = sorted(spans.items())

    def whole(index: int, start: int, end: int) -> bool:
        return any(o.entity_type == entity and o.start <= start and end <= o.end for o in per_field[index])

    tail_start = spans[before][0]
    if whole(after, head_start, head_end):
        edge = sources[before].text[tail_start:tail_end]
        return not edge[-1].isalnum() or edge.isalpha()
    return whole(before, tail_start, tail_end)


def _without_words(spans: dict[int, tuple[int, int]], sources: Sequence[Source]) -> dict[int, tuple[int, int]]:
    """A secret's parts across a seam less those that are a plain word (lower case or one capital, punctuation after
    it): the seam glued a neighbour's word to a password (`password: hunter2` and `what's the pw again?`), and no key
    goes on in one. All of them when every part is one: the finding stands on words alone."""
    kept = {i: span for i, span in spans.items() if not _plain_word(sources[i].text[span[0] : span[1]])}
    return kept or spans


def _plain_word(text: str) -> bool:
    word = text.rstrip(".,;:!?")
    return word.isalpha() and (word.islower() or word.istitle())


def everywhere(sources: Sequence[Source], found: list[list[Finding]]) -> list[list[Finding]]:
    """The findings of every field plus each found value wherever else it stands in the request as a whole word: a
    name the model tagged once ("Lucía Carrasco saw...") is the same person where it did not ("I, Lucía Carrasco,
    ..."), and an address found in one message is one in the next. Short values (a 4-digit PIN, "Li") are left where
    found: elsewhere they are likelier some other number or word; so are identifiers (a tool's name), which may not
    change. (`analyzer.repeats` has done so on each line.)"""
    texts = [s.text for s in sources]
    values: dict[str, Finding] = {}
    for text, findings in zip(texts, found, strict=True):
        for f in findings:
            value = text[f.start : f.end]
            if len(value) >= MIN_REPEATED + 2 * value.isdigit():
                values.setdefault(value, f)
    if not values:
        return found
    places = WholeWords(values)
    out: list[list[Finding]] = []
    for source, findings in zip(sources, found, strict=True):
        if source.ident:
            out.append(findings)
            continue
        more = [
            Finding(values[value].entity_type, at, at + len(value), values[value].score)
            for at, value in places.places(source.text)
        ]
        out.append(merge_overlaps(findings + more) if more else findings)
    return out


def merge_overlaps(findings: list[Finding]) -> list[Finding]:
    """Union of overlapping findings (from different views of the same text), typed by the best score."""
    merged: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        if merged and f.start < merged[-1].end:
            last = merged[-1]
            best = last if last.score >= f.score else f
            merged[-1] = Finding(best.entity_type, last.start, max(last.end, f.end), max(last.score, f.score))
        else:
            merged.append(f)
    return merged


def redact_body(body: dict[str, Any], redactor: Redactor, *, answer: bool = False) -> Redaction:
    """Redact every provider-visible string of a request body (or every string of an answer), in place."""
    fields = walk(body, unreadable=redactor.cfg.unreadable_files, answer=answer)
    redaction = redactor.redact_sources(fields, answer=answer)
    write_back(fields, redaction.texts)
    return redaction

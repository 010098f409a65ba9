"""PiiEngine: Presidio recognizers built once from `[pii]` config, offline, in one of two modes.

- pattern-only (no `spacy_model`): pattern recognizers run by `scan.py` (context words such as
  "card", "phone", "iban" still raise scores, from a regex tokenizer rather than a model).
- ner (`spacy_model` = a folder or an installed package, or unset with an English spaCy package
  installed): PERSON/LOCATION from the model's NER component, run only around words that could be
  names (`names.py`), filtered for the tech words small models mistake for people and places.

Construction is slow (hundreds of ms; seconds with a model): build it off the event loop, once.
Nothing here touches the network: tldextract gets its bundled suffix list, models load from disk
and a missing model is an error rather than a download.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import regex
import tldextract.tldextract as _tld
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import (
    CryptoRecognizer,
    UrlRecognizer,
)

from helix.pii.casing import load_lexicon
from helix.pii.config import NER_ENTITIES, SECRET_ENTITIES, PiiConfig, find_model, validate
from helix.pii.fast_regex import speed_up
from helix.pii.names import NameRecognizer, load_ner, model_dir
from helix.pii.personal import (
    DateOfBirthRecognizer,
    GeoCoordinatesRecognizer,
    IdNumberRecognizer,
    LetterLedIdRecognizer,
    MacAddressRecognizer,
    MrzRecognizer,
    NationalIdRecognizer,
    StreetAddressRecognizer,
    UsernameRecognizer,
)
from helix.pii.recognizers import (
    CardRecognizer,
    CaseFoldIbanRecognizer,
    EmailRecognizer,
    FastPhoneRecognizer,
    FilteredIpRecognizer,
    SpokenNumberRecognizer,
    SsnRecognizer,
    called_a_test_card,
    ethereum_recognizer,
)
from helix.pii.scan import Hit, Scanner
from helix.pii.secrets import secret_recognizers
from helix.pii.tables import labelled_view
from helix.pii.whole_words import WholeWords

_NER_LABELS = {"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION"}
_NER_OPTIONAL = {"ORG": "ORGANIZATION", "NORP": "NRP"}
_CACHE_SIZE = 4096
_WARMUP = "Reach Ana Lima at ana@example.com or +44 20 7946 0958; card 4111 1111 1111 1111, ip 10.1.2.3."


class Finding(msgspec.Struct, frozen=True):
    entity_type: str
    start: int
    end: int
    score: float


# --- offline setup ----------------------------------------------------------------------------


def _offline_tldextract() -> None:
    # helix/pii/__init__.py sets TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="" before presidio is imported;
    # if something imported tldextract earlier, its module-level extractor would still fetch the list.
    # The email recognizer calls tldextract.extract(), which reads this module global on every call.
    _tld.TLD_EXTRACTOR = _tld.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)


# --- registry -------------------------------------------------------------------------------


def _builtin_recognizers(enabled: set[str]) -> list[EntityRecognizer]:
    table: list[tuple[str, Any]] = [
        ("EMAIL_ADDRESS", EmailRecognizer),
        ("PHONE_NUMBER", FastPhoneRecognizer),
        ("CREDIT_CARD", CardRecognizer),
        ("ID_NUMBER", SpokenNumberRecognizer),
        ("IBAN_CODE", CaseFoldIbanRecognizer),
        ("US_SSN", SsnRecognizer),
        ("IP_ADDRESS", FilteredIpRecognizer),
        ("CRYPTO", CryptoRecognizer),
        ("CRYPTO", ethereum_recognizer),
        ("URL", UrlRecognizer),
        ("LOCATION", StreetAddressRecognizer),
        ("LOCATION", GeoCoordinatesRecognizer),
        ("DATE_OF_BIRTH", DateOfBirthRecognizer),
        ("ID_NUMBER", IdNumberRecognizer),
        ("ID_NUMBER", NationalIdRecognizer),
        ("ID_NUMBER", LetterLedIdRecognizer),
        ("ID_NUMBER", MrzRecognizer),
        ("MAC_ADDRESS", MacAddressRecognizer),
        ("USERNAME", UsernameRecognizer),
    ]
    return [factory() for entity, factory in table if entity in enabled]


def _custom_recognizers(cfg: PiiConfig) -> list[EntityRecognizer]:
    recognizers: list[EntityRecognizer] = []
    for i, rec in enumerate(cfg.recognizers):
        flags = regex.DOTALL | regex.MULTILINE | (0 if rec.case_sensitive else regex.IGNORECASE)
        label = rec.name or rec.entity
        patterns = [Pattern(f"{label}_{j}", p, rec.score) for j, p in enumerate(rec.all_patterns())]
        recognizers.append(
            PatternRecognizer(
                supported_entity=rec.entity,
                name=rec.name or f"Custom_{rec.entity}_{i}",
                patterns=patterns,
                context=list(rec.context),
                global_regex_flags=flags,
            )
        )
    for entity, terms in cfg.deny_lists.items():
        recognizers.append(
            PatternRecognizer(
                supported_entity=entity,
                name=f"DenyList_{entity}",
                deny_list=[t.strip() for t in terms if t.strip()],
            )
        )
    return recognizers


def _ner_labels(enabled: set[str]) -> dict[str, str]:
    labels = {label: entity for label, entity in _NER_LABELS.items() if entity in enabled}
    labels.update({label: entity for label, entity in _NER_OPTIONAL.items() if entity in enabled})
    return labels


@dataclass(frozen=True, slots=True)
class Recall:
    """What `PiiEngine.recall` found for some texts: their keys, the results it had, the texts still to analyse."""

    keys: list[bytes]
    found: dict[bytes, tuple[Finding, ...]]
    misses: dict[bytes, str]

    @property
    def unknown_chars(self) -> int:
        return sum(len(text) for text in self.misses.values())


class PiiEngine:
    """Finds PII spans in text. Thread-safe for concurrent `analyze` calls.

    `cache_size` results are kept per text digest (0 disables), because chat clients resend the
    whole history on every turn.
    """

    def __init__(self, cfg: PiiConfig, *, cache_size: int = _CACHE_SIZE) -> None:
        validate(cfg)
        _offline_tldextract()
        self.cfg = cfg
        enabled = set(cfg.entities) | cfg.custom_entities()
        builtin = _builtin_recognizers(enabled)
        for recognizer in builtin:
            speed_up(recognizer)
        own = builtin + secret_recognizers(enabled)  # what the scanner's gates know
        recognizers = own + _custom_recognizers(cfg)
        model = find_model(cfg.spacy_model)
        labels = _ner_labels(enabled)
        if model is not None:
            nlp = load_ner(model)
            if labels:
                recognizers.append(NameRecognizer(nlp, labels, load_lexicon(str(model_dir(model)))))
            self.mode = f"ner ({model})"
            self.uses_ner = True
        else:
            self.mode = "pattern-only"
            self.uses_ner = False
        self.entities = sorted({e for r in recognizers for e in r.get_supported_entities()} & enabled)
        missing = set(cfg.entities) - set(self.entities)  # e.g. PERSON without a model
        if not self.uses_ner:  # a street address is a LOCATION found by pattern; places' names need the model
            missing |= set(NER_ENTITIES) & set(cfg.entities)
        self.skipped = sorted(missing)
        self._scanner = Scanner(recognizers, self.entities, gated={id(r) for r in own})
        self.screened = self._scanner.screened  # Hyperscan's prescreen in front of the gates (`prescreen.py`)
        self._thresholds = {e: cfg.threshold_for(e) for e in self.entities}
        self._allow = {a.strip().lower() for a in cfg.allow_list if a.strip()}
        self._cache: OrderedDict[bytes, tuple[Finding, ...]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        # First use loads the public suffix list (helix/pii/suffixes.py), phone metadata and regex caches:
        # pay that here, off the request path.
        self._analyze_batch([_WARMUP])

    def analyze(self, text: str) -> list[Finding]:
        """Non-overlapping findings in order of position."""
        return self.analyze_many([text])[0]

    def analyze_many(self, texts: Sequence[str]) -> list[list[Finding]]:
        """Like analyze() per text; batches the NLP pipeline and reuses results for repeated texts
        (chat history is resent on every turn)."""
        return self.complete(self.recall(texts))

    def recall(self, texts: Sequence[str]) -> Recall:
        """The results this engine has for `texts` (marked recently used), and the texts it has none for."""
        keys = [_digest(t) for t in texts]
        found: dict[bytes, tuple[Finding, ...]] = {}
        with self._lock:
            for key in keys:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    found[key] = self._cache[key]
        misses = {k: t for k, t in zip(keys, texts, strict=True) if k not in found and t.strip()}
        return Recall(keys, found, misses)

    def complete(self, recalled: Recall) -> list[list[Finding]]:
        """Each text's findings: the recalled ones, the others analysed now (and remembered)."""
        found, misses = recalled.found, recalled.misses
        for key, findings in zip(misses, self._analyze_batch(list(misses.values())), strict=True):
            found[key] = findings
        self._remember({k: found[k] for k in misses})
        return [list(found.get(k, ())) for k in recalled.keys]

    def settled(self, texts: Sequence[str]) -> list[bool]:
        """Which of these request fields were analysed whole before and found clean (`settle`): a history
        resent on every turn need not be viewed, packed and looked up again, only joined at its seams."""
        keys = [_FIELD + _digest(t) for t in texts]
        with self._lock:
            known = [key in self._cache for key in keys]
            for key, hit in zip(keys, known, strict=True):
                if hit:
                    self._cache.move_to_end(key)
        return known

    def settle(self, texts: Iterable[str]) -> None:
        """Remember request fields whose own analysis (every view and decoded part of them) found nothing."""
        self._remember({_FIELD + _digest(t): () for t in texts})

    def _analyze_batch(self, texts: list[str]) -> list[tuple[Finding, ...]]:
        return [self._analyze_one(text) for text in texts]

    def _analyze_one(self, text: str) -> tuple[Finding, ...]:
        kept = [
            Finding(h.entity_type, h.start, h.end, round(h.score, 4))
            for h in self._hits(text)
            if h.score >= self._thresholds.get(h.entity_type, self.cfg.score_threshold)
            and not self._allowed(text[h.start : h.end])
            and not (h.entity_type == "CREDIT_CARD" and called_a_test_card(text, h.start, h.end))
        ]
        resolved = wrapped_keys(text, resolve_overlaps(kept))
        # repeats never overlap a finding, only each other: nearly every text has none and is resolved once
        again = repeats(text, resolved)
        return tuple(resolve_overlaps(resolved + again) if again else resolved)

    def _hits(self, text: str) -> list[Hit]:
        """What the recognizers find in the text, and in its tables' cells read after their columns' names."""
        hits = list(self._scanner.scan(text))
        table = labelled_view(text)
        if table is not None:
            for hit in self._scanner.scan(table.text):
                span = table.back(hit.start, hit.end)
                if span is not None:
                    hits.append(Hit(hit.entity_type, *span, hit.score))
        return hits

    def _allowed(self, value: str) -> bool:
        return value.strip().lower() in self._allow

    def _remember(self, entries: dict[bytes, tuple[Finding, ...]]) -> None:
        with self._lock:
            self._cache.update(entries)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)


_FIELD = b"field:"  # keys of settled fields, beside the analysed texts' in the one bounded cache


def _digest(text: str) -> bytes:
    # Keys are digests so the cache never holds prompt text.
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


# A long key broken over lines (an email's or a terminal's wrapping): each next line that holds only more of its
# characters, letters and digits both, is the rest of it ("sk-proj-qAir...nT" then "T3BlbkFJzaHM...").
_WRAPPED_MIN = 20
_KEY_LINE = regex.compile(
    r"\n[ \t]*+(?=[A-Za-z0-9_+/=.-]*\d)(?=[A-Za-z0-9_+/=.-]*[A-Za-z])[A-Za-z0-9_+/=.-]{16,}+[ \t]*(?=\n|\Z)"
)
_WRAPPED_LINES = 8


def wrapped_keys(text: str, findings: list[Finding]) -> list[Finding]:
    """`findings` with each long key or secret that ends a line taken on over the lines that go on with it."""
    out = findings
    for i, finding in enumerate(findings):
        if finding.entity_type not in SECRET_ENTITIES or finding.end - finding.start < _WRAPPED_MIN:
            continue
        end = finding.end
        for _ in range(_WRAPPED_LINES):
            more = _KEY_LINE.match(text, end)
            if more is None or (i + 1 < len(findings) and findings[i + 1].start < more.end()):
                break
            end = more.end()
        if end != finding.end:
            out = out if out is not findings else list(findings)
            out[i] = Finding(finding.entity_type, finding.start, end, finding.score)
    return out


_NEWLINE = regex.compile("\n")
MIN_REPEATED = 4  # shorter values ("Li", "42") recur as parts of other things
# A longer value (a list of codes, a key's whole block) is not looked for again: Aho-Corasick's pass over a text grows
# with the text's length times a long periodic value's (100 KB of "1. 1234 5678" took 1.3 s)
MAX_REPEATED = 256


def repeats(text: str, findings: Sequence[Finding]) -> list[Finding]:
    """Each other whole occurrence of a found value on its line, outside the findings (sorted, not overlapping): where
    it recurs, the words that named it may not be there again (redis-cli -a 'S3cret' ... then `requirepass` S3cret).
    On its line: the short fields of a request share a document, a line each, and one field's value says nothing of
    another's. One inside another finding is left to it ("Anna" found as a name, an address Anna.Berg@...)."""
    kept = [f for f in findings if MIN_REPEATED <= f.end - f.start <= MAX_REPEATED]
    if not kept:
        return []
    newlines = [match.start() for match in _NEWLINE.finditer(text)]
    found_on: dict[tuple[int, str], Finding] = {}  # (line, value): its best finding there
    for finding in kept:
        key = (bisect.bisect_left(newlines, finding.start), text[finding.start : finding.end])
        if key not in found_on or finding.score > found_on[key].score:
            found_on[key] = finding
    starts = [f.start for f in findings]
    found: list[Finding] = []
    for start, value in WholeWords({value for _, value in found_on}).places(text):
        best = found_on.get((bisect.bisect_left(newlines, start), value))
        end = start + len(value)
        if best is not None and not _overlaps(findings, starts, start, end):
            found.append(Finding(best.entity_type, start, end, best.score))
    return found


def _overlaps(findings: Sequence[Finding], starts: list[int], start: int, end: int) -> bool:
    i = bisect.bisect_right(starts, start)
    return (i > 0 and findings[i - 1].end > start) or (i < len(findings) and findings[i].start < end)


def _same_kind_joined(findings: Iterable[Finding]) -> list[Finding]:
    """Findings of one entity that overlap without one holding the other, as one, their union: keeping only one of
    them would let the rest of the other through ("Rohan Mehta" and a model's "Mehta Address"). One inside another is
    left to the ranking (a password inside a wider match of another pattern is the password)."""
    joined: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.entity_type, f.start)):
        last = joined[-1] if joined else None
        if last is not None and last.entity_type == f.entity_type and last.start < f.start < last.end < f.end:
            joined[-1] = Finding(f.entity_type, last.start, max(last.end, f.end), max(last.score, f.score))
        else:
            joined.append(f)
    return joined


def resolve_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """One entity's overlapping findings joined; across entities, the higher score, then the longer span, kept when
    findings overlap, and what a pattern's finding holds beyond those kept is kept too, in pieces: a model's PERSON
    over the first word of a password ("Passwort ... lautet marmot!36copper?") let the rest of the password through.
    A model's own findings (names, places) lose their overhang: it is a guess; sorted by start."""
    ranked = sorted(_same_kind_joined(findings), key=lambda f: (-f.score, -(f.end - f.start), f.start))
    kept: list[Finding] = []  # by start; they never overlap, so only the neighbours of a new one can
    starts: list[int] = []
    for f in ranked:
        i = bisect.bisect_right(starts, f.start)
        if (i == 0 or kept[i - 1].end <= f.start) and (i == len(kept) or f.end <= kept[i].start):
            kept.insert(i, f)
            starts.insert(i, f.start)
        elif f.entity_type not in NER_ENTITIES:
            for piece in _beyond(f, kept, i):
                j = bisect.bisect_right(starts, piece.start)
                kept.insert(j, piece)
                starts.insert(j, piece.start)
    return kept


def _beyond(f: Finding, kept: list[Finding], i: int) -> list[Finding]:
    """The stretches of `f` no kept finding covers (`kept[i - 1]` is the last one starting at or before it)."""
    pieces, at = [], f.start
    for other in kept[max(0, i - 1) :]:
        if other.start >= f.end:
            break
        if other.end <= at:
            continue
        if other.start > at:
            pieces.append(Finding(f.entity_type, at, other.start, f.score))
        at = max(at, other.end)
    if at < f.end:
        pieces.append(Finding(f.entity_type, at, f.end, f.score))
    return pieces

"""Run Presidio recognizers over one text, without Presidio's AnalyzerEngine around them.

The engine's own loop cost as much as the recognizers on a 2 KB prompt: it tokenizes the whole
text for context words, deep-copies every result it might boost, and dedupes through generic
helpers. Here, per text:
- a recognizer whose required characters are absent is skipped (`GATES`: no `@`, no email
  recognizer; no IBAN-shaped letters and digits, no IBAN recognizer; no hint word of a secret, no
  secret recognizer), each gate reading the text and one lower-cased copy of it made once per text;
  the gates on words (`Mentions`: hint words of secrets, IDs, dates of birth) are first looked for all
  at once, and most texts (91% of the regression set's questions) hold none, so none is asked;
- the card, SSN and wallet-address patterns run only over the stretches of the text their
  matches must lie in (`WINDOWS`, `fast_regex.Runs`), found once per text;
- a result below 1.0 from a recognizer with context words is boosted as Presidio's lemma enhancer
  would (+0.35, at least 0.4) when one of those words is among the last `CONTEXT_WORDS` words
  (not stop words) up to and including the match's first token, whole words only ("ip" does not
  match "zip");
- the rest (thresholds, allow list, overlaps) is the engine's (`analyzer.py`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

import regex
from presidio_analyzer import EntityRecognizer, PatternRecognizer, RecognizerResult
from spacy.lang.en.stop_words import STOP_WORDS

from helix.pii import dicom, hl7, prescreen
from helix.pii.fast_regex import DIGIT_RUN_NEEDS, KEY_RUN_NEEDS, Runs, Span, analyze_patterns, trie_pattern
from helix.pii.personal import (
    ADDRESS_KEY_NEEDS,
    ADDRESS_LABEL_NEEDS,
    CJK_ADDRESS_NEEDS,
    DATE_OF_BIRTH_HINTS,
    FOREIGN_STREET_HINT,
    FOREIGN_STREET_NEEDS,
    GEO_NEEDS,
    GERMAN_STREET_HINT,
    GERMAN_STREET_NEEDS,
    ID_HINTS,
    ID_WORD_HINTS,
    MAC_NEEDS,
    MRZ_NEEDS,
    POSTCODE_HINT,
    POSTCODE_LABEL_NEEDS,
    ROMAJI_ADDRESS_HINT,
    STREET_HINT,
    TURKISH_STREET_NEEDS,
    UK_IE_POSTCODE_NEEDS,
    US_TOWN_HINT,
    USERNAME_NEEDS,
    GeoCoordinatesRecognizer,
    LetterLedIdRecognizer,
    MrzRecognizer,
    address_key_hint,
    address_label_hint,
    cjk_address_hint,
    geo_hint,
    mac_hint,
    mrz_hint,
    postcode_label_hint,
    turkish_street_hint,
    uk_ie_postcode_hint,
    username_hint,
)
from helix.pii.prescreen import Needs, Prescreen, literals, prescreen_for
from helix.pii.recognizers import (
    EMAIL_NEEDS,
    PHONE_NEEDS,
    FastPhoneRecognizer,
    SpokenNumberRecognizer,
    obfuscation_hint,
    phone_hint,
)
from helix.pii.secret_patterns import JWT_START
from helix.pii.secrets import (
    PRECHECK_NEEDS,
    SEED_PHRASE_NEEDS,
    SecretRecognizer,
    SeedPhraseRecognizer,
    seed_phrase_hint,
)
from helix.pii.spoken import spoken_hint

CONTEXT_WORDS = 5  # Presidio's context_prefix_count
CONTEXT_BOOST = 0.35  # Presidio's context_similarity_factor
CONTEXT_FLOOR = 0.4  # Presidio's min_score_with_context_similarity
_CONTEXT_REACH = 240  # characters searched back for context words
_TOKEN = regex.compile(r"\w+|[^\w\s]")

# A gate reads the text and its `lowered` view (made once per text, shared by every gate).
Gate = Callable[[str, str], bool]


def lowered(text: str) -> str:
    """What gates read besides the text: lower-cased after a space, so a hint may have to start a word."""
    return " " + text.lower()


@dataclass(frozen=True, slots=True)
class Screened:
    """A gate, and what a text needs for it to say yes (`prescreen.py`)."""

    gate: Gate
    needs: Needs

    def __call__(self, text: str, lowered: str) -> bool:
        return self.gate(text, lowered)


def _search(pattern: str, needs: str | None = None) -> Screened:
    """A gate on `pattern`; `needs`: the same without lookarounds, if it has any (the prescreen would drop them)."""
    compiled = re.compile(pattern)  # `re`: ~3x faster than `regex` on patterns this simple
    return Screened(lambda text, _lowered: compiled.search(text) is not None, Needs(text=(needs or pattern,)))


_house_number = _search(r"\d[A-Za-z]?,? (?:[A-Z]|\d|[a-zé]+ )")  # "12 Baker", "12 rue"
_digit = _search(r"\d")
# Anchored on a digit: a leading letter class would start a match attempt at nearly every position of prose.
_letters_then_digits = _search(
    r"\d(?:(?<=[A-Za-z]{2}\d)|(?<=[A-Z]{2}[ -]\d))\d", needs=r"[A-Za-z]{2}\d\d|[A-Z]{2}[ -]\d\d"
)  # "GB29", "GB 29", "DE-53"
_digit_dot_digit = _search(r"\d\.\d")  # in every IPv4 address
_colons = _search(r"::|[0-9A-Fa-f]:[0-9A-Fa-f]")  # in every IPv6 address


Search = Callable[[str], re.Match[str] | None]


def _hint_search(hints: Iterable[str], words: Iterable[str] = ()) -> Search:
    """The first of `hints`, or of `words` as a whole word, in a lower-cased view: those in ASCII looked for in every
    view, the others only in a view that is not ASCII (a branch of another script costs every text a test)."""
    hints, words = set(hints), set(words)
    plain = _trie_search({h for h in hints if h.isascii()}, {w for w in words if w.isascii()})
    other = _trie_search({h for h in hints if not h.isascii()}, {w for w in words if not w.isascii()})

    def search(view: str) -> re.Match[str] | None:
        found = plain(view) if plain is not None else None
        if found is None and other is not None and not view.isascii():
            found = other(view)
        return found

    return search


def _trie_search(hints: set[str], words: set[str]) -> Search | None:
    return re.compile(trie_pattern(hints, whole=words)).search if hints or words else None


class Mentions:
    """A gate on words: whether the `lowered` view holds one of `hints` or one of `words` as a whole word (after
    `also`, if given, says yes). The scanner first looks for every such gate's hints and words in one pass
    (`Scanner`): most texts hold none of them."""

    __slots__ = ("_also", "_search", "hints", "needs", "words")

    def __init__(self, hints: Iterable[str], also: Gate | None = None, words: Iterable[str] = ()) -> None:
        self.hints = frozenset(hints)
        self.words = frozenset(words)
        self._search = _hint_search(self.hints, self.words)
        self._also = also
        self.needs = Needs(lowered=(trie_pattern(self.hints, whole=self.words),))

    def __call__(self, text: str, lowered: str) -> bool:
        return (self._also is None or self._also(text, lowered)) and self._search(lowered) is not None


# What a text must contain for a built-in recognizer of this entity to find anything. Only
# Presidio's and Helix's own recognizers have gates; custom patterns always run.
GATES: dict[str, Gate] = {
    "EMAIL_ADDRESS": Screened(lambda text, _lowered: "@" in text or obfuscation_hint(text), EMAIL_NEEDS),
    "IBAN_CODE": _letters_then_digits,
    "DATE_OF_BIRTH": Mentions(DATE_OF_BIRTH_HINTS),
    # Every number it finds has a digit (`personal._id_shaped`), found faster than a word.
    "ID_NUMBER": Mentions(ID_HINTS, also=_digit, words=ID_WORD_HINTS),
    "MAC_ADDRESS": Screened(lambda text, _lowered: mac_hint(text), MAC_NEEDS),
    "USERNAME": Screened(username_hint, USERNAME_NEEDS),
    "IP_ADDRESS": Screened(
        lambda text, lowered: (
            ("." in text and _digit_dot_digit(text, lowered)) or (":" in text and _colons(text, lowered))
        ),
        _digit_dot_digit.needs | _colons.needs,
    ),
    "JWT": _search(JWT_START),  # "ey" and "ew" are in too much prose to be word hints
    # Pattern-found LOCATIONs are street addresses: a street type and a house number before a capitalised word (or a
    # French street type), or a house number after a German street type (or a post-office box: `FOREIGN_STREET_HINT`),
    # a street before a postcode (a UK postcode or an Eircode after a street with no type), a US town's state and ZIP,
    # a Japanese or Chinese address, a postcode after its label; a digit in each, looked for first.
    "LOCATION": Screened(
        lambda text, lowered: (
            _digit(text, lowered)
            and (
                (STREET_HINT.search(text) is not None and _house_number(text, lowered))
                or GERMAN_STREET_HINT.search(text) is not None
                or FOREIGN_STREET_HINT.search(text) is not None
                or POSTCODE_HINT.search(text) is not None
                or US_TOWN_HINT.search(text) is not None
                or uk_ie_postcode_hint(text)
                or cjk_address_hint(text)
                or ROMAJI_ADDRESS_HINT.search(text) is not None
                or address_key_hint(lowered)
                or postcode_label_hint(lowered)
                or address_label_hint(text, lowered)
                or "〒" in text
                or hl7.present(text)  # an HL7 message's patient or insurance segment
                or dicom.present(text)  # a DICOM header's patient module
                or turkish_street_hint(text)
            )
        ),
        Needs(
            text=tuple(
                hint.pattern
                for hint in (
                    STREET_HINT,
                    POSTCODE_HINT,
                    US_TOWN_HINT,
                    ROMAJI_ADDRESS_HINT,
                )
            )
        )
        | GERMAN_STREET_NEEDS
        | FOREIGN_STREET_NEEDS
        | UK_IE_POSTCODE_NEEDS
        | CJK_ADDRESS_NEEDS
        | ADDRESS_KEY_NEEDS
        | POSTCODE_LABEL_NEEDS
        | ADDRESS_LABEL_NEEDS
        | TURKISH_STREET_NEEDS
        | Needs(text=(literals("〒", dicom.HINT),), lowered=(literals(*hl7.HINTS),)),
    ),
}
# Gates of recognizers, by class, that find an entity another recognizer finds too but need other characters.
CLASS_GATES: dict[type[EntityRecognizer], Gate] = {
    # Every number it finds has two digits, a letter and two digits (a codice fiscale), six digits in a row (a
    # CURP's, an RFC's or an HKID's; seven or more in the others), an Indian PAN's four digits and a capital, or a
    # National Insurance number's three pairs of digits with spaces.
    LetterLedIdRecognizer: _search(r"\d\d(?:[A-Za-z]\d\d|\d{4}|\d\d[A-Z]| \d\d \d\d)"),
    FastPhoneRecognizer: Screened(lambda text, _lowered: phone_hint(text), PHONE_NEEDS),
    MrzRecognizer: Screened(lambda text, _lowered: mrz_hint(text), MRZ_NEEDS),
    # its own: under LOCATION's, that gate's searches ran twice a text
    GeoCoordinatesRecognizer: Screened(geo_hint, GEO_NEEDS),
    SeedPhraseRecognizer: Screened(lambda text, _lowered: seed_phrase_hint(text), SEED_PHRASE_NEEDS),
    SpokenNumberRecognizer: lambda text, _lowered: spoken_hint(text),
}
# Where a built-in plain pattern recognizer (one that does not override `analyze`) of this entity
# can match; its patterns run over these stretches only, and not at all when there are none.
WINDOWS: dict[str, Callable[[Runs], list[Span]]] = {
    "CREDIT_CARD": lambda runs: runs.digits(13),  # the shortest card pattern takes 13 digits
    "US_SSN": lambda runs: runs.digits(9),  # every SSN pattern: 9 digits, separators optional
    # NationalIdRecognizer: CPF, NIR, DNI, Chinese resident ID; a DNI's letter (or an ID's X) is the character after
    # a run, and its end's lookahead needs two more (a full stop, and what follows it).
    "ID_NUMBER": lambda runs: [(a, min(b + 2, len(runs.text))) for a, b in runs.digits(8)],
    "CRYPTO": lambda runs: runs.keys(),  # bitcoin: 26-60 characters, ethereum: 42
}
WINDOW_NEEDS = {
    "CREDIT_CARD": DIGIT_RUN_NEEDS,
    "US_SSN": DIGIT_RUN_NEEDS,
    "ID_NUMBER": DIGIT_RUN_NEEDS,
    "CRYPTO": KEY_RUN_NEEDS,
}


@dataclass(frozen=True, slots=True)
class Hit:
    entity_type: str
    start: int
    end: int
    score: float


@dataclass(frozen=True, slots=True)
class _Entry:
    recognizer: EntityRecognizer
    context: frozenset[str]
    gate: Gate | None
    windows: Callable[[Runs], list[Span]] | None
    mentions: bool  # its gate is a `Mentions`
    screen: frozenset[int] | None = None  # ids of its gate's `Needs` in the scanner's prescreen


def _needs(entry: _Entry) -> Needs | None:
    if entry.windows is not None:
        return WINDOW_NEEDS[entry.recognizer.get_supported_entities()[0]]
    return entry.gate.needs if isinstance(entry.gate, (Screened, Mentions)) else None


class Scanner:
    """The recognizers of one engine, each with its context words and gate."""

    def __init__(self, recognizers: Sequence[EntityRecognizer], entities: Sequence[str], gated: set[int]) -> None:
        """`gated`: ids (`id()`) of the recognizers that `GATES` may skip."""
        self._entities = list(entities)
        self._wanted = frozenset(entities)
        entries = [_entry(r, id(r) in gated) for r in recognizers]
        self._prescreen: Prescreen | None = None
        screened = [(i, needs) for i, needs in enumerate(map(_needs, entries)) if needs is not None]
        if prescreen.available() and screened:
            self._prescreen = prescreen_for(tuple(needs for _, needs in screened))
            for (i, _), ids in zip(screened, self._prescreen.ids, strict=True):
                entries[i] = replace(entries[i], screen=ids)
        self._entries = entries
        # The entries a text's prescreen asks for: those never screened, and those of each pattern it may match.
        self._unscreened = frozenset(i for i, e in enumerate(entries) if e.screen is None)
        self._by_pattern: dict[int, list[int]] = {}
        for i, entry in enumerate(entries):
            for pattern in entry.screen or ():
                self._by_pattern.setdefault(pattern, []).append(i)
        # Without a prescreen: one search for every word gate's hints, so a text holding none skips them all.
        gates = [e.gate for e in self._entries if isinstance(e.gate, Mentions)] if self._prescreen is None else []
        hints = {hint for gate in gates for hint in gate.hints}
        words = {word for gate in gates for word in gate.words}
        self._any_hint = _hint_search(hints, words) if gates else None

    @property
    def screened(self) -> bool:
        return self._prescreen is not None

    def scan(self, text: str) -> Iterator[Hit]:
        runs = Runs(text)
        view = lowered(text)
        # The patterns of the gates' `Needs` the text may match, in one pass (None: no prescreen, or not this text).
        matched = self._prescreen.matched(text, view) if self._prescreen is not None else None
        # Without it: no hint of any word gate, then none of them can say yes, and none is asked.
        quiet = matched is None and self._any_hint is not None and self._any_hint(view) is None
        for entry in self._entries if matched is None else self._asked(matched):
            gate = entry.gate
            if gate is not None and ((quiet and entry.mentions) or not gate(text, view)):
                continue
            if entry.windows is not None:
                spans = entry.windows(runs)
                if not spans:
                    continue
                found = analyze_patterns(entry.recognizer, text, spans)  # type: ignore[arg-type]  # a PatternRecognizer
            else:
                # No NLP artifacts: pattern recognizers never read them and NameRecognizer runs its own model.
                found = entry.recognizer.analyze(text=text, entities=self._entities, nlp_artifacts=None)  # type: ignore[arg-type]
            for result in found:
                if result.entity_type not in self._wanted or result.score <= 0:
                    continue
                yield Hit(result.entity_type, result.start, result.end, _boosted(text, result, entry.context))

    def _asked(self, matched: set[int]) -> list[_Entry]:
        """The entries whose needs the text may meet, and the unscreened, in their order."""
        asked = set(self._unscreened)
        for pattern in matched:
            asked.update(self._by_pattern[pattern])
        return [self._entries[i] for i in sorted(asked)]


def _entry(recognizer: EntityRecognizer, gated: bool) -> _Entry:
    """A recognizer with its context words, and, if `gated`, its windows or else its gate (its windows are where
    it can match, so it needs no gate: NationalIdRecognizer shares ID_NUMBER with recognizers gated on words)."""
    context = frozenset(w.lower() for w in (recognizer.context or ()))
    windows = _windows(recognizer) if gated else None
    gate = _gate(recognizer) if gated and windows is None else None
    return _Entry(recognizer, context, gate, windows, isinstance(gate, Mentions))


def _gate(recognizer: EntityRecognizer) -> Gate | None:
    if type(recognizer) in CLASS_GATES:
        return CLASS_GATES[type(recognizer)]
    if isinstance(recognizer, SecretRecognizer) and recognizer.precheck is not None:
        precheck = recognizer.precheck
        gate: Gate = lambda text, _lowered: precheck(text)  # noqa: E731
        return Screened(gate, PRECHECK_NEEDS[precheck]) if precheck in PRECHECK_NEEDS else gate
    entities = recognizer.get_supported_entities()
    gates = [gate for gate in map(GATES.get, entities) if gate is not None]
    if gates and len(gates) == len(entities):
        if len(gates) == 1:  # most recognizers find one entity: no generator around its gate
            return gates[0]
        return lambda text, lowered: any(gate(text, lowered) for gate in gates)
    if isinstance(recognizer, SecretRecognizer) and recognizer.hints:
        return Mentions(recognizer.hints)  # the test its `analyze` starts with, made before the call
    return None


def _windows(recognizer: EntityRecognizer) -> Callable[[Runs], list[Span]] | None:
    entities = recognizer.get_supported_entities()
    plain = isinstance(recognizer, PatternRecognizer) and type(recognizer).analyze is PatternRecognizer.analyze
    return WINDOWS.get(entities[0]) if plain and len(entities) == 1 else None


def _boosted(text: str, result: RecognizerResult, context: frozenset[str]) -> float:
    score = float(result.score)
    if not context or score >= 1.0:
        return score
    meta = result.recognition_metadata or {}
    if meta.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY):
        return score
    if not context.isdisjoint(context_words(text, result.start)):
        return min(max(score + CONTEXT_BOOST, CONTEXT_FLOOR), 1.0)
    return score


def context_words(text: str, start: int) -> list[str]:
    """The last CONTEXT_WORDS + 1 words before `start`, the token at `start` included, lower-cased,
    without stop words and punctuation."""
    first = _TOKEN.search(text, start)
    end = first.end() if first else start
    tokens = _TOKEN.findall(text, max(0, start - _CONTEXT_REACH), end)
    words: list[str] = []
    for token in reversed(tokens):
        word = token.lower()
        if word.isalnum() and word not in STOP_WORDS and word != "be":
            words.append(word)
            if len(words) > CONTEXT_WORDS:
                break
    return words

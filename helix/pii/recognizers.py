"""Recognizers that replace or tighten Presidio's built-ins where they are slow or noisy on the
kind of text people send to LLMs (code, configs, logs, version numbers).

- PhoneRecognizer: Presidio's runs phonenumbers' matcher over the whole text once per region
  (~2-4 ms per region on a digit-heavy 700-char prompt). This one finds phone-shaped candidates
  with one regex and validates each with phonenumbers, so cost grows with candidates, not regions.
- IP addresses without netmasks, loopback and version numbers; Ethereum addresses; NER results
  without the tech words small spaCy models call people and places.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import phonenumbers
import regex
from presidio_analyzer import (
    AnalysisExplanation,
    LocalRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    IbanRecognizer,
    IpRecognizer,
    UsSsnRecognizer,
)
from presidio_analyzer.predefined_recognizers import EmailRecognizer as _PresidioEmailRecognizer
from spacy.lang.en.stop_words import STOP_WORDS

from helix.pii import dicom, hl7
from helix.pii.fast_regex import Runs, analyze_patterns
from helix.pii.personal import column_header, column_rows
from helix.pii.prescreen import Needs, literals
from helix.pii.spoken import ENGLISH_DIGIT_WORDS, spoken_numbers
from helix.pii.suffixes import has_registrable_domain

PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN", "ES", "IT", "NL", "AU", "BR", "CN", "RU", "JP", "KR")
# Regions a number is also tried in when a phone word names it (Singapore's and Hong Kong's eight digits, Greece's ten,
# Mexico's, Turkey's...): checked after PHONE_REGIONS, so only numbers named as phones that those reject pay for them.
NAMED_PHONE_REGIONS = (
    *("SG", "HK", "MY", "PH", "TH", "VN", "ID", "TW", "NZ", "CA", "MX", "AR", "CL", "CO", "PE", "GR", "TR", "PL"),
    *("CZ", "RO", "HU", "SE", "NO", "DK", "FI", "CH", "AT", "BE", "PT", "IE", "IL", "AE", "SA", "EG", "ZA", "NG"),
    *("KE", "PK", "UA"),
)
PHONE_CONTEXT = ["phone", "telephone", "tel", "cell", "cellphone", "mobile", "whatsapp", "fax"]

# Digits with the separators people put in phone numbers; must not sit inside a longer token. Chinese, Japanese and
# Korean text puts no space around a number ("手机号是13812345678。"), so their letters end a token as a space does. An
# extension may follow with no space ("+1-617-555-0148x22", "...0148ext.5"): the number ends before it.
_CJK = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}"
_PHONE_CHARACTERS = r"[\d \u00a0()./-]"
_PHONE_DIGITS = rf"\d{_PHONE_CHARACTERS}{{5,22}}\d"
_PHONE_CANDIDATE = regex.compile(
    rf"(?:(?<![+/.#@-]|[^\W{_CJK}])|(?<=\bwa\.me/))(?:\+|\b00)?[(]?"
    + _PHONE_DIGITS
    + rf"(?!(?!x\d|ext\.?\d)[^\W{_CJK}]|/|[.-]\d)"
)
# Led by a digit, which `re` looks for fast; the candidate's lookbehind is tried at every position.
_PHONE_HINT = re.compile(_PHONE_DIGITS)
# A version is also dotted groups with a one-digit group inside (Chrome 124.0.6367.207, Windows 10.0.19045.3803): a
# phone's groups are longer.
_IP_OR_VERSION = regex.compile(r"^\d{1,3}(?:\.\d{1,3}){2,}$|^\d{1,4}(?:\.\d{1,5})*\.\d(?:\.\d{1,5})+$")
_FRENCH_DOTTED = regex.compile(r"^0\d(?:\.\d\d){4}$")  # 01.45.67.89.10: a French number, not a version
# Dates, and build numbers that start with one (2024.03.15.1).
_DATE = regex.compile(r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:\.\d+)?|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$")
# The digit groups of an IBAN written in blocks ("GB85 BARC 2004 0441 2345 67") are not a phone.
_IBAN_BEFORE = regex.compile(r"\b[A-Z]{2}\d{2}(?: [A-Z0-9]{4})+ $")
# 3000-3005, 1990 - 2024, 0800-1500; not "06-38291746" or "030-1234567": a trunk prefix ("0" and 1-4 digits) and a
# subscriber number of 6 or more digits.
_RANGE = regex.compile(r"^(?!0\d{1,4}-\d{6,}$)\d+\s?-\s?\d+$")
# A document number led by its year ("INV 2024 000 123"), not named as a phone: four digits from 1900 to 2099 and
# a separator; no national number is written that way.
_YEAR_LED = regex.compile(r"^(?:19|20)\d\d[ ./-]")
_LOCAL_NUMBER = regex.compile(r"^\d{3}[-. ]\d{4}$")
# A chat link's number is international without its "+" (https://wa.me/5511984732210, api.whatsapp.com/send?phone=...).
_CHAT_LINK = regex.compile(r"(?i)(?:\bwa\.me/|whatsapp\.com/send/?\?phone=|\bt\.me/\+?)$")
# National numbers written without their region's trunk prefix: Brazil's with the area code in brackets
# ((11) 97342-8816, (21) 2555-0199), China's mobiles (138 1234 5678: eleven digits from 13 to 19).
_TRUNKLESS = {
    "BR": regex.compile(r"^\(\d\d\) ?9?\d{4}-?\d{4}$"),
    "CN": regex.compile(r"^1[3-9]\d(?:[ -]?\d{4}){2}$"),
}
# ...and India's mobiles (98765 43210), only after a phone word: ten digits in two groups are also other numbers.
_TRUNKLESS_NAMED = {"IN": regex.compile(r"^[6-9]\d{4}[ -]?\d{5}$")}
# Mexico's mobiles took a "1" after +52 until 2019, and are still written so (+52 1 33 1842 7765).
_MEXICO_MOBILE_ONE = regex.compile(r"^\+52[ .-]?1[ .-]?(?=\d{10}$|\d\d[ .-])")
# The trunk prefixes people write before a national number: "0" (GB 020..., DE 030..., JP 090...) and Russia's "8".
# The US "1" is often left out, so a number without it is still national there.
_WRITTEN_TRUNKS = ("0", "8")
# Top-level domains no registry sells (RFC 2606, RFC 6761, and the usual private ones): mail at a company's
# own network (jane@acme.internal, bob@corp.local) or in test data (x@shop.example) is a person's address.
_PRIVATE_TLDS = frozenset(
    {"example", "test", "invalid", "local", "localdomain", "internal", "intranet", "corp", "lan", "home", "private"}
)
_COMMON_TLDS = frozenset({"com", "org", "net", "edu", "gov", "io", "info", "biz", "me", "dev", "app", "mail"})
_SAMPLE_SSNS = frozenset({"123456789", "078051120", "987654320"})
# Spelled out because spaCy lists "call" as a stop word, which Presidio's context matching skips.
# Chinese, Japanese and Korean words have no word boundary before them ("他的手机号").
_PHONE_WORDS = regex.compile(
    r"(?i)(?:\b(?:phone|telephone|tel|cell|mobile|call|whatsapp|fax|sms|text|ring|dial|reach|contact|телефон|тел"
    r"|telefon\w*|tlf|handy|hp|cel|celular|m[óo]vil|κινητ\w*|τηλ\w*|puhelin\w*|numer telefonu"
    r"|my (?:(?:cell|mobile|phone|home|work|direct) )?(?:number|no)|mob|mobil\w*|(?<![^\n])[mtpf](?=\s*[.:]))\b"
    # set Y: a field's name may end in one, the number its value right after it ("customer_phone": 4915772839104,
    # home_phone_number = ...; not a flag's "is_mobile = 1 AND ts > 1718000000", "render_mobile took 1718000000 ns")
    # set AF: or in a camelCase one ("homePhone": 12025550187), or Portuguese's ("telemovel": 351912874406)
    r"|(?:(?<=[a-z0-9]_)(?<!\bis_)(?<!\bhas_)(?<!\bsupports_)(?:phone|mobile|telephone|fax|whatsapp)(?:_(?:number|no|num))?"
    r"|(?-i:(?<=[a-z])(?<!\bis)(?<!\bhas)Phone)|telem[óo]vel)"
    r"[\"']?[ \t]*[:=][ \t]*[\"']?[ \t]*$"
    r"|手机|手機|电话|電話|携帯|전화|연락처|휴대폰|聯絡|联系|मोबाइल|फ़ोन|फोन)[^\n]{0,24}$"
)


# A table's header cell that names a phone ("phone", "Mobile No", "home_phone"), the whole cell: the rows under it hold
# phones. A sentence's words before a comma ("Call me on my cell, or...") are no cell.
_PHONE_WORDS_IN_A_CELL = "phone|mobile|cell|tel|telefon|fax|whatsapp|手机|电话|電話|携帯|휴대폰|전화"
_PHONE_COLUMN = column_header(rf"(?i:(?:\w+[ _-])?(?:{_PHONE_WORDS_IN_A_CELL})\w*(?:[ _-]\w+)?)[ \"']*(?=[,;\t|]|$)")


def _looks_national(digits: str, before: str) -> bool:
    # A leading trunk "0" (0612345678) is how people write national numbers; timestamps and most
    # ids do not start with it. `id=0123456789` (glued to = or :) is a value in code, not prose.
    return digits.startswith("0") and not before.endswith(("=", ":"))


def _trunkless(region: str, candidate: str, named: Callable[[], bool]) -> bool:
    shape = _TRUNKLESS.get(region)
    if shape is not None and shape.match(candidate) is not None:
        return True
    shape = _TRUNKLESS_NAMED.get(region)
    return shape is not None and shape.match(candidate) is not None and named()  # the search last: it costs most


def _trunk_prefix(region: str) -> str | None:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return metadata.national_prefix if metadata else None


# A number read out digit by digit ("nine one seven, five five two, eight three four one"), named as a phone: seven to
# fifteen digit words. Looked for only after three digit words in a row (`_SPELLED_HINT`: its leading space lets `re`
# skip to candidates, ~4x cheaper over prose than counting each word; lower case: "(?i)" would cost 4x as much).
_DIGIT_WORD = ENGLISH_DIGIT_WORDS
_SPELLED_PHONE = regex.compile(rf"(?i)\b{_DIGIT_WORD}(?:[ ,.-]+{_DIGIT_WORD}){{6,14}}\b")
_SPELLED_HINT = re.compile(rf" {_DIGIT_WORD}[ ,.-]+{_DIGIT_WORD}[ ,.-]+{_DIGIT_WORD}\b")


def spelled_hint(text: str) -> bool:
    """Whether `text` may hold a number read out in words: three digit words in a row."""
    return _SPELLED_HINT.search(text) is not None


class SpokenNumberRecognizer(LocalRecognizer):
    """Numbers read out a digit at a time in words (`helix.pii.spoken`): cards, and identifying numbers."""

    name: str

    def __init__(self) -> None:
        super().__init__(supported_entities=["ID_NUMBER", "CREDIT_CARD"], name="SpokenNumberRecognizer")

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        # an identifying number under a phone's 0.5: a number read out after "my number is" is the phone's
        return [
            RecognizerResult(entity, start, end, 0.8 if entity == "CREDIT_CARD" else 0.45)
            for entity, start, end in spoken_numbers(text)
            if not entities or entity in entities
        ]


def phone_hint(text: str) -> bool:
    """Whether `text` may hold a phone number (the scanner's gate for `FastPhoneRecognizer`)."""
    return _PHONE_HINT.search(text) is not None or spelled_hint(text)


# The phone's first six characters (its whole pattern's bounded repeat took Hyperscan 0.3 s to compile)
PHONE_NEEDS = Needs(text=(rf"\d{_PHONE_CHARACTERS}{{5}}", _SPELLED_HINT.pattern))


class FastPhoneRecognizer(LocalRecognizer):
    """Phone numbers in international (+CC / 00CC) or national formats of `regions`.

    Scores: international 0.7, national with separators 0.5, a bare digit run 0.6 but only after a
    phone word or with a leading trunk 0: bare runs are more often timestamps, order and invoice numbers.
    """

    name: str

    def __init__(self, regions: tuple[str, ...] = PHONE_REGIONS, context: list[str] | None = None) -> None:
        self.regions = regions
        # Regions whose national format starts with a trunk prefix (GB 020..., DE 030..., FR 01..., RU 8...):
        # a number without it is not national there, which keeps DE from accepting dates and ranges.
        self._trunks = {r: t for r in regions if (t := _trunk_prefix(r)) in _WRITTEN_TRUNKS}
        super().__init__(supported_entities=["PHONE_NUMBER"], name="PhoneRecognizer", context=context or PHONE_CONTEXT)

    def load(self) -> None:
        pass  # _trunk_prefix() in __init__ has already loaded each region's metadata

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = []
        columns = list(column_rows(text, _PHONE_COLUMN)) if "\n" in text else []
        for match in _PHONE_CANDIDATE.finditer(text):
            start, end = match.span()
            if text[start] == "(" and ")" not in text[start:end]:
                start += 1
            in_column = any(a <= start < b for a, b in columns)
            score = self._score(text[start:end], text[max(0, start - 48) : start], in_column)
            if score:
                results.append(self._result(start, end, score))
        if spelled_hint(text):
            for spelled in _SPELLED_PHONE.finditer(text):
                start, end = spelled.span()
                if _PHONE_WORDS.search(text, max(0, start - 48), start) is not None:
                    results.append(self._result(start, end, 0.5))
        if "PID|" in text:  # an HL7 patient segment's phones: a field's place names them
            results += [self._result(start, end, 0.7) for start, end in hl7.fields(text, hl7.PHONES)]
        if dicom.present(text):  # and a DICOM header's
            results += [self._result(start, end, 0.7) for start, end in dicom.fields(text, dicom.PHONES)]
        return results

    def _score(self, candidate: str, before: str, in_column: bool) -> float:
        """`in_column`: the candidate is in a table under a phone column's header, which names it as a phone."""

        def named() -> bool:
            return in_column or _PHONE_WORDS.search(before) is not None

        digits = "".join(c for c in candidate if c.isdigit())
        if not 7 <= len(digits) <= 15 or _DATE.match(candidate):
            return 0.0
        if _IP_OR_VERSION.match(candidate) and (not _FRENCH_DOTTED.match(candidate) or _VERSION_BEFORE.search(before)):
            return 0.0
        if candidate.startswith(("+", "00")) or (candidate.isdigit() and _CHAT_LINK.search(before) is not None):
            international = "+" + candidate.removeprefix("+").removeprefix("00")
            if self._valid(international, None) or self._valid(_MEXICO_MOBILE_ONE.sub("+52 ", international), None):
                return 0.7
            # A number of the ranges kept for fiction and tests (+44 7700 900461, +1 555 010 4477) is possible
            # but never valid: named as a phone, it is one.
            return 0.5 if named() and self._possible(international) else 0.0
        if _LOCAL_NUMBER.match(candidate) and named():
            return 0.5  # "my phone number is 555-0100": seven digits with no area code, named as a phone
        if _RANGE.match(candidate) or _IBAN_BEFORE.search(before):
            return 0.0
        if _YEAR_LED.match(candidate) and not named():
            return 0.0
        bare = candidate.isdigit()
        if bare and not named() and not _looks_national(digits, before):
            return 0.0
        for region in self.regions:
            trunk = self._trunks.get(region)
            if trunk and not digits.startswith(trunk) and not _trunkless(region, candidate, named):
                continue
            if self._valid(candidate, region):
                return 0.6 if bare else 0.5
        if named() and any(self._valid(candidate, region) for region in NAMED_PHONE_REGIONS):
            return 0.5
        # An international number without its "+", as exports and APIs store them ("tel": "447911482730"), named as a
        # phone: possible for its country code is enough, as with "+" above.
        if named() and bare and len(digits) >= 11 and self._possible("+" + digits):
            return 0.5
        return 0.0

    @staticmethod
    def _valid(candidate: str, region: str | None) -> bool:
        try:
            return phonenumbers.is_valid_number(phonenumbers.parse(candidate, region))
        except phonenumbers.NumberParseException:
            return False

    @staticmethod
    def _possible(candidate: str) -> bool:
        try:
            return phonenumbers.is_possible_number(phonenumbers.parse(candidate, None))
        except phonenumbers.NumberParseException:
            return False

    def _result(self, start: int, end: int, score: float) -> RecognizerResult:
        return RecognizerResult(
            entity_type="PHONE_NUMBER",
            start=start,
            end=end,
            score=score,
            analysis_explanation=AnalysisExplanation(
                recognizer=self.name, original_score=score, textual_explanation="phone number"
            ),
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )


_URL_USERINFO_BEFORE = regex.compile(r"://[^\s/@:]*:[^\s/]*$")  # the password may hold "@"
# Presidio's email pattern: a local part of these characters, "@", a domain of word characters, "-", ".".
_NOT_LOCAL = re.compile(r"[^!#$%&'*+\-/=?^_`{|}~\w.]")
_DOMAIN = re.compile(r"[\w.-]*")
_URL_PUNCTUATION = re.compile(r"[^?=&/]*")  # read backwards from the "@"
_LOCAL_REACH = 512
# An address whose local part is quoted (RFC 5321): "jane doe"@gmail.com; Presidio's pattern stops at the quote.
_QUOTED_LOCAL = re.compile(r'"[^"\\\n@]{1,64}"@[\w-]+(?:\.[\w-]+)+')


def email_windows(text: str) -> list[tuple[int, int]] | None:
    """The stretches of `text` that can hold an email match: around each "@", from the character
    after the last one that cannot be in a local part to the first that cannot be in a domain,
    overlapping stretches merged. Both ends sit next to non-word characters (or the text's ends),
    so the pattern matches in a stretch exactly what it matches there in the whole text. None when a
    local part reaches further back than _LOCAL_REACH: then the whole text is scanned."""
    windows: list[tuple[int, int]] = []
    at = text.find("@")
    while at != -1:
        head = text[max(0, at - _LOCAL_REACH) : at]
        separator = _NOT_LOCAL.search(head[::-1])
        if separator is None and len(head) < at:
            return None
        start = at - (separator.start() if separator else len(head))
        end = _DOMAIN.match(text, at + 1).end()  # type: ignore[union-attr]  # matches the empty string at worst
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(end, windows[-1][1]))
        else:
            windows.append((start, end))
        at = text.find("@", end)
    return windows


# An address written out so scrapers miss it: "ann (at) leak (dot) io", "ann[at]leak[dot]io", "ann dot lee at leak
# dot io", in French, Spanish, Italian and German too ("m.roux arobase orange point fr", "jan(at)posteo(punkt)de"). A
# bracketed "at" or another language's word for "@" is enough; a bare " at " needs a spelled-out " dot " in the domain
# ("look at docs.python.org", "at this point in time" stay).
_AT_BRACKETED = r"\s*[(\[{<]\s*at\s*[)\]}>]\s*"
_AT_WORD = r"\s+(?:arobase|arroba|chiocciola|klammeraffe)\s+"
_DOT_WORDS = r"(?:dot|punkt|point|punto|ponto)"
_DOT_SPELLED = r"(?:\s*[(\[{<]\s*" + _DOT_WORDS + r"\s*[)\]}>]\s*|\s+" + _DOT_WORDS + r"\s+)"
_OBFUSCATED_EMAIL = regex.compile(
    r"(?i)(?<![\w.+-])(?P<local>[\w+-]+(?:(?:\.|" + _DOT_SPELLED + r")[\w+-]+)*)"
    r"(?:(?P<bracketed>" + _AT_BRACKETED + "|" + _AT_WORD + r")|\s+at\s+)"
    r"(?P<domain>[\w-]+(?:(?:\.|" + _DOT_SPELLED + r")[\w-]+)+)(?![\w-])"
)
_SPELLED_DOT = regex.compile(r"(?i)" + _DOT_SPELLED)
# a bare " at " needs one of these spelled out in the domain (set AD: "lena punkt weber at web punkt de"); not
# "point", which English prose says ("look at this point of sale")
_SAID_DOT = regex.compile(r"(?i)\s+(?:dot|punkt|punto|ponto)\s+")
# An address spaced out ("b e n . h a r p e r @ proton . me", "ann @ leak . io"): spaces around its "@", and its
# letters one by one or its dots spaced; checked with its spaces taken out. Matched at each "@" with a space beside it,
# the part before it in a lookbehind: tried at every word, the pattern took ~200 us over 2 KB of decorated Python.
_SPACED_PART = r"[\w+-](?: [\w.+-](?!\S))+|[\w+-]+(?: \. [\w+-]+)+"
_SPACED_EMAIL = regex.compile(
    rf"(?<=(?<![\w.+-])(?P<local>{_SPACED_PART}|[\w.+-]+) ?)@ ?(?P<domain>{_SPACED_PART})(?![\w.])"
)


# A bracketed "at" or a spelled "dot", or a word for "@".
_OBFUSCATIONS = (
    *("at)", "at]", "at}", " dot ", " punkt ", " punto ", " ponto ", "AT)", "AT]", " DOT "),
    *("arobase", "arroba", "chiocciola", "klammeraffe"),
)


def obfuscation_hint(text: str) -> bool:
    """Whether `text` may hold an obfuscated address (the scanner's gate for it, asked when the prescreen finds one of
    `_OBFUSCATIONS`)."""
    return any(hint in text for hint in _OBFUSCATIONS)


EMAIL_NEEDS = Needs(text=(literals("@", *_OBFUSCATIONS),))  # an address, plain or obfuscated


class EmailRecognizer(_PresidioEmailRecognizer):
    """Presidio's, run only around each "@" (its pattern is costly over code and logs: ~0.15 ms over
    2 KB), and without the `password@host` that its pattern finds in `scheme://user:password@host` URLs."""

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        if "@" not in text:
            return self._obfuscated(text) if obfuscation_hint(text) else []
        windows = email_windows(text)
        if windows is None:
            results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        else:
            results = []
            for start, end in windows:
                for result in super().analyze(text[start:end], entities, nlp_artifacts, regex_flags):
                    result.start += start
                    result.end += start
                    results.append(result)
        kept = [r for r in results if not _URL_USERINFO_BEFORE.search(text[max(0, r.start - 256) : r.start])]
        for result in kept:  # "?email=ann@leak.io" in a URL: the address starts after the query's "=", "/", "&" or "?"
            at = text.index("@", result.start)
            result.start = at - _URL_PUNCTUATION.match(text[result.start : at][::-1]).end()  # type: ignore[union-attr]
        if '"@' in text:
            for quoted in _QUOTED_LOCAL.finditer(text):
                if self.validate_result(quoted.group()):
                    kept.append(RecognizerResult("EMAIL_ADDRESS", *quoted.span(), 1.0))
        if obfuscation_hint(text):
            kept += self._obfuscated(text)
        if " @" in text or "@ " in text:
            kept += self._spaced(text)
        return kept

    def _spaced(self, text: str) -> list[RecognizerResult]:
        found = []
        at = text.find("@")
        while at != -1:
            if text[at - 1 : at] == " " or text[at + 1 : at + 2] == " ":
                match = _SPACED_EMAIL.match(text, at)
                if match is not None:
                    domain = match.group("domain").replace(" ", "")
                    tld = domain.rsplit(".", 1)[-1].lower()
                    if "." in domain and (tld in _COMMON_TLDS or len(tld) == 2) and self.validate_result("x@" + domain):
                        found.append(RecognizerResult("EMAIL_ADDRESS", match.start("local"), match.end(), 0.9))
            at = text.find("@", at + 1)
        return found

    def _obfuscated(self, text: str) -> list[RecognizerResult]:
        found = []
        for match in _OBFUSCATED_EMAIL.finditer(text, overlapped=True):
            domain = _SPELLED_DOT.sub(".", match.group("domain"))
            words = [w.lower() for w in regex.split(r"[.\s]+", match.group("local") + "." + domain)]
            if match.group("bracketed") is None and (
                _SAID_DOT.search(match.group("domain")) is None or any(w in STOP_WORDS for w in words)
            ):
                continue  # a bare " at " needs a spelled-out " dot ", and no stop word ("look at this dot com")
            tld = domain.rsplit(".", 1)[1].lower()
            if (tld in _COMMON_TLDS or len(tld) == 2) and self.validate_result("x@" + domain):
                found.append(RecognizerResult("EMAIL_ADDRESS", match.start(), match.end(), 0.9))
        return found

    def validate_result(self, pattern_text: str) -> bool:
        # "ann@leak.io.png" (a file name) or "ann@leak.io.Thanks": a valid address followed by a label. Only the
        # domain is read: a local part may hold "?" and "/", which would make the whole look like a URL's path.
        candidate = "x@" + pattern_text.rpartition("@")[2]
        while "." in candidate.partition("@")[2]:
            if has_registrable_domain(candidate) or candidate.rsplit(".", 1)[1].lower() in _PRIVATE_TLDS:
                return True
            candidate = candidate.rsplit(".", 1)[0]
        return False


class SsnRecognizer(UsSsnRecognizer):
    """Presidio's, without its pass for the sample numbers the SSA published (123-45-6789, 078-05-1120):
    people type them into forms and test data plants them; keeping them from a provider costs nothing."""

    def invalidate_result(self, pattern_text: str) -> bool:
        if "".join(c for c in pattern_text if c.isdigit()) in _SAMPLE_SSNS:
            return len({c for c in pattern_text if c in ".- "}) > 1  # still one kind of separator
        return bool(super().invalidate_result(pattern_text))


_VERSION_BEFORE = regex.compile(r"(?i)\b(?:v|ver|version|release|build|firmware|kernel|tag)\.?\s*[:=]?\s*$")


# An IPv6 address has "::" or a hex digit next to a colon.
_IPV6_HINT = re.compile(r"::|[0-9A-Fa-f]:[0-9A-Fa-f]")
_IPV4 = [p for p in IpRecognizer.PATTERNS if p.name == "IPv4"]


class FilteredIpRecognizer(IpRecognizer):
    """IP addresses, minus netmasks, network ranges, loopback, 0.0.0.0 and 4-part version numbers."""

    name: str
    patterns: list[Pattern]

    def __init__(self) -> None:
        super().__init__(patterns=IpRecognizer.PATTERNS)

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        if _IPV6_HINT.search(text):
            results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        else:
            # Presidio's IPv6 alternations are the costliest patterns of all; without an IPv6 hint
            # only the IPv4 pattern runs, over the runs of digits that hold four numbers.
            results = analyze_patterns(self, text, Runs(text).digits(4, min_dots=3), _IPV4)
        return [r for r in results if not _VERSION_BEFORE.search(text[max(0, r.start - 24) : r.start])]

    def invalidate_result(self, pattern_text: str) -> bool:
        if super().invalidate_result(pattern_text):
            return True
        interface = ipaddress.ip_interface(pattern_text)
        address = interface.ip
        network = interface.network
        if "/" in pattern_text and network.num_addresses > 1 and address == network.network_address:
            return True  # a network range (10.0.0.0/16), not a host (a /32 is one host: 93.203.41.17/32)
        return str(address).startswith("255.") or address.is_loopback or address.is_unspecified


# An IBAN typed in lower case ("de89 3704 0044 0532 0130 00"), which Presidio's upper-case pattern misses.
_LOWER_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[a-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]{4}){2,7}(?:[ -]?[A-Za-z0-9]{1,4})?(?![A-Za-z0-9])"
)


# An IBAN whose groups a mail client wrapped onto the next line ("IBAN: GB29 NWBK 6016 1331" / "9268 19"): the end of a
# line shaped like an IBAN's start, and the groups opening the next line (after a quote's ">").
_IBAN_LINE_END = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]{4}){1,7}[ \t]*$")
_IBAN_LINE_START = re.compile(r"[ \t>]*([A-Za-z0-9]{1,4}(?:[ -][A-Za-z0-9]{1,4}){0,7})(?![A-Za-z0-9])")
_IBAN_GROUP = re.compile(r"[A-Za-z0-9]+")
# Led by the check digits (a digit is found fast; a leading lookbehind is tried at every position): "GB 56 B", "ES48 0"
_IBAN_LOOSE_START = re.compile(
    r"\d(?:(?<=(?<![A-Za-z0-9])[A-Z]{2}\d)|(?<=(?<![A-Za-z0-9])[A-Z]{2}[ -]\d))\d[ -][A-Z0-9]"
)
_IBAN_LOOSE_GROUP = re.compile(r"[A-Z0-9]+(?=[ -]|(?![A-Za-z0-9]))")
# A wrapped IBAN breaks after a digit or a capital (its groups are bank codes and account digits), maybe a space: only
# those lines' ends are tried (the newlines found by `str.find`, cheaper than any pattern pass over the text).
_BREAK_BEFORE = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ \t")


class CaseFoldIbanRecognizer(IbanRecognizer):
    """Presidio's, IBANs written in lower case (each lower-case candidate is checked upper-cased: its checksum and
    country length decide, as for any IBAN), and IBANs wrapped across two lines."""

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        analyze: Any = super().analyze  # Presidio types its optional arguments as required
        results = list(analyze(text, entities, nlp_artifacts, regex_flags))
        for candidate in _LOWER_IBAN.finditer(text):
            for result in analyze(candidate.group().upper(), entities, nlp_artifacts, regex_flags):
                result.start += candidate.start()
                result.end += candidate.start()
                results.append(result)
        if "\n" in text:
            results += self._wrapped(text)
        results += self._loosely_grouped(text, {r.start for r in results})
        return results

    def _loosely_grouped(self, text: str, found: set[int]) -> list[RecognizerResult]:
        """Groups of any length between single spaces or hyphens, the check digits apart from the country ("GB 56 BARC
        203253 48219374", "DE-53-735047864817516756", a Spanish account's "ES48 0182 2214 51 0208417593"): the
        shortest run of groups that is a valid IBAN (its country's length and mod 97)."""
        loose = []
        for digits in _IBAN_LOOSE_START.finditer(text):
            start = digits.start() - (3 if text[digits.start() - 1] in " -" else 2)  # "GB 56", "DE-53" / "GB56"
            if start in found:  # grouped as usual: found already
                continue
            if (end := self._shortest_valid("", _loose_groups(text, start))) is not None:
                loose.append(RecognizerResult("IBAN_CODE", start, end, 1.0))
        return loose

    def _shortest_valid(self, compact: str, groups: Iterable[re.Match[str]]) -> int | None:
        """Where the shortest valid IBAN ends that `compact` and the first of `groups` make (its country's length and
        mod 97; Norway's are the shortest, 15 characters), if any does."""
        for group in groups:
            compact += group.group().upper()
            if len(compact) > 34:
                return None
            if len(compact) >= 15 and self.validate_result(compact):
                return group.end()
        return None

    def _wrapped(self, text: str) -> list[RecognizerResult]:
        found = []
        at = text.find("\n")
        while at != -1:
            head = _IBAN_LINE_END.search(text, max(0, at - 48), at) if text[at - 1 : at] in _BREAK_BEFORE else None
            tail = _IBAN_LINE_START.match(text, at + 1) if head is not None else None
            if head is not None and tail is not None:
                compact = "".join(_IBAN_GROUP.findall(head.group())).upper()
                end = self._shortest_valid(compact, _IBAN_GROUP.finditer(text, tail.start(1), tail.end(1)))
                if end is not None:
                    found.append(RecognizerResult("IBAN_CODE", head.start(), end, 1.0))
            at = text.find("\n", at + 1)
        return found


def _loose_groups(text: str, start: int) -> Iterator[re.Match[str]]:
    """An IBAN's groups from `start` on, while each follows a space or a hyphen."""
    for group in _IBAN_LOOSE_GROUP.finditer(text, start, min(len(text), start + 48)):
        if group.start() != start and text[group.start() - 1] not in " -":
            return
        yield group


class CardRecognizer(CreditCardRecognizer):
    """Presidio's (Luhn-checked), also with dots between the digit groups (4111.1111.1111.1111), in groups of four,
    six and five or six digits (3782-822463-10005, the grouping of Amex and of cards typed as read), Mastercard's
    2-series (2221-2720), which Presidio's pattern leaves out, groups between slashes, underscores or two spaces,
    the 19 digits of UnionPay and Maestro cards, and a number read out one digit at a time ("4 3 3 2 9 ...")."""

    def __init__(self) -> None:
        dotted = Pattern(
            "Credit card (dots)",
            r"\b(?!1\d{12}(?!\d))(4\d{3}|5[0-5]\d{2}|6\d{3}|1\d{3}|3\d{3})\.(\d{3,4})\.(\d{3,4})\.(\d{3,5})\b",
            0.3,
        )
        four_six = Pattern(
            "Credit card (4-6-5 or 4-6-6 groups)",
            r"\b(?:4\d{3}|5[0-5]\d{2}|6\d{3}|3\d{3})([- ])\d{6}\1\d{5,6}\b",
            0.3,
        )
        two_series = Pattern(
            "Credit card (Mastercard 2-series)",
            r"\b(222[1-9]|22[3-9]\d|2[3-6]\d{2}|27[01]\d|2720)([- .]?)(\d{4})\2(\d{4})\2(\d{4})\b",
            0.3,
        )
        other_separators = Pattern(
            "Credit card (groups of four between slashes, underscores or two spaces, a last group of three)",
            r"\b(?:[2-6]\d{3})(?P<sep>[/_]| {1,2})\d{4}(?P=sep)\d{4}(?P=sep)\d{4}(?:(?P=sep)\d{3})?(?!\d)",
            0.3,
        )
        long_pan = Pattern("Credit card (18 or 19 digits: UnionPay, Maestro)", r"\b[2-6]\d{17,18}\b", 0.3)
        # set Z: Turkey's Troy (9792) and Russia's Mir (2200-2204), which the patterns above leave out
        troy_mir = Pattern("Credit card (Troy, Mir)", r"\b(9792|220[0-4])([- ]?)(\d{4})\2(\d{4})\2(\d{4})\b", 0.3)
        digit_by_digit = Pattern("Credit card (one digit at a time)", r"\b[2-6](?: \d){12,18}\b", 0.3)
        mine = [dotted, four_six, two_series, other_separators, long_pan, troy_mir, digit_by_digit]
        super().__init__(
            patterns=[*CreditCardRecognizer.PATTERNS, *mine],
            replacement_pairs=[("-", ""), (" ", ""), (".", ""), ("/", ""), ("_", "")],
        )


# A card number the words before it call a test card ("Stripe's test card 4242 4242 4242 4242", "test cards: ...")
# and that a payment provider publishes for test mode (Stripe's, Braintree's, Adyen's, PayPal's documentation): no
# one's card. Both are asked: words alone ("is this a real card or a test card? 4532 ...") prove nothing.
# set AH: "in Stripe test mode I use card 4242 ..."
_TEST_CARD_BEFORE = re.compile(r"(?i)\b(?:test(?:ing)?[ -]?(?:card|number|mode)s?|sandbox)\b[^\n\d]{0,24}\Z")
_PUBLISHED_TEST_CARDS = frozenset(
    [
        "4242424242424242",
        "4000056655665556",
        "4000002500003155",
        "4000002760003184",
        "4000003800000446",
        "4000000000003220",
        "4000000000000002",
        "4000000000009995",
        "4000000000009987",
        "4000000000000069",
        "4000000000000127",
        "4000000000000119",
        "4000000000000077",
        "4000000000000093",
        "4000000000000101",
        "4000000000000341",
        "4100000000000019",
        "4000000000000010",
        "4000000000000028",
        "4000000000000036",
        "4111111111111111",
        "4012888888881881",
        "4222222222222",
        "4005519200000004",
        "4009348888881881",
        "4012000033330026",
        "4012000077777777",
        "4217651111111119",
        "4500600000000061",
        "4400000000000008",
        "5555555555554444",
        "2223003122003222",
        "5200828282828210",
        "5105105105105100",
        "5431111111111111",
        "2223000048400011",
        "5454545454545454",
        "5555341244441115",
        "378282246310005",
        "371449635398431",
        "378734493671000",
        "370000000000002",
        "6011111111111117",
        "6011000990139424",
        "6011981111111113",
        "6011000400000000",
        "3056930009020004",
        "36227206271667",
        "30569309025904",
        "38520000023237",
        "3566002020360505",
        "3530111333300000",
        "3566111111111113",
        "6200000000000005",
        "6555900000604105",
    ]
)


def called_a_test_card(text: str, start: int, end: int) -> bool:
    """Whether the card number at `start`..`end` is a published test number that the words before call one."""
    digits = "".join(c for c in text[start:end] if c.isdigit())
    return digits in _PUBLISHED_TEST_CARDS and _TEST_CARD_BEFORE.search(text, max(0, start - 48), start) is not None


_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_RIPPLE_TO_BASE58 = str.maketrans("rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz", _BASE58)
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_B58 = "[1-9A-HJ-NP-Za-km-z]"
# Wallet addresses of the common coins whose shape says what they are. Litecoin's and Dogecoin's legacy addresses
# (L/M/D and 25-33 base58 characters) and Solana's (32-44 base58 characters, no prefix) are also other tokens'
# shapes: their pattern scores too low to report unless their base58check checksum holds or a context word ("wallet",
# "ltc", "doge") precedes them; so are Tron's (T and 33) and the XRP Ledger's (r and 25-34, in Ripple's own base58
# alphabet). Litecoin's bech32 (ltc1...) and Monero's 95 characters are specific enough alone.
_WALLET_PATTERNS = [
    Pattern("eth_address", r"(?<![0-9A-Za-z])0x[0-9a-fA-F]{40}(?![0-9A-Za-z])", 0.6),
    Pattern("ltc_doge_legacy", r"(?<![0-9A-Za-z])[LMD]" + _B58 + r"{25,33}(?![0-9A-Za-z])", 0.1),
    Pattern("ltc_bech32", r"(?<![0-9A-Za-z])ltc1[02-9ac-hj-np-z]{38,58}(?![0-9A-Za-z])", 0.6),
    Pattern("monero", r"(?<![0-9A-Za-z])[48]" + _B58 + r"{94}(?![0-9A-Za-z])", 0.6),
    Pattern("solana", r"(?<![0-9A-Za-z])" + _B58 + r"{32,44}(?![0-9A-Za-z])", 0.05),
    Pattern("tron", r"(?<![0-9A-Za-z])T" + _B58 + r"{33}(?![0-9A-Za-z])", 0.1),
    Pattern("xrp", r"(?<![0-9A-Za-z])r[1-9A-HJ-NP-Za-km-z]{25,34}(?![0-9A-Za-z])", 0.1),
    # A Bitcoin private key in wallet import format: whoever has it has the coins. Reported when its checksum holds.
    Pattern("bitcoin_wif", r"(?<![0-9A-Za-z])[5KL]" + _B58 + r"{50,51}(?![0-9A-Za-z])", 0.1),
]
_WALLET_CONTEXT = [
    *("wallet", "eth", "ethereum", "address", "crypto", "litecoin", "ltc", "doge", "dogecoin", "monero", "xmr"),
    *("solana", "sol", "phantom", "coin", "coins", "usdt", "usdc", "airdrop", "payout", "deposit", "withdraw"),
]


def _base58check(value: str, version: int | None = None, size: int = 25) -> bool:
    """A base58check payload of `size` bytes (a version byte, then an address's 20-byte hash or a private key, then 4
    checksum bytes), of `version` if given."""
    number = 0
    for c in value:
        number = number * 58 + _BASE58.index(c)
    raw = number.to_bytes(size, "big") if number < 1 << (8 * size) else b""
    valid = len(raw) == size and hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4] == raw[-4:]
    return valid and (version is None or raw[0] == version)


def _bech32(value: str) -> bool:
    hrp, _, data = value.rpartition("1")
    generators = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    checksum = 1
    for v in [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + [_BECH32.index(c) for c in data]:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ v
        for i, g in enumerate(generators):
            checksum ^= g if (top >> i) & 1 else 0
    return checksum in (1, 0x2BC830A3)  # bech32, bech32m


class WalletRecognizer(PatternRecognizer):
    """Ethereum, Litecoin, Dogecoin, Monero, Solana, Tron and XRP addresses (Bitcoin's are Presidio's
    CryptoRecognizer's), and Bitcoin private keys in wallet import format."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="CRYPTO",
            name="WalletAddressRecognizer",
            patterns=_WALLET_PATTERNS,
            context=_WALLET_CONTEXT,
            global_regex_flags=regex.DOTALL | regex.MULTILINE,
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        """True (score 1.0) for a checksum that holds, False for a shape without both letters and digits (a word,
        a number) or without mixed case where base58 has it, None (the pattern's score) otherwise."""
        if pattern_text.startswith("0x") or pattern_text.startswith("ltc1"):
            return True if pattern_text.startswith("ltc1") and _bech32(pattern_text) else None
        if pattern_text[0] == "r" and _base58check(pattern_text.translate(_RIPPLE_TO_BASE58), 0x00):
            return True  # before the mixed-case test: Ripple's alphabet has few digits
        if not all(any(test(c) for c in pattern_text) for test in (str.isupper, str.islower, str.isdigit)):
            return False
        if pattern_text[0] in "LMD" and len(pattern_text) <= 34 and _base58check(pattern_text):
            return True
        if pattern_text[0] == "T" and len(pattern_text) == 34 and _base58check(pattern_text, 0x41):
            return True
        if pattern_text[0] in "5KL" and len(pattern_text) in (51, 52):  # uncompressed or compressed key: 37 or 38 bytes
            return _base58check(pattern_text, 0x80, len(pattern_text) - 14) or None
        return None


def ethereum_recognizer() -> PatternRecognizer:
    """The wallet addresses other than Bitcoin's (the name is kept for the engine's table)."""
    return WalletRecognizer()


# Words small English models tag as PERSON/LOCATION in technical prompts.
_TECH_WORDS = """
    json yaml toml xml html css csv sql nosql graphql grpc http https rest api apis sdk cli url uri
    jenkins k8s kubernetes docker podman helm terraform ansible pulumi vagrant nginx apache caddy
    python java javascript typescript golang go rust ruby rails php perl scala kotlin swift haskell
    node nodejs deno bun react vue angular svelte django flask fastapi litestar spring laravel
    postgres postgresql mysql sqlite redis kafka rabbitmq mongodb mongo cassandra elasticsearch
    grafana prometheus datadog sentry airflow spark hadoop pandas numpy pytorch tensorflow keras
    linux ubuntu debian fedora centos alpine windows macos ios android github gitlab bitbucket git
    jira confluence slack aws gcp azure s3 ec2 lambda cloudfront dynamodb rds iam vpc gke eks aks
    openai chatgpt gpt claude anthropic llama mistral gemini copilot helix presidio spacy ollama
    bash zsh vim emacs vscode regex lint pytest jest webpack vite npm pip poetry cargo maven gradle
    oauth saml jwt ssh tls ssl dns tcp udp cpu gpu ram ssd cuda utc glacier safari chrome firefox
    keycloak okta auth0 vercel netlify heroku cloudflare supabase firebase figma notion
    format convert summarise summarize translate write draft explain fix list compare rewrite
    calculate generate create refactor describe
    fahrenheit celsius kelvin kib mib gib tib kb mb gb tb
"""
TECH_WORDS = frozenset(_TECH_WORDS.split())
_APOSTROPHES = "'\u2019"
_NAME_WORD = regex.compile(r"^\p{Lu}[\p{L}.-]*(?:[" + _APOSTROPHES + r"]\p{L}+)*$")


def plausible_name(text: str) -> bool:
    """A person or place: 1-5 capitalised words, no digits or code punctuation, not a tech word."""
    words = text.split()
    if not words or len(words) > 5:
        return False
    for word in words:
        if word.lower().strip("." + _APOSTROPHES) in TECH_WORDS or not _NAME_WORD.match(word):
            return False
        bare = word.rstrip(".")
        if bare.isupper() and len(bare) > 1:  # acronyms (JSON, AWS, EU); initials like "R." are fine
            return False
    return True


def trim_to_name(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop leading/trailing words that are not capitalised: "c'est Claire" -> "Claire"."""
    words = list(regex.finditer(r"\S+", text[start:end]))
    while words and not words[0].group()[0].isupper():
        words.pop(0)
    while words and not words[-1].group()[0].isupper():
        words.pop()
    if not words:
        return start, start
    return start + words[0].start(), start + words[-1].end()

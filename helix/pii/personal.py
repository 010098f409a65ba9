"""Personal data no Presidio built-in finds, each by a regex and a cheap gate (`scan.GATES`): street
addresses (LOCATION, which small NER models miss and pattern-only mode would not see at all) with the UK
postcode after one, dates of birth, identity, health, tax, bank, employee and vehicle numbers named by the
words before them, and network cards' hardware (MAC) addresses.

They are `LocalRecognizer`s rather than Presidio `PatternRecognizer`s: Presidio's pattern machinery costs
more per text than these regexes do.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Iterator

import regex
from presidio_analyzer import LocalRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from helix.pii import dicom, hl7
from helix.pii.fast_regex import trie_pattern
from helix.pii.id_checks import CHECKED_ID, checked_id_valid, luhn
from helix.pii.prescreen import Needs, literals
from helix.pii.tables import COLUMN_SEPARATORS, split_cells


class _SpanRecognizer(LocalRecognizer):
    """One entity, found as spans by `spans()`, each scored `score`."""

    entity: str
    score: float

    def __init__(self) -> None:
        super().__init__(supported_entities=[self.entity], name=type(self).__name__)

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        return [RecognizerResult(self.entity, start, end, self.score) for start, end in self.spans(text)]

    @abstractmethod
    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """(start, end) of each finding in `text`."""


_STREET_SUFFIXES = (
    "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Parkway|Pkwy"
    "|Circle|Highway|Hwy|Square|Sq|Trail|Crescent|Close|Gardens|Grove|Mews|Row|Walk|Rise|Hill|Park|Green"
)
_FRENCH_STREET_TYPES = "rue|avenue|boulevard|bd|place|chemin|allée|impasse|quai|cours|route"
# A street type after a space: the street gate's first check (one pattern is cheaper than 30 substrings here).
# French types capitalised too ("12 Rue de Rivoli"), and English ones typed in lower case ("1428 elm street").
_FRENCH_STREET_TYPES_CAPITALISED = "Rue|Bd|Allée|Impasse|Quai|Chemin"
_LOWER_STREET_TYPES = "street|st|road|rd|lane|ln|avenue|ave|boulevard|blvd|drive|dr|court|ct|crescent"
# A street type after a space: the street gate's first check, one pattern tried at each space, as a trie (its branches
# share their first letters: "St", "Street", "Sq", "Square"...), several times cheaper than the plain alternation.
STREET_HINT = re.compile(
    r" "
    + trie_pattern(
        {
            *_STREET_SUFFIXES.split("|"),
            *_FRENCH_STREET_TYPES.split("|"),
            *_FRENCH_STREET_TYPES_CAPITALISED.split("|"),
            *_LOWER_STREET_TYPES.split("|"),
            *_STREET_SUFFIXES.upper().split("|"),
        }
    )
    + r"\b"
)
# German, Dutch and Scandinavian street names end in their type (Hauptstraße, Lindenweg, Keizersgracht, Storgatan,
# Sveavägen, Nørregade) and take the house number after them; the gate looks for a number after the last letters of
# those types (a leading space lets `re` skip to candidates, and the digit after it is tested before the lookbehinds:
# ~1 µs less on prose).
_STREET_TYPE_ENDS = (
    r"(?:straat|laan|gracht|plein|kade|singel|dijk|gatan|gata|vägen|väg|gade|vej|veien|gaten|torget|torg"
    r"|katu|tie|kuja|polku|utca)"  # set S: Finnish (Mannerheimintie 102) and Hungarian (Király utca 47)
)
_STREET_TYPE_TAILS = (  # two letters, then three: a lookbehind has one width
    ("ße", "se", r"r\.", "eg", "ee", "tz"),
    (
        *("aat", "aan", "cht", "ein", "ade", "gel", "ijk", "tan", "ata", "gen", "väg", "vej", "ien", "ten", "get"),
        *("org", "atu", "tie", "uja", "lku", "tca"),
    ),
)
GERMAN_STREET_HINT = re.compile(
    r" (?=\d)(?:" + "|".join(f"(?<=(?:{'|'.join(tails)}) )" for tails in _STREET_TYPE_TAILS) + ")"
)
# The same without lookbehinds, which Hyperscan's prescreen would drop (and then find every space).
GERMAN_STREET_NEEDS = Needs(text=("(?:" + "|".join(t for tails in _STREET_TYPE_TAILS for t in tails) + r") \d",))


_STREET_ADDRESS = re.compile(
    r"\b\d{1,6}[A-Za-z]?(?: [NSEW]{1,2}\.?)?(?:(?: (?:[A-Z][a-z]+(?:['\u2019]s)?|\d{1,3}(?:st|nd|rd|th))){1,4} (?:"
    + _STREET_SUFFIXES
    # the same in capitals, as a shipping label prints it ("6684 BIRCHWOOD LANE")
    + r")|(?: (?:[A-Z]{2,}|\d{1,3}(?:ST|ND|RD|TH))){1,4} (?:"
    + _STREET_SUFFIXES.upper()
    + r"))\b\.?(?: (?:NE|NW|SE|SW|N|S|E|W)\b)?"
)


# "12 rue de la République", "5 bis, avenue Foch"; "Hauptstraße 42", "Karl-Marx-Straße 5a", "Berliner Str. 12".
_FRENCH_STREET = regex.compile(
    r"\b\d{1,4}(?: ?(?:bis|ter))?,? (?:"
    + _FRENCH_STREET_TYPES
    + "|"
    + _FRENCH_STREET_TYPES_CAPITALISED
    + r")(?: (?:de la|de l'|du|des|de|d'))? ?"
    r"\p{Lu}[\p{L}'-]+(?: \p{Lu}[\p{L}'-]+){0,3}"
)
_GERMAN_STREET = regex.compile(
    r"\b\p{Lu}\p{Ll}*(?:-\p{Lu}\p{Ll}*)*[ -]?(?i:stra(?:ß|ss)e|str\.|weg|allee|platz|gasse|"
    + _STREET_TYPE_ENDS
    + r") \d{1,4}[a-z]?\b"
)


# An English address typed in lower case: a house number of two or more digits, one or two words and a street type,
# then what ends an address's first line (a comma, the line's end, a flat): "1428 elm street, springwood" ("256 gig
# hard drive" has no street type; "a 2 way street" no such number); or a type that names nothing but a street before
# the sentence's end or a closing quote ("... at 1428 elm street."); or after the words that place something at an
# address ("parks in front of 62 hawthorne ave every night", "threw it over the fence at 27 maple court'"), where a
# court or a drive must end the sentence too ("in 12 hard drive bays", "a 256 gig hard drive.").
_STREET_ONLY_TYPES = "street|st|road|rd|lane|ln|avenue|ave|boulevard|blvd|crescent"
# A compass point may lead the street's name ("4521 e mockingbird ln #210").
_LOWER_STREET_START = r"\d{2,5}[a-z]? (?:[nsew]\.? |(?:north|south|east|west) )?(?:[a-z]{3,} ){1,2}"
_PLACED = "|".join(rf"(?<=\b{word} )" for word in ("at", "of", "on", "near", "from", "to"))
_LOWER_STREET = re.compile(
    rf"(?<![\w.,-]){_LOWER_STREET_START}(?:(?:{_LOWER_STREET_TYPES})(?=,|[ \t]*$|[ \t]+(?:apt|unit|suite|#))"
    rf"|(?:{_STREET_ONLY_TYPES})(?=[.;!?'\")]))"
    rf"|(?:{_PLACED})\d{{1,5}}[a-z]? (?:[a-z]{{3,}} ){{1,2}}"
    rf"(?:(?:{_STREET_ONLY_TYPES})\b|(?:court|ct|drive|dr)(?=[,.;!?'\")]|[ \t]*$))",
    re.MULTILINE,
)
# A post-office box: "P.O. Box 1234", "PO BOX 77", "po box 123", "Po Box 7712", "Postfach 10 12 34", "Postbus 1234",
# "Apartado 123", "Caixa Postal 55" (the gate looks for them in `FOREIGN_STREET_HINT`, whose first letters they share).
_PO_BOX = re.compile(
    r"\b(?:P\.? ?O\.? ?B(?:ox|OX)|[Pp]\.?[Oo]\.? [Bb]ox|Post Office Box|Postfach|Postbus|Apartado(?: de [Cc]orreos)?"
    r"|Casilla(?: de [Cc]orreo)?|Caixa Postal)\.? \d{1,6}(?: \d\d){0,2}\b"
)


# A street with no type in its name, its house number, then a postcode and a town: "Damrak 1, 1012 LG Amsterdam",
# "Rynek Główny 12, 31-042 Kraków", "Storgatan 4, 411 19 Göteborg" (Dutch, German/French/Italian/Spanish, Polish,
# Swedish and Portuguese postcodes; four digits alone only with the Dutch letters). Looked for only after
# `POSTCODE_HINT`.
_POSTCODE = r"(?:\d{4} ?[A-Z]{2}|\d{5}|\d\d-\d{3}|\d{3} \d\d|\d{4}-\d{3})"
POSTCODE_HINT = re.compile(r", (?<=\d, |[a-zA-Z], |\., )" + _POSTCODE + r" [^\W\d_]")
_PARTICLES = "de|la|del|van|der|den|von|di|da|dos|do|du|des|le|am|an|op|aan|het|i|y|e"
_STREET_BEFORE_POSTCODE = regex.compile(
    r"(?<![\p{L}\d.-])(\p{Lu}[\p{L}'.-]+(?: (?:\p{Lu}[\p{L}'.-]*|" + _PARTICLES + r")){0,3} \d{1,4}[a-zA-Z]?"
    r"(?:[-/]\d{1,4}[a-zA-Z]?)?), " + _POSTCODE + r" \p{Lu}"
)
# A house number and a street with no type in its name, then a town and a UK postcode or an Irish Eircode on the same
# line: "14 Harbour View, Cobh, Co. Cork P24 X2F6", "3 The Paddocks, Ely CB7 4AB" (the postcode then follows as
# `_POSTCODE_AFTER`'s).
_UK_IE_POSTCODE = r"(?:[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}|(?:[AC-FHKNPRTV-Y]\d\d|D6W) [AC-FHKNPRTV-Y\d]{4})"
_UK_IE_POSTCODE_RE = re.compile(r"\b" + _UK_IE_POSTCODE + r"\b")
_CAPITAL_DIGIT = re.compile(r"[A-Z][0-9]")


def uk_ie_postcode_hint(text: str) -> bool:
    """Whether the text holds a UK postcode or an Eircode; a capital before a digit is looked for first (a sixth of
    the postcode's own search time)."""
    return _CAPITAL_DIGIT.search(text) is not None and _UK_IE_POSTCODE_RE.search(text) is not None


UK_IE_POSTCODE_NEEDS = Needs(text=(_CAPITAL_DIGIT.pattern,))


_UNTYPED_STREET_BEFORE_UK_POSTCODE = regex.compile(
    r"(?<![\p{L}\d.,-])(\d{1,4}[a-zA-Z]? \p{Lu}[\p{L}'-]+(?: \p{Lu}[\p{L}'-]+){0,2}), (?=[^\n]{0,40}?\b"
    + _UK_IE_POSTCODE
    + r"\b)"
)
# A Japanese address: (the prefecture,) the city or ward, the district, and its block numbers
# ("東京都渋谷区神南1-19-11", "大阪市北区梅田3丁目1番3号").
_JAPANESE_ADDRESS = regex.compile(
    r"(?:[\p{Han}\p{Katakana}ー]{1,6}?[都道府県])?[\p{Han}\p{Katakana}ー]{1,8}?[市区町村郡]"
    r"[\p{Han}\p{Katakana}\p{Hiragana}ー]{0,8}?\d{1,4}(?:丁目|[-−－])\d{1,4}(?:(?:番地?|[-−－])\d{1,4}号?)?"  # noqa: RUF001
)
# The same in romaji, the order reversed: the block numbers, the district's capitalised words, then the city's or ward's
# "-shi", "-ku", "-chō"... ("2-14-7 Kichijoji Honcho, Musashino-shi"): the hint is the suffix, looked for first.
ROMAJI_ADDRESS_HINT = re.compile(r"[a-z]-(?:shi|ku|ch[oō]|machi|mura|gun)\b")
_ROMAJI_ADDRESS = re.compile(
    r"\b\d{1,2}-\d{1,3}(?:-\d{1,3})? [A-Z][a-zō]+(?: [A-Z][a-zō]+){0,2}"
    r"(?=, [A-Z][a-zō]+-(?:shi|ku|ch[oō]|machi|mura|gun)\b)"
)


# A Chinese address: a road and its number ("九龍彌敦道132號", "中山路100号"), after the word for an address
# (住址, 地址) if any.
_JAPANESE_POSTCODE = re.compile(r"〒[ \u3000]?\d{3}-?\d{4}(?!\d)")
# set Z: the number may stand between spaces ("和平東路二段 96 巷 7 號", "科技园南路 18 号")
# (not a channel's, a track's, a pipe's, a line's or a phase's number: 通道, 赛道, 管道, 线路, 阶段)
_CHINESE_ADDRESS = regex.compile(
    r"(?:住址|地址)?(\p{Han}{1,12}?(?:(?<![线航])路|街|巷|弄|(?<![通赛管跑频轨航渠隧])道|(?<=[路街]\p{Han}?)段)"
    r"[ \u3000]?\d{1,5}[ \u3000]?[號号巷弄])"
)


_CJK_ADDRESS_CHARACTERS = ("区", "市", "町", "村", "郡", "號", "号")


def cjk_address_hint(text: str) -> bool:
    """Whether `text` may hold a Japanese or Chinese address: a substring test for each of the characters that end
    a city, ward, town or village, or a Chinese house number, which a text of Latin letters answers at once."""
    return not text.isascii() and any(character in text for character in _CJK_ADDRESS_CHARACTERS)


CJK_ADDRESS_NEEDS = Needs(text=(literals(*_CJK_ADDRESS_CHARACTERS),))


# German streets named by a preposition and a noun, the number after them ("Am Markt 3", "An der Alster 12", "Unter den
# Linden 77"), and Spanish, Italian and Portuguese ones, the type first ("Calle de Alcalá 48", "Via Roma 12",
# "Rua Augusta 100"), and Polish ones after "ul."/"pl." ("ul. Długa 17/4", a flat after "/"). The gate
# (`FOREIGN_STREET_HINT`) is the pattern itself: its first letters are few in prose.
_FOREIGN_STREET_PATTERN = (
    r"(?:(?:Am|Auf dem|Auf der|An der|An den|Zum|Zur|Unter den|Hinter der|Hinter dem) \p{Lu}[\p{L}-]+(?:straße)?"
    r"|(?:Calle|C/|Avenida|Avda\.|Av\.|Paseo|Plaza|Carrer|Via|Viale|Corso|Piazza|Piazzale|Rua|ul\.|pl\."
    r"|Str\.|Strada|Bulevardul|Calea|Aleea|Șoseaua"
    r"|Rue|Chaussée|Avenue|Boulevard|vul\.)"  # set S: Belgium's number after ("Rue de la Loi 42"), Ukraine's
    r"(?: (?:de la|de las|de los|del|de|di|della|delle|dei|degli|do|da|dos|das|d'))?"
    r" ?\p{Lu}[\p{L}'-]+(?: \p{Lu}[\p{L}'-]+){0,3}),? (?:nr\. ?|n[º°.] ?)?\d{1,4}[a-z]?(?:/\d{1,4}[a-z]?)?\b"
)
_FOREIGN_STREET = regex.compile(r"\b" + _FOREIGN_STREET_PATTERN)
# set S: Turkish streets, the type after the name and the number after "No:" ("Moda Caddesi No: 112 D: 5", "Atatürk
# Bulvarı No: 148 Daire: 9"), a flat's number after "D:" or "Daire:"  # noqa: RUF003
_TURKISH_STREET_TYPES = ("Caddesi", "Cad.", "Sokak", "Sokağı", "Sok.", "Sk.", "Bulvarı", "Blv.")  # noqa: RUF001


def turkish_street_hint(text: str) -> bool:
    return "No" in text and any(kind in text for kind in _TURKISH_STREET_TYPES)


TURKISH_STREET_NEEDS = Needs(text=(literals(*_TURKISH_STREET_TYPES),))


_TURKISH_STREET = regex.compile(
    r"\b\p{Lu}[\p{L}.'-]+(?: \p{Lu}[\p{L}.'-]+){0,3} (?:Caddesi|Cad\.|Sokak|Sokağı|Sok\.|Sk\.|Bulvarı|Blv\.)"  # noqa: RUF001
    r",? No ?[:.]? ?\d{1,4}(?:/\d{1,4})?[A-Z]?(?:,? (?:D|Daire|Kat) ?[:.]? ?\d{1,3})?"
)
_FOREIGN_STREET_START = (
    r"(?:A[mnu][ f]|Zu[mr] |Unter d|Hinter d|Calle |C/|Avenida |Avda\. |Av\. |Paseo |Plaza |Carrer |Vi(?:a|ale) "
    r"|Corso |Piazza|Rua |ul\. |pl\. |Str\. |Strada |Bulevardul |Calea |Aleea |Șoseaua "
    r"|Rue |Chaussée |Avenue |Boulevard |vul\. "
    # post-office boxes, their last letter left to the part after (one pattern: its first letters are the same)
    r"|P\.? ?O\.? ?B[oO]|[Pp]\.?[Oo]\.? [Bb]o|Post Office Bo|Postfac|Postbu|Apartad|Casill|Caixa Posta)"
)
FOREIGN_STREET_HINT = re.compile(_FOREIGN_STREET_START + r"[^\n]{1,60}? \d")
FOREIGN_STREET_NEEDS = Needs(text=(_FOREIGN_STREET_START,))  # its start: the rest's bounded repeat compiles slowly


# An address's first line as a key's value in code, data or config ("street": "Kurfürstendamm 21", address_line1:
# 'Flat 3, 27 Marlborough Road'): a word of three letters or more, a number and a space in it, none of ":/@" (a
# listen address, a URL). Looked for after `address_key_hint`, and matched only where `_ADDRESS_KEY_START` finds a key
# and its ":" or "=" in the lower-cased text: searched for case-insensitively, the whole pattern took ~50 us over 2 KB
# of code (the hints are in "address", "registration", "administrator").
# Not a memory address (a debugger's "address: 0x7ffd1000"), whose hex digits hold three letters and a space taken
# from before it.
_ADDRESS_VALUE = r"""(?![ \t]|0x[0-9a-fA-F])(?=[^"'\n:/@]*\d)(?=[^"'\n:/@]*\p{L}{3})[^"'\n:/@]*? [^"'\n:/@]*?"""
_ADDRESS_KEY = regex.compile(
    r"(?i)(?<![\w-])(?:street(?:[_ ]?address)?|address(?:[_ ]?line)?[_ ]?1?|addr1?|line1|straße|strasse)"
    r"""["']?[ \t]*[:=][ \t]*(?:(?P<q>["'])(?P<address>"""
    + _ADDRESS_VALUE
    + r""")(?P=q)|(?P<address>"""
    + _ADDRESS_VALUE
    + r""")[ \t]*,?[ \t]*$)""",
    regex.MULTILINE,
)


# An address after its label in a form, in the languages prompts come in (set S: Adres, Adresse, Osoite, Lakcím,
# Indirizzo, Dirección, Endereço, Morada, Адрес, Διεύθυνση, 주소, 住所, 地址, כתובת, ที่อยู่, العنوان...): the rest of its
# line, when it has a digit and letters ("Adresse IP: 10.0.0.1" has no letters; "Adresse e-mail :" no label then).
# English "address" is left to the street patterns: code names memory and IP addresses so.
_ADDRESS_LABEL_WORDS = (
    *("adres", "adresse", "adressen", "adresa", "adresou", "adresim", "adresi", "adress", "osoite", "osoitteeni"),
    *("lakcím", "lakcim", "indirizzo", "dirección", "direccion", "domicilio", "endereço", "endereco", "morada"),
    *("anschrift", "địa chỉ", "alamat", "anwani", "tirahan", "адрес", "адреса", "адресою", "διεύθυνση"),
)
_ADDRESS_LABEL_SCRIPTS = ("주소", "住所", "地址", "住址", "כתובת", "ที่อยู่", "العنوان")  # no word boundaries there
_LABELLED_ADDRESS = regex.compile(
    r"(?i:(?<![\w-])(?:" + "|".join(_ADDRESS_LABEL_WORDS) + r")\b|" + "|".join(_ADDRESS_LABEL_SCRIPTS) + ")"
    r"[ \t]*(?:[:\uff1a]|는|은|是|は)[ \t]*"
    r"(?P<address>(?=[^\n]*\d)(?=[^\n]*\p{L}\p{L})(?!https?:)[^\n]{4,160}?)[ \t.\u3002]*$",
    regex.MULTILINE,
)
# Stems of the labels in Latin script, looked for as substrings (a trie of every label took ~25 us over 2 KB), and
# the other scripts' labels only in a text that is not ASCII.
_ADDRESS_LABEL_STEMS = (
    *("adres", "osoit", "lakc", "indirizzo", "direcci", "domicilio", "endere", "morada", "anschrift"),
    *("alamat", "anwani", "tirahan"),
)
_ADDRESS_LABEL_OTHER = ("địa chỉ", "адрес", "διεύθυνση", *_ADDRESS_LABEL_SCRIPTS)


def address_label_hint(text: str, lowered: str) -> bool:
    """Whether the lower-cased text may hold an address's label (`_LABELLED_ADDRESS`): an ASCII one needs its colon."""
    if text.isascii():
        return ":" in text and any(stem in lowered for stem in _ADDRESS_LABEL_STEMS)
    return any(stem in lowered for stem in _ADDRESS_LABEL_STEMS) or any(
        label in lowered for label in _ADDRESS_LABEL_OTHER
    )


ADDRESS_LABEL_NEEDS = Needs(lowered=(literals(*_ADDRESS_LABEL_STEMS, *_ADDRESS_LABEL_OTHER),))


_ADDRESS_KEY_START = re.compile(r"(?:street|addr|line1|stra(?:ß|ss)e)[\w ]{0,12}[\"']?[ \t]*[:=]")


def _address_keys(text: str, lowered: str) -> Iterator[regex.Match[str]]:
    if len(lowered) != len(text):  # lower-casing changed the offsets: the whole text is searched
        yield from _ADDRESS_KEY.finditer(text)
        return
    for key in _ADDRESS_KEY_START.finditer(lowered):
        found = _ADDRESS_KEY.match(text, key.start())
        if found is not None:
            yield found


def address_key_hint(lowered: str) -> bool:
    """Whether the lower-cased text may hold `_ADDRESS_KEY`'s keys ("addr" in "address", "stra" in "straße"): chained
    substring tests, ~5x cheaper than a loop over them."""
    return "addr" in lowered or "street" in lowered or "line1" in lowered or "stra" in lowered


ADDRESS_KEY_NEEDS = Needs(lowered=(literals("addr", "street", "line1", "stra"),))


# A postcode after its label, on its own ("Postcode on licence: LS6 2QT", "CEP 05422-010", "PLZ: 10115", "zip code
# 94107"): "zip" alone only before a colon ("zip archive of 10000 files" stays).
_POSTCODE_LABEL = (
    r"post[ _]?code|postal[ _]?code|postal|zip[ _]?code|cep|plz|code postal|c[óo]digo postal|postnummer|postinumero"
)
# Each led by a literal, which `re` looks for fast (~1.5 us over 2 KB; the four as one alternation took ~95 us).
_POSTCODE_LABEL_HINTS = tuple(
    re.compile(p)
    for p in (
        *(r"post(?: ?code|al|nummer|inumero)", r"zip(?: ?code|[\"']?[ \t]*:)"),  # a JSON key's "zip" too
        *(r"billing[ _]?zip", r"cep\b", r"plz\b"),
    )
)


def postcode_label_hint(lowered: str) -> bool:
    return any(hint.search(lowered) is not None for hint in _POSTCODE_LABEL_HINTS)


POSTCODE_LABEL_NEEDS = Needs(lowered=tuple(hint.pattern for hint in _POSTCODE_LABEL_HINTS))


# set AG: a US ZIP under a JSON key ("zip": "43201") or after "billing zip": five digits (and four) only, where a bare
# "zip" may be an archive's size ("zip": 1024)
_ZIP_KEY = regex.compile(
    r"(?i:\bzip[\"']?[ \t]*:|\bbilling[ _]?zip\b[\"']?[ \t]*:?)[ \t]*[\"']?(\d{5}(?:-\d{4})?)(?![\w.-])"
)

# Also a key's ("home_postcode = BT9 6AD", '"postal_code": "WC1N 1AP"').
_LABELLED_POSTCODE = regex.compile(
    r"(?i:(?:(?<![^\W_])(?:"
    + _POSTCODE_LABEL
    + r")\b(?:[^\n\d:=]{0,20}[:=])?|\bzip[ \t]*:))[ \t]*[\"']?("
    + _UK_IE_POSTCODE
    + r"|\d{5}-\d{3}|\d{5}(?:-\d{4})?|\d{4} ?[A-Z]{2}|[A-Z]\d[A-Z] ?\d[A-Z]\d|\d{4})\b"
)


class StreetAddressRecognizer(_SpanRecognizer):
    """A house number, one to four capitalised street words (or an ordinal: 5th) and a street type
    ("1600 Pennsylvania Ave NW", "221B Baker Street"), and French and German street addresses: the part of a
    postal address small NER models miss, found without one. Capitals required: "version 2 of the drive" is not
    an address."""

    entity, score = "LOCATION", 0.9  # above the model's 0.85: a name it tags inside a street keeps the street whole

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        for start, end in street_addresses(text):
            yield start, end
            postcode = _POSTCODE_AFTER.match(text, end)
            if postcode is not None:
                yield postcode.span(1)
        if hl7.present(text):
            yield from hl7.fields(text, hl7.ADDRESS, whole=True)
        if dicom.present(text):
            yield from dicom.fields(text, dicom.ADDRESS)
        yield from (m.span(1) for m in _LABELLED_POSTCODE.finditer(text))
        yield from (m.span(1) for m in _ZIP_KEY.finditer(text))


# A position to four decimals or more (ten metres), when it is someone's: after a key that names it in a device's or
# an app's data ("lat": 52.37231, "longitudeE7": -1152840), or on a line that makes it a home, with hemisphere letters
# (48.13542N 11.56711E ... my front door) or as a pair ("our house is at 52.37231, 4.89412"). A landmark's ("the Eiffel
# Tower is at 48.8584° N, 2.2945° E") and a bare pair of decimals (data) stay. The gate: a decimal to four places, or
# a key in E7 (degrees times ten million, an integer).
_FOUR_DECIMALS = re.compile(r"\.\d{4}")  # led by a literal: ~1.5 us over 2 KB, where "\d\.\d{4}" takes ~20
_E7_KEY = re.compile(r"e7[\"']?[ \t]*[:=]")


def geo_hint(text: str, lowered: str) -> bool:
    return _FOUR_DECIMALS.search(text) is not None or _E7_KEY.search(lowered) is not None or "gps" in lowered


GEO_NEEDS = Needs(text=(_FOUR_DECIMALS.pattern,), lowered=(_E7_KEY.pattern, "gps"))


_DEGREES = r"-?\d{1,3}\.\d{4,}"
# set S: also in prose, a space for the colon ("Home coordinates: lat 40.67852, lng -73.97021"), then on a home's line
_GEO_KEYED = re.compile(
    r"(?i)(?<![a-z])(?:lat(?:itude)?|lng|lon(?:gitude)?)(?:(?:_?e7)?[\"']?[ \t]*[:=][ \t]*[\"']?(?P<value>"
    + _DEGREES
    + r"|-?\d{6,10})(?![\d.])|[ \t]+(?P<spaced>"
    + _DEGREES
    + r")(?!\d|\.\d))"
)
_GEO_HEMISPHERES = re.compile(
    r"(?<![\w.])(?:-?\d{1,2}\.\d{4,}[ \t]?°?[ \t]?[NS][,;]?[ \t]*-?\d{1,3}\.\d{4,}[ \t]?°?[ \t]?[EW]"
    r"|[NS][ \t]?\d{1,2}\.\d{4,}°?[,;]?[ \t]*[EW][ \t]?\d{1,3}\.\d{4,}°?)(?![\w.])"
)
_GEO_PAIR = re.compile(
    r"(?<![\w.-])(?P<lat>" + _DEGREES + r")(?P<sep>,[ \t]?|[ \t]+)(?P<lng>" + _DEGREES + r")(?!\d|\.\d)"
)
# set AC: a device's data names a position as one quoted key over a list ("home_gps": [48.150598, 11.580376]); not
# a scene's ("camera_location") nor a landmark's in prose
_GEO_LIST = re.compile(
    r"(?i)[\"'](?:(?:home|last|current|user|device)_?)?(?:gps|coords?|coordinates|lat_?lng|lat_?lon|location)[\"']"
    r"[ \t]*[:=][ \t]*\[[ \t]*(?P<lat>" + _DEGREES + r")[ \t]*,[ \t]*(?P<lng>" + _DEGREES + r")[ \t]*\]"
)
# set AE, AF: a photo's position as exiftool prints it ("GPS Latitude : 51 deg 30' 26.46\" N"): where it was taken
_DMS = r"\d{1,3} deg \d{1,2}' \d{1,2}(?:\.\d+)?\" ?[NSEW]"
_GEO_EXIF = re.compile(
    r"(?i:\bgps ?(?:latitude|longitude|position|coordinates)[ \t]*:[ \t]*)(" + _DMS + "(?:, " + _DMS + ")?)"
)
# "house" in lower case: a landmark's name has one ("Sydney Opera House coordinates: -33.8568, 151.2153."); a home in
# other languages too, as they write it (set AA: "La ubicación de mi casa ... lat 19.41283, lng -99.16542"; not "Casa
# Botín", a restaurant)
_HOME_OWN = (
    r"(?i:home|flat|apartment|front door|live|lives|living)|house"
    r"|casa|hogar|apartamento|appartamento|maison|chez moi|domicil\w*|Zuhause|zu Hause|Wohnung"
    r"|(?i:(?:last|gps|gnss|location|position) fix)"  # set AC: a phone's position in its log ("I/Geo: last fix ...")
)
_HOME_WORDS = re.compile(r"\b(?:(?i:my|our|parents'?|mum'?s|mom'?s|dad'?s)|" + _HOME_OWN + r")\b")
_HOME_OWN_WORDS = re.compile(r"\b(?:" + _HOME_OWN + r")\b")


class GeoCoordinatesRecognizer(_SpanRecognizer):
    """A latitude and longitude precise enough to find a door (set R: a home's, planted four ways)."""

    entity, score = "LOCATION", 0.85

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        for keyed in _GEO_KEYED.finditer(text):
            if keyed.group("value") is not None:
                yield keyed.span("value")
            elif _on_a_home_line(text, *keyed.span()):
                yield keyed.span("spaced")
        for found in _GEO_HEMISPHERES.finditer(text):
            if _on_a_home_line(text, *found.span()):
                yield found.span()
        for pair in _GEO_PAIR.finditer(text):
            # a pair apart by spaces alone is as often data ("my model's predictions: 3.14159 2.71828"): a home's
            # own words must name it, not "my"
            strong = not pair.group("sep").startswith(",")
            if _a_position(pair) and _on_a_home_line(text, *pair.span(), strong=strong):
                yield pair.span()
        for listed in _GEO_LIST.finditer(text):
            if _a_position(listed):
                yield listed.start("lat"), listed.end("lng")
        yield from (exif.span(1) for exif in _GEO_EXIF.finditer(text))


def _a_position(found: re.Match[str]) -> bool:
    lat, lng = abs(float(found.group("lat"))), abs(float(found.group("lng")))
    return lat <= 90 and lng <= 180 and max(lat, lng) >= 1


def _on_a_home_line(text: str, start: int, end: int, strong: bool = False) -> bool:
    """A home's word on the position's line (`strong`: a home's own word, not "my"), or a home's own word on the line
    that introduces the lines it is in ("...our nurses' home locations:" over "Jane: -1.27681, 36.83266")."""
    line_start = max(text.rfind("\n", 0, start) + 1, start - 100)
    line_end = text.find("\n", end)
    line_end = min(len(text) if line_end < 0 else line_end, end + 100)
    if (_HOME_OWN_WORDS if strong else _HOME_WORDS).search(text, line_start, line_end) is not None:
        return True
    heading = _heading_before(text, text.rfind("\n", 0, start) + 1)
    return heading is not None and _HOME_OWN_WORDS.search(text, *heading) is not None


_LIST_LINES_READ = 20  # a heading introduces the lines of its list, not every line of a long text after it


def _heading_before(text: str, line_start: int) -> tuple[int, int] | None:
    """The span of the nearest line before `line_start` that ends in ":" (a list's heading), within the lines of one
    block (no empty line between), else None."""
    end = line_start - 1
    for _ in range(_LIST_LINES_READ):
        if end <= 0:
            return None
        start = text.rfind("\n", 0, end) + 1
        line = text[start:end].rstrip()
        if not line:
            return None
        if line.endswith(":"):
            return start, start + len(line)
        end = start - 1
    return None


def street_addresses(text: str) -> Iterator[tuple[int, int]]:
    """The spans of the street addresses `StreetAddressRecognizer` finds, without the postcodes after them."""
    yield from (m.span() for m in _STREET_ADDRESS.finditer(text))
    yield from (m.span() for m in _LOWER_STREET.finditer(text))
    yield from (m.span() for m in _PO_BOX.finditer(text))
    if US_TOWN_HINT.search(text) is not None:
        yield from (m.span() for m in _US_TOWN.finditer(text))
    if POSTCODE_HINT.search(text) is not None:
        yield from (m.span(1) for m in _STREET_BEFORE_POSTCODE.finditer(text))
    if uk_ie_postcode_hint(text):
        yield from (m.span(1) for m in _UNTYPED_STREET_BEFORE_UK_POSTCODE.finditer(text))
    if ROMAJI_ADDRESS_HINT.search(text) is not None:
        yield from (m.span() for m in _ROMAJI_ADDRESS.finditer(text))
    if cjk_address_hint(text):
        yield from (m.span() for m in _JAPANESE_ADDRESS.finditer(text))
        yield from (m.span(1) for m in _CHINESE_ADDRESS.finditer(text))
    lowered = text.lower()
    if address_key_hint(lowered):
        yield from (m.span("address") for m in _address_keys(text, lowered))
    if address_label_hint(text, lowered):
        yield from (m.span("address") for m in _LABELLED_ADDRESS.finditer(text))
    if "〒" in text:  # a Japanese postcode after its mark, wherever it stands
        yield from (m.span() for m in _JAPANESE_POSTCODE.finditer(text))
    yield from (m.span() for m in _FRENCH_STREET.finditer(text))
    if GERMAN_STREET_HINT.search(text) is not None:  # its number after a type's last letters: ~6 us, the pattern ~60
        yield from (m.span() for m in _GERMAN_STREET.finditer(text))
    if FOREIGN_STREET_HINT.search(text) is not None:
        for street in _FOREIGN_STREET.finditer(text):
            if not (street.group().startswith("Via") and "," in street.group()):  # "Via Slack, 3 people"
                yield street.span()
    if turkish_street_hint(text):
        yield from (m.span() for m in _TURKISH_STREET.finditer(text))


# A US address's last line, its town, a comma, its state and ZIP code ("Brooklyn, NY 11215", on the line after the
# street or in a sentence): the state's code before five digits is no price or year.
_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA"
    "|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC|PR"
)
US_TOWN_HINT = re.compile(r"\b[A-Z]{2} \d{5}\b")
_US_TOWN = regex.compile(
    rf"\b\p{{Lu}}[\p{{L}}.'-]+(?: \p{{Lu}}[\p{{L}}.'-]+){{0,3}}, (?:{_US_STATES}) \d{{5}}(?:-\d{{4}})?\b"
)


# A UK postcode shortly after a street address, on its line or the next ("12 Baker Street, London NW1 6XE"), an Irish
# Eircode ("Co. Dublin D13 X2F4"), a Brazilian CEP ("Rio de Janeiro - RJ, 22240-003") or a postcode of continental
# Europe, Canada, Japan or the US ("28005 Madrid", "80-827 Gdańsk", "113 50 Stockholm", "3732 HJ De Bilt", "8001
# Zürich", "H2Y 2A3", "〒120-3908", "94107-1234"): alone, such text is too often something else to redact, but after
# an address it finishes it.
# Four digits, or three and two, only before a town's name: after an address, "since 2019" is a year.
_POSTCODE_AFTER = regex.compile(
    r"(?:[ \t,]*\r?\n)?[^\n]{0,40}?(?:\b|〒)("
    + _UK_IE_POSTCODE
    + r"|\d{5}-\d{3}|\d{5}(?:-\d{4})?|\d{2}-\d{3}|\d{4} ?[A-Z]{2}(?= \p{Lu})|(?:\d{4}|\d{3} \d{2})(?= \p{Lu})"
    + r"|\d{3}-\d{4}|[A-Z]\d[A-Z] ?\d[A-Z]\d)\b"
)

# Months in English and by the first letters they have in German, French, Spanish, Italian, Portuguese, Dutch and
# Swedish (janvier, März, agosto, ottobre, décembre, maj...).
_MONTH = (
    r"(?:jan|feb|f[eé]v|m[aä]r|apr|avr|abr|may|maj|mai|mag|mei|jun|jui|giu|jul|lug|aug|ago|ao[uû]|sep|set"
    r"|oct|okt|out|ott|nov|dec|d[eé]c|dez|dic|ene|gen)[a-zçûé]*\.?"
)
# The words that make a date someone's birth date, in English, German, French, Spanish, Italian, Dutch, Polish and
# Portuguese, and as field names (date_of_birth, birthDate).
_BIRTH_WORDS = (
    r"(?i)(?:(?<![^\W_])(?:born(?: on)?|birth[ _-]?date|date[ _-]?of[ _-]?birth|d\.?o\.?b\.?|birthday|bday"
    r"|geburtsdatum|geburtstag"
    r"|geboren(?: am)?|geb"
    r"|naissance|n[ée]e? le|nacimiento|nac(?:id[oa]|[íi]|i[óo]) el|nascita"
    r"|nat[oa](?:/[ao])?(?: a \p{Lu}[\p{L}' ]{1,30})? il|geboortedatum"  # "nata a Roma il 12/05/1990"
    r"|geboren op|data urodzenia|urodzon[ya]|nascimento|nascid[oa] em|födelsedatum|född|fødselsdato"
    r"|do[ğg]um tarih\w*"
    # set S: French with both genders ("Né(e) le"), Greek, Russian, Ukrainian, Hungarian, Vietnamese, Filipino,
    # Czech, Indonesian, Swahili, Danish
    r"|n[ée]\(e\) le|ημ(?:\.|ερομηνία) γέννησης|дата рождения|дата народження|születési (?:idő|dátum)"
    r"|ngày sinh|kaarawan|petsa ng kapanganakan|datum narození|tanggal lahir|tarehe ya kuzaliwa|født"
    # set AB: Romanian (Născută la, data nașterii)
    r"|n[ăa]scut[ăa]?(?: la| pe| [îi]n)?|data na[șşs]terii)\b"
    # no word boundary in these (set AB: Greek's abbreviation "γεν.")
    r"|生年月日|出生日期|出生[于於]|생년월일|تاريخ الميلاد|תאריך לידה|วันเกิด|जन्म ?(?:तिथि|दिनांक)|γεν\.)"
)
_DATE = (
    r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"
    r"|\d{4}\. \d{1,2}\. \d{1,2}\.?"  # Hungarian: 1994. 08. 21.
    rf"|{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th|er|º)?\.? (?:of |de )?{_MONTH},? (?:de )?\d{{4}}"  # 9 de noviembre de 1993
    rf"|\d{{1,2}}-{_MONTH}-\d{{4}}"  # 12-Mar-1984 (a record's day-month-year)
    r"|\d\d(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\d\d(?:\d\d)?"  # set Y: an airline's 11JAN86
    r"|\d{4} ?年 ?\d{1,2} ?月 ?\d{1,2} ?日"  # 1988年7月23日 (Japanese, Chinese)
    r"|\d{4} ?년 ?\d{1,2} ?월 ?\d{1,2} ?일"  # 1988년 7월 23일 (Korean)
)
# set W: a date written as one number (a vCard's BDAY:19770911, an ISO basic date), right after the words alone: after
# others ("DOB column changed in PR 20231105") it is some other number.
_COMPACT_DATE = r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
# What may stand between: quotes, colons, a dash or a bar, "is", the format named ("(YYYYMMDD)"), a vCard's type.
_COMPACT_BEFORE = r"(?:[\"' \t:=|\u2013\u2014-]{1,4}|\([a-z]{8}\)|;value=date|is|yyyymmdd){0,6}+"
# The date follows the words on their line (within a few words: "dob, ssn) VALUES ('Ng', '1990-04-17'"), or opens the
# next line, an answer to them: after a chat turn's time and speaker ("date of birth?" / "[10:02] customer: 14th of
# july 1992") or alone ("Date of birth:" / "12/05/1987"), when the words' line ends as a question or a label does.
_DATE_OF_BIRTH = regex.compile(
    # set Z: or a label's colon after an aside ("date of birth (required by carrier for personal gifts): 21/06/1979")
    _BIRTH_WORDS + r"(?:(?:[ \t]*\([^()\n\d]{1,60}\)[ \t]*:[ \t]*|[^\n\d]{0,40}?"
    r"|[^\n\d]{0,40}[?:][ \t]*\n(?:\[[\d:. ]{1,12}\] ?)?(?:[\p{L} ._-]{1,24}: ?)?)"
    rf"(?P<date>{_DATE})(?:\b|(?<=[日일]))|{_COMPACT_BEFORE}(?P<date>{_COMPACT_DATE})\b)"
)
_ANY_DATE = regex.compile(rf"(?i)\b(?:{_DATE})\b")
# set U: Turkish says "born" after the date ("05.03.1978 doğumluyum", "1990'da doğdum").
_DATE_THEN_BORN = regex.compile(rf"(?i)\b(?P<date>{_DATE})(?:['\u2019]?[dt][ae])?\s+do[ğg](?:umlu|du|dum)")


def column_header(words: str) -> regex.Pattern[str]:
    """A table's header line with a cell that `words` name ("name,dob,ward", "id\tphone\tcity"): a header cell,
    no digit after it on its line."""
    return regex.compile(r"(?:^|[,;\t|])[ \"']*" + words + r"[^\n\d]*$", regex.MULTILINE)


def column_rows(text: str, header: regex.Pattern[str]) -> Iterator[tuple[int, int]]:
    """The rows under each table header `header` finds in `text`: from the header's end to a blank line."""
    for column in header.finditer(text):
        line = text[text.rfind("\n", 0, column.start()) + 1 : column.end()]
        if any(separator in line for separator in COLUMN_SEPARATORS):
            rows_end = text.find("\n\n", column.end())
            yield column.end(), len(text) if rows_end < 0 else rows_end


def column_cells(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The cells under the header cell text[start:end] in the rows that follow, up to a blank line or a line without
    the header's separator (prose after the table); a cell may be quoted ("Okonkwo, Chidi")."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    if line_end < 0:
        return []
    header = text[line_start:line_end]
    separators = [c for c in COLUMN_SEPARATORS if c in header]
    if len(separators) != 1:
        return []
    separator = separators[0]
    column = split_cells(header, 0, separator)
    index = next(
        # the cell the header's word is in: the match may take a separator before it and quotes around it
        (i for i, (a, b) in enumerate(column) if a < end - line_start and start - line_start < b),
        None,
    )
    cells = []
    row_start = line_end + 1
    while index is not None and row_start < len(text) and text[row_start] != "\n":
        row_end = text.find("\n", row_start)
        row_end = len(text) if row_end < 0 else row_end
        if separator not in text[row_start:row_end]:
            break
        row = split_cells(text[row_start:row_end], row_start, separator)
        if index < len(row):
            cells.append(row[index])
        row_start = row_end + 1
    return cells


_BIRTH_COLUMN = column_header(_BIRTH_WORDS)


class DateOfBirthRecognizer(_SpanRecognizer):
    """A full date after the words that say it is someone's birth date ("DOB: 1985-03-14", "born on March
    14, 1985"); other dates are not personal and stay (a release date, a deadline)."""

    entity, score = "DATE_OF_BIRTH", 0.8

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        for found in _DATE_OF_BIRTH.finditer(text):
            yield found.span("date")
        for start, end in column_rows(text, _BIRTH_COLUMN):  # every full date in a birth date column's table
            yield from (row.span() for row in _ANY_DATE.finditer(text, start, end))
        if hl7.present(text):
            yield from hl7.fields(text, hl7.BIRTH_DATE)
        if dicom.present(text):
            yield from dicom.fields(text, dicom.BIRTH_DATE)
        if "doğ" in text or "dog" in text:  # `_DATE_THEN_BORN`'s word, not looked for in every dated text
            yield from (found.span("date") for found in _DATE_THEN_BORN.finditer(text))


# Identity, health, tax, bank, employee and vehicle numbers, by the words that name them; the number is the first
# run of upper-case letters and digits after them (spaces and hyphens between groups, one letter and a hyphen
# before: "E-449213"): six characters or more, four digits or more, so a year ("my passport expires in 2030") is
# not one. A passport is also named in other languages (passaporto, pasaporte, passeport, Reisepass, paszport,
# paspoort) and by a field name (passport_no, passportNumber).
_ID_NUMBER_SUFFIX = r"[ _]?(?:id|no|number|#)"
# Short names that are words or acronyms of other things too ("the NPI launch in Q3 2025"): only a number right after
# them, or after "is" ("my NHI is ZAC5361", Swahili's "yangu ni"), is theirs.
# Shorter ones (in the lower-cased text) with the shape of their numbers: a US prescriber's NPI (ten digits) and DEA
# number (two letters, seven digits), Vietnam's CCCD (12 digits) and CMND (9 or 12), New Zealand's NHI (three letters,
# four digits), Pakistan's CNIC (5-7-1 digits), Argentina's CBU (22 digits), Mexico's CLABE (18), Quebec's RAMQ (four
# letters, eight digits).
_SHORT_ID_NAMES = (
    ("npi", r"\d{10}"),
    ("dea", r"[a-z]{2}\d{7}"),
    ("cccd", r"\d{12}"),
    ("cmnd", r"\d{9}(?:\d{3})?"),
    ("nhi", r"[a-z]{3}\d{4}"),
    ("cnic", r"\d{5}-?\d{7}-?\d"),
    ("cbu", r"\d{8} ?\d{14}"),
    ("clabe", r"\d{4} ?\d{4} ?\d{4} ?\d{4} ?\d\d|\d{3} ?\d{3} ?\d{11} ?\d"),
    ("ramq", r"[a-z]{4} ?\d{4} ?\d{4}"),
    # set Z: a vehicle's identification number by its German short name (FIN), a SIM's eUICC id (EID: 32 digits)
    ("fin", r"(?=[0-9]*[a-hj-npr-z])[a-hj-npr-z0-9]{17}"),  # (a timestamp of 17 digits is no VIN)
    ("dič", r"cz\d{10}"),  # a person's (a birth number; a company's has eight digits)
    ("eid", r"89\d{30}"),
    # and a UK student visa's CAS number (14 letters and digits; a chemical's CAS number is digits and hyphens)
    ("cas number", r"(?=[a-z]*\d)(?=\d*[a-z])[a-z0-9]{14}"),
)
# ... and the words that may stand between a name and its number ("NPI No. 1234567890", "CCCD số 0123...").
_NUMBER_WORD = r"(?:(?:is|no\.?|nr\.?|n°|number|số|interbancaria)[ \t:#]{1,3})?"
_NUMBER_RIGHT_AFTER = r"(?=[)\"' \t:=#-]{0,5}(?:(?:is|es|ni|yangu ni|n[or]\.?) ?)?[a-z]{0,4}[ -]?\d)"
_ID_WORD_BRANCHES = (
    *(r"passport\w*", "passaporto", "passaporte", "pasaporte", "passeport", r"reisepass\w*", r"paszport\w*"),
    *(r"paspoort\w*", r"driv(?:er'?s?|ing) ?licen[cs]e", "licen[cs]e (?:no|number|#)", "medicare", "medicaid", "nhs"),
    *("national insurance", "ni (?:no|number)", "nino", "social insurance"),
    # also as a field's name: "aadhaar_no=...", "pan_number", "ssn_full=536228174"
    *(word + f"(?:{_ID_NUMBER_SUFFIX})?" for word in ("aadhaa?r", "pan", "sin")),
    r"ssn(?:_\w+|last\d?|" + _ID_NUMBER_SUFFIX + ")?",  # set AF: also ssnLast9
    # set AF: an OFX statement's account (<ACCTID>), Portugal's social security number (not "UTR": a gene's region too)
    *("acctid", "niss"),
    *("tax ?(?:id|payer id|file number)", "tin", "itin", "ein", "account", "routing (?:no|number|#)"),
    *(word + _ID_NUMBER_SUFFIX for word in ("member", "patient", "employee", "staff", "student", "customer")),
    *(word + _ID_NUMBER_SUFFIX for word in ("policy", "dl")),
    *("mrn", "health ?card", "licen[cs]e plate", "number plate", "registration plate"),
    *("registration (?:no|number)", "vin", "acct", "bsn", "burgerservicenummer", "cpf", "tfn", "pesel"),
    *("steuer-?(?:id|nummer)", "steueridentifikationsnummer", "national id", "identity (?:card|number)", "id card"),
    *("national_id", "cpr", "ppsn?", "nif", "nip", "personnummer", "fødselsnummer", "henkilötunnus", "ahv"),
    *(
        r"sozialversicherungs\w*",
        r"versicherungsnummer",
        r"führerschein\w*",
        r"rijbewijs\w*",
        "permis de conduire",
        "carnet de conducir",
        # set AB: a driving licence in Spanish, Italian and Portuguese by other names (not "patente" alone: a patent's)
        "licencia de conducir",
        "permiso de conducir",
        "patente di guida",
        r"numero (?:di |della )?patente",
        r"carta de condu[çc][ãa]o",
    ),
    *("my number card", "assurance sociale", "mbi", "nik"),
    # round 7: a phone's IMEI, Germany's identity card (Ausweisnummer, Personalausweisnummer), Greece's AMKA, Romania's
    # CNP, Argentina's CUIL/CUIT, a student number in Dutch or German, and "routing" alone before nine digits (an ABA
    # routing number)
    *("imei", r"ausweis\w*", r"personalausweis\w*", "amka", "αμκα", "cnp", "cuil", "cuit", r"matrikel\w*"),
    *(r"studentnummer", r"routing(?=[ \t:#]{1,3}\d{9}\b)"),
    # set AC: Korea's resident registration number by its short name (a JSON key: "rrn"), Malaysia's identity card
    # ("No. KP", MyKad), a Czech insured person's number (a birth number)
    *("rrn", r"no\.? ?kp", "mykad", "rodné číslo", "číslo pojištěnce", "주민등록번호"),
    # set AE: a taxpayer's number as an API names it (taxpayerNumber), Croatia's OIB, Bulgaria's EGN, Estonia's
    # isikukood
    *(r"taxpayer[ _]?(?:number|no)", "oib", "егн", "isikukood"),
    # round 9: Germany's social insurance number by its short names (SV-Nummer, SVNR) and its pension insurer's
    *(r"sv-?n(?:umme)?r", r"rentenversicherungs\w*"),
    # Germany's health insurance number (Versichertennummer) and an account abbreviated in Indian and British bank
    # details ("A/c no. 50100234567891")
    *("versichertennummer", r"versicherten-?nr", "a/c"),
    # round 13: a UK bank's sort code, Poland's identity card (dowód osobisty, "nr dowodu"), Italy's (carta d'identità),
    # Spain's health card and social security affiliation, Germany's health insurance number in one word, a passport
    # in Indonesian and Malay (paspor), Canada's client number (UCI), Mexico's RFC by its name, an account in the
    # Nordic languages and German (konto, kontonummer), and frequent-flyer and loyalty numbers
    *("sort[ _]?code", "bank[ _]sort", r"dow[oó]d\w*", "carta d(?:['\u2019]|i )?identit[àa]", "tarjeta sanitaria"),
    r"afiliaci[oó]n",
    *("seguridad social", r"krankenversicherten\w*", "paspor", "uci", "rfc", r"konto\w*"),
    *(r"frequent[ -]?fl[iy]er", "flying blue", "skymiles", "aadvantage", "mileageplus", r"miles ?(?:&|and) ?more"),
    *(word + _ID_NUMBER_SUFFIX for word in ("membership", "loyalty")),
    # set M: a Polish account (numer rachunku) and a German passport's short name (Passnummer, Pass-Nr.)
    *(r"rachun\w*", r"pass-?n(?:umme)?r"),
    # set N: a plate by its name alone and in German, French, Spanish and Dutch, a driver's licence as "DL" (CA DL
    # V3450508), Germany's tax id by its official name, India's provident fund number (UAN)
    # (a company "immatriculée au RCS" is not a car)
    *("plate", "kennzeichen", r"immatricul\w*(?![ \t]+(?:au|sous|à)\b)", r"matr[ií]cula", "kenteken", "dl"),
    *("identifikationsnummer", "uan"),
    # set Q: Germany's tax id as "IdNr", a customer number in German, a vehicle's "registration" right before a number
    *(r"id-?nr", r"kunden-?n(?:umme)?r", r"registration(?=[ \t:#]{1,3}[a-z0-9-]*\d)"),
    # set R: Nigeria's NIN and BVN, "ID No." (Kenya's identity card and others'), PhilHealth, Spain's social security
    # number (NSS), a national id as one word ("nationalId"), Portugal's Cartão de Cidadão, Australia's BSB, an
    # employee number as "emp #", an account as "Acc", and a policy's or a licence's number right after the word
    # ("CA license D4829173")
    *("nin", "bvn", "id (?:no|nr)", "philhealth", "nss", "nationalid", r"cart[ãa]o de cidad[ãa]o", "bsb", "acc"),
    # set AH: a health card in French (Ontario's, "carte santé"), Saudi Arabia's residence permit (iqama, رقم
    # الإقامة), a prescription's number at the pharmacy
    # (a reviewer: "Iqama times" are the call to prayer's, "rx no buffer" a network card's)
    *(r"carte (?:de )?sant[ée]", r"iqama(?=[ \t:#]{1,3}\d)", "الإقامة", r"rx ?(?:number|#|no(?=\.))"),
    "prescription" + _ID_NUMBER_SUFFIX,
    # set AG: the Philippines' social security number (SSS), a hospital's number for its patient, an insured's id on
    # a claim form
    *("sss", r"hospital ?(?:no|number|#)", r"insured['\u2019]?s? id(?: (?:no|number))?"),
    *("emp" + _ID_NUMBER_SUFFIX, r"policy(?=[ \t:#]{1,3}[a-z0-9-]*\d)", r"licen[cs]e(?=[ \t:#]{1,3}[a-z]?\d)"),
    # set S: a passport, Russia's pension (SNILS) and tax (INN) numbers, Ukraine's tax number (RNOKPP, IPN), Greece's
    # tax number (AFM), Hungary's health insurance number (TAJ), Kenya's identity card in Swahili, an insurer's
    # subscriber id, an account or routing number as one word (GraphQL's accountNumber)
    *("паспорт", "снилс", "инн", "рнокпп", "іпн", "αφμ", r"taj(?: sz[áa]m)?", "kitambulisho"),
    *(
        "subscriber" + _ID_NUMBER_SUFFIX,
        r"account(?:number|num|no)",
        r"routing(?:number|num|no)",
    ),
    # and vehicles: a plate in Czech (SPZ), Italian (targa), Polish, Hungarian and Turkish, or
    # a UK "reg" before one; a VIN by the chassis's name (Italian telaio, German Fahrgestellnummer)
    *(
        "spz",
        "targa",
        r"rejestracyjn\w*",
        r"rendsz[áa]m\w*",
        "plaka",
        r"reg(?=\.?[ \t:#]{1,3}[a-z0-9 -]{0,8}\d)",
    ),
    *("telaio", "chassis", r"fahrgestell\w*"),
    # set U: Israel's identity number transliterated, a member's number in German, a French family allowance's, a US
    # immigrant's A-number, a bank account in Indonesian and Vietnamese, India's voter ID (not a serial number: a
    # product's, as often as a person's device)
    *("teudat zehut", r"mitglieds?-?n(?:umme)?r", "allocataire", r"a-?number", r"alien (?:registration )?number"),
    *("rekening", r"s[ốo] t[àa]i kho[ảa]n", "voter id"),
    # set W: a DNI (Argentina's, Spain's) and Colombia's cédula by their names, Belgium's national number as a field,
    # a US prescriber's NPI and DEA numbers, Vietnam's citizen identity card (CCCD, CMND), Bangladesh's NID, New
    # Zealand's NHI, Pakistan's CNIC, Argentina's CBU and Mexico's CLABE (bank accounts), Quebec's health card (RAMQ),
    # Kenya's tax PIN (KRA PIN), a Polish account as "rachunek"
    *(label + _NUMBER_RIGHT_AFTER for label in ("dni", r"c[ée]dula", "national ?number", "kra pin")),
    # ... each short name only before a number of its own shape ("NPI 2024Q3 roadmap", "CBU 2024-001" are not)
    *(label + rf"(?=[ \t:#=)-]{{1,4}}{_NUMBER_WORD}(?:{shape})(?![\w-]))" for label, shape in _SHORT_ID_NAMES),
    # set X: a booking's or a hotel stay's reference (a PNR, a confirmation, a booking number), a loyalty or insurance
    # member's number after the word alone, a university's matriculation number, a customer's number in French, an
    # employee's in Japanese, a bank account in Spanish, an Australian car's "rego"
    *(r"booking(?: ?(?:ref(?:erence)?|no|number|code|#))?", "pnr", "record locator", "conf#"),
    *(r"confirmation(?: ?(?:no|number|code|#))?", r"reservation ?(?:no|number|code|#)"),
    *(r"loyalty(?=[ \t:#]{1,3}[a-z0-9-]*\d)", r"member(?=[ \t:#]{1,3}[a-z]?\d)", r"matric(?:ulation)? ?(?:no|number)"),
    *(r"num[ée]ro (?:de )?client", r"cuenta (?:de ahorros|corriente|bancaria|n[uú]mero|nro)", "rego"),
    # set Y: a card's number by "card no." (a library card's, a fuel card's, a partial bank card's: "my card number is
    # 44855490"), Italy's health card (tessera sanitaria), a German broadband line's id (Anschlusskennung), a
    # Portuguese bank account (conta) right before its number
    # (a card of someone's or of a kind: an app's "card_id", a game's "card number" are no one's)
    *(f"{kind} card" + _ID_NUMBER_SUFFIX for kind in ("my", "your", "library", "fuel", "bank", "debit", "loyalty")),
    *("tessera sanitaria", "anschlusskennung"),
    # (the noun, not the verb: "conta 28391-6" with its check digit, "il comune conta 150000 abitanti" counts)
    r"conta(?: corrente| poupan[çc]a| banc[áa]ria)" + _NUMBER_RIGHT_AFTER,
    r"conta(?=[ \t:]{1,3}\d{3,12}-[\dxX]\b)",
    # set Z: a SIM card's number in German (Kartennummer), its subscriber identity (IMSI), an employee's number in
    # Dutch, a customer's in Dutch, a current account abbreviated in Portuguese (c/c), a pharmacy cardholder's id, a
    # patient's code, France's tax number (numéro fiscal), a Czech personal VAT number (DIČ: a birth number), a US
    # arrival record (I-94), a utility meter's number or serial
    *("kartennummer", "imsi", "personeelsnummer", r"klant(?:nummer|nr)", r"c/c(?!\+)"),
    "cardholder" + _ID_NUMBER_SUFFIX,
    r"patient[ _]?code(?=[ \t:#]{1,3}[a-z]{1,4}-?\d)",  # (letters, then digits: "code review: 2023" is not one)
    *(r"num[ée]ro fiscal", r"i-94(?: (?:no|number))?"),
    # (a utility's meter: "pH meter serial", "parking meter #", "a 100 meter no-wake zone" are not)
    r"meter ?(?:no(?=[.:])|number)",
    *(rf"{kind} meter(?: ?(?:serial|#))?" for kind in ("gas", "electricity", "electric", "water")),
    "meternummer",
    r"z[äa]hlernummer",
    # ... a SIM's ICCID, a French bank account (compte: "n° de compte", "compte :", a RIB's "compte N, clé K"; the verb
    # counts: "Paris compte 2102650 habitants"), Indonesia's tax number (NPWP), a Czech bank account (číslo účtu,
    # bankovní spojení)
    *("iccid", r"num[ée]ro de compte", r"n[°o]\.? de compte", r"compte(?=[ \t]*(?::|n[°o]\.?)[ \t]*\d)"),
    r"compte(?=[ \t]+[0-9a-z]{11}[ \t,;]+cl[ée]\b)",
    *("npwp", r"č(?:íslo|\.) účtu", "bankovní spojení"),
)
# The words above that name a booking: its reference, right after them, may be six letters and digits with one digit
# ("BOOKING REFERENCE: QX7LMP").
_BOOKING_WORDS = re.compile(r"booking\b.*|pnr|record locator|conf#|confirmation\b.*|reservation\b.*")
# The words above that name a vehicle's plate: a plate may have fewer digits than other numbers (`_plate_shaped`).
# The words above that name a passport: its number may have fewer digits than other numbers (`_passport_shaped`).
# set AH: Germany's identity card by its words too (Personalausweisnummer T5V9HFFFC0: nine characters and a check digit)
_PASSPORT_WORDS = re.compile(
    r"pas[sz]?(?:port|aport|eport|por)\w*|reisepass\w*|passnummer|pass-?nr|(?:personal)?ausweis\w*"
)
_PLATE_WORDS = re.compile(
    r"(?:licen[cs]e |number |registration )?plate|kennzeichen|immatricul\w*|matr[ií]cula|kenteken|spz|targa"
    r"|rejestracyjn\w*|rendsz[áa]m\w*|plaka|reg\.?|registration|rego"
)


def _by_first_letter(branches: tuple[str, ...]) -> str:
    """`branches` as one alternation whose branches share their first letter: `re` tries every branch at every word,
    so one test of the letter for each group is several times cheaper than one for each word. Branches with the same
    first letter keep their order, so the same one matches."""
    groups: dict[str, list[str]] = {}
    for branch in branches:
        groups.setdefault(branch[0], []).append(branch[1:])
    return "|".join(re.escape(first) + "(?:" + "|".join(rests) + ")" for first, rests in groups.items())


_CJK_ID_WORDS = (
    "マイナンバー|個人番号|旅券番号|パスポート番号|护照号码?|護照號碼?|여권 ?번호|תעודת זהות"
    # set S: a driving licence's and a bank account's number in Japanese, a bank account in Korean, Saudi Arabia's
    # identity number in Arabic, Thailand's identity card number (the scripts write no spaces, or no word boundary)
    "|運転免許証番号|免許証番号|口座番号|계좌(?:번호)?|رقم الهوية|เลขบัตรประชาชน"
    # set U: Korea's resident registration number ("주민번호는 951107-..."); Aadhaar and a bank account in Hindi (a
    # word may end in a vowel sign, no word character: no boundary after it)
    "|주민(?:등록)?번호|आधार(?: संख्या| नंबर)?|खाता संख्या"
    # set W: Israel's identity number (ת.ז.), Egypt's national number, Pakistan's identity card, Bangladesh's NID in
    # their scripts, and a bank account in Japanese (口座: 銀行 支店 普通 4827193)
    "|ת\\.ז|الرقم القومي|شناختی کارڈ(?: نمبر)?|এনআইডি|口座(?=[\uff1a:])|社員番号"
    # set Z: a student's number in Japanese and Korean (学籍番号, 학번)
    "|学籍番号|학번"
)
# After "#" a number's label ends whatever follows ("Member #: 8834-2211-09").
# Japanese words are written with no space around them ("マイナンバーは1234..."): no word boundary asked there.
_ID_WORDS_PATTERN = r"(?<![^\W_])(?:" + _by_first_letter(_ID_WORD_BRANCHES) + r")(?:\b|(?<=#))|" + _CJK_ID_WORDS
# Matched in the lower-cased text: ~4x faster than case-insensitive matching, which the engine cannot prefilter.
_ID_WORDS = re.compile(_ID_WORDS_PATTERN)
# An ASCII text can hold only the words that start in ASCII: each other script's first letters cost every text a test.
_ID_WORDS_ASCII = re.compile(
    r"(?<![^\W_])(?:" + _by_first_letter(tuple(b for b in _ID_WORD_BRANCHES if b[0].isascii())) + r")(?:\b|(?<=#))"
)
_ID_WORDS_ANY_CASE = re.compile("(?i)" + _ID_WORDS_PATTERN)  # when lower-casing changes the text's length
# What the scanner's gates look for first, in " " + the lower-cased text: plain substrings, several times
# cheaper than the patterns, and looser (a gate only has to miss nothing).
ID_HINTS = (
    *("passport", "passaport", "pasaport", "passeport", "reisepass", "paszport", "paspoort"),
    *("licen", "medica", "nhs", "insurance", "tax", "account", "routing", "member", "patient", "hospital", "insured"),
    *("mrn", "health", "nino", "employee", "staff", "student"),
    *("customer", "plate", "registration", "vin", "aadha", "acct", "bsn", "burgerservice", "cpf", "tfn"),
    *("steuer", "pesel", "national id", "national_id", "identity", "id card", "cpr"),
    *("personnummer", "fødselsnummer", "henkilötunnus", "ahv", "versicherung", "führerschein", "rijbewijs"),
    *("permis de conduire", "carnet de conducir", "ausweis", "matrikel", "studentnummer"),
    *("my number card", "マイナンバー", "個人番号", "assurance sociale", "policy"),
    *("carte santé", "carte sante", "carte de santé", "carte de sante", "iqama", "الإقامة", "prescription"),
    *("dl_", "dlid", "dlno", "dlnumber"),  # "dl" with `_ID_NUMBER_SUFFIX` in one word: not the whole word "dl"
    *("sv-n", "svn", "versicherten", "a/c", "ssn", "pan_", "sin_"),
    *(
        "sort code",
        "sortcode",
        "sort_code",
        "bank_sort",
        "bank sort",
        "rrn",
        "no. kp",
        "no kp",
        "no.kp",
        "mykad",
        "rodné",
        "pojištěnce",
        "주민등록",
        "dowod",
        "dowód",
        "identit",
        "sanitaria",
        "afiliaci",
        "seguridad social",
        "paspor",
        "konto",
        "isikukood",
    ),
    *(
        "frequent",
        "flying blue",
        "skymiles",
        "aadvantage",
        "mileageplus",
        "miles & more",
        "miles&more",
        "miles and more",
    ),
    *("membership", "loyalty"),
    *("旅券番号", "パスポート番号", "护照号", "護照號", "여권", "rachun", "passn", "pass-n"),
    *("kennzeichen", "immatriculation", "matr", "kenteken", "identifikationsnummer"),
    *("idnr", "id-nr", "kunden"),
    *("id no", "id nr", "philhealth", "nationalid", "cidad", "emp ", "emp_", "emp#", "empid", "empno", "תעודת"),
    *("паспорт", "снилс", "рнокпп", "αφμ", "kitambulisho", "subscriber", "spz", "targa", "rejestracyjn"),
    *("rendsz", "plaka", "telaio", "chassis", "fahrgestell", "運転免許証番号", "免許証番号", "口座番号"),
    *("계좌", "رقم الهوية", "เลขบัตรประชาชน", "device", "adid", "idfa", "idfv", "gaid", "android", "advertising"),
    *("upi", "@ok", "@ybl", "@ibl", "@axl", "@paytm", "@apl"),
    *("teudat", "mitglied", "allocataire", "a-number", "anumber", "alien", "rekening", "tài khoản", "tai khoan"),
    *("so tai", "số tài", "आधार", "खाता", "주민", *hl7.HINTS, dicom.HINT, "voter id", "hardware"),
    *("cédula", "cedula", "national number", "nationalnumber", "ramq", "ת.ז", "الرقم القومي", "شناختی کارڈ", "এনআইডি"),
    *("kra pin", "口座", "booking", "pnr", "record locator", "conf#", "confirmation", "reservation", "loyalty"),
    *("matric", "client", "cuenta", "rego", "社員番号"),
    *("card n", "card #", "card#", "card id", "card_", "cardn", "cardid", "anschlusskennung"),
    *("kartennummer", "imsi", "personeelsnummer", "klant", "c/c", "cardholder", "patient", "fiscal", "dič", "cas n"),
    *("i-94", "meternummer", "zählernummer", "zahlernummer", "immatricul", "学籍番号", "학번", "iccid", "npwp"),
    *("účtu", "bankovní spojení"),
    *("de conducir", "patente", "carta de condu"),
)
# Short words that begin common words ("since", "tiny", "panel"): looked for whole, as the pattern finds them.
ID_WORD_HINTS = (
    *("sin", "tin", "itin", "ein", "pan", "pps", "ppsn", "nif", "nip", "ni", "mbi", "nik", "dl"),
    *("imei", "amka", "αμκα", "cnp", "cuil", "cuit", "uci", "rfc", "uan"),
    *("nin", "bvn", "nss", "bsb", "acc", "sss", "rx"),
    *("инн", "іпн", "taj", "reg", "oib", "егн", "niss"),
    *("dni", "npi", "dea", "cccd", "cmnd", "nhi", "cnic", "cbu", "clabe", "fin", "eid"),
    # as whole words: "conta" begins "contact", "meter" ends "parameter"
    *("conta", "compte", "meter"),
)
DATE_OF_BIRTH_HINTS = (
    "born",
    "birth",
    "dob",
    "d.o.b",
    "geb",
    "naissance",
    "né",
    "naci",
    "nací",
    "nasci",
    "urodz",
    "nato il",
    "nata il",
    "nato a ",
    "nata a ",
    "bday",
    "nato/a il",
    "doğum",
    "dogum",
    "född",
    "födelse",
    "fødsel",
    *("născut", "nascut", "nașterii", "naşterii", "nasterii", "γεν."),
    *("生年月日", "出生日期", "出生于", "出生於", "생년월일"),
    *("γέννησης", "рождения", "народження", "születési", "ngày sinh", "kaarawan", "kapanganakan", "narození"),
    *("tanggal lahir", "kuzaliwa", "født", "تاريخ الميلاد", "תאריך לידה", "วันเกิด", "जन्म", *hl7.HINTS, dicom.HINT),
)
# A letter in lower case may lead it before a digit (a student number "s4412983") or end a run of digits (an Irish PPS
# number typed in lower case, "5572526d"), and two or three may lead six digits or more (a UK NI number in lower case,
# "lm090950b"); a letter of another script may stand
# right before or after it ("マイナンバーは4821 7736 5194です").
# Digits may also be grouped by dots or slashes, two or more of one and eight digits or more ("2748.19.302", a German
# Steuernummer 21/815/08150, a Spanish social security number 28/66716546/80), if not a date ("expires 12.05.2030");
# one dot is a decimal, one slash a fraction. A group does not end before a slash and a digit: "SS 28/66716546/80" is a
# label and a number, not the number "SS 28".
_ID_VALUE = re.compile(
    r"[^\n\d]{0,25}?(?<![A-Za-z0-9_])("
    r"\d\d\.\d{3}\.\d{3}\.\d-\d{3}\.\d{3}|"  # set Z: Indonesia's NPWP (57.241.086.8-728.000), before dotted groups
    r"(?=(?:\d[./]?){8})(?!\d\d?[./]\d\d?[./]\d{4}\b)"
    r"\d{1,4}(?P<sep>[./])\d{2,8}(?:(?P=sep)\d{2,5}){1,2}"
    r"|\d\d\.\d\d\.\d\d-\d{3}\.\d\d"  # set W: Belgium's national number (94.09.12-284.62)
    r"|\d\d-\d\d-\d\d ?/ ?\d{8}"  # set X: a UK sort code and account number (20-45-77 / 63019284)
    r"|[A-Z]{1,4}/(?!(?:19|20)\d\d/)\d{2,8}/\d{2,8}"  # set Y: letters, then digits by slashes (HH/2291/448107)
    r"|(?:\d{1,6}-)?\d{6,10}/\d{4}"  # set Z: a Czech account, its bank's code after a slash (35-9400709159/0800)
    r"|\d\d(?: \d{4}){5,7}|(?:[A-Z]-|[a-z](?=\d))?[A-Z0-9]{2,}(?:[ -](?:(?:№ ?|No ?|номер )(?=\d))?[A-Z0-9]+){0,4}"
    r"|\d{6,}[a-z]{1,2}"
    r"|[a-z]{2,3}\d{6,}[a-z]?|\d[ -]\d{4}[ -]\d{5}[ -]\d\d[ -]\d|[a-z]{5}\d{4}[a-z])"
    r"(?![A-Za-z0-9_]|/\d)"
)
_MIN_ID_DIGITS, _MIN_ID_LENGTH = 4, 6
_LABELS_SKIPPED = 2


class IdNumberRecognizer(_SpanRecognizer):
    """Passport, driver's licence, Medicare, NHS, national insurance, Aadhaar, PAN, tax, bank account, employee,
    customer and vehicle numbers: no one shape fits them all, so the words before the number say what it is ("my
    passport number is 533380006")."""

    entity, score = "ID_NUMBER", 0.7

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        lowered = text.lower()
        if len(lowered) != len(text):
            words = _ID_WORDS_ANY_CASE.finditer(text)
        else:
            words = (_ID_WORDS_ASCII if text.isascii() else _ID_WORDS).finditer(lowered)
        for found in words:
            value = _ID_VALUE.match(text, found.end())
            # A label in capitals may stand between the words and the number: "Steuer-ID (DE): 65929970489".
            for _ in range(_LABELS_SKIPPED):
                if value is None or any(c.isdigit() for c in value.group(1)):
                    break
                value = _ID_VALUE.match(text, value.end(1))
            plate = _PLATE_WORDS.fullmatch(found.group()) is not None
            passport = _PASSPORT_WORDS.fullmatch(found.group()) is not None
            booking = _BOOKING_WORDS.fullmatch(found.group()) is not None
            if value is not None and _not_a_number_of_theirs(value.group(1), booking):
                continue
            if value is not None and (
                _id_shaped(value.group(1))
                or (plate and _plate_shaped(value.group(1)))
                or (passport and _passport_shaped(value.group(1)))
                or (booking and value.start(1) - found.end() <= 3 and _booking_shaped(value.group(1)))
            ):
                yield value.span(1)
            elif found.group().startswith(_SIN_WORDS) and text[found.start() : found.end()] != "sin":  # "the sin of"
                yield from _far_sin(text, found.end())
        if "medicare" in lowered:
            yield from (m.span() for m in _MEDICARE_BENEFICIARY.finditer(text))
        if any(hint in lowered for hint in _DEVICE_ID_HINTS):
            yield from (m.span("id") for m in _DEVICE_ID.finditer(text))
        if "@" in text:
            yield from _upi_addresses(text, lowered)
        if "\n" in text and len(lowered) == len(text):
            # The same words naming a table's column ("nhs_no,surname,dob", "氏名,マイナンバー,電話") on a line
            # without digits: a header, not a row.
            for found in _ID_WORDS.finditer(lowered.replace("_", " ")):
                line_start, line_end = text.rfind("\n", 0, found.start()) + 1, text.find("\n", found.end())
                if not any(c.isdigit() for c in text[line_start : line_end if line_end >= 0 else len(text)]):
                    yield from ((a, b) for a, b in column_cells(text, *found.span()) if _id_shaped(text[a:b]))
        if hl7.present(text):
            yield from hl7.fields(text, hl7.IDENTIFIERS)
        if dicom.present(text):
            yield from dicom.fields(text, dicom.IDENTIFIERS)


# set S: a phone's identifiers by their keys in an app's logs and payloads (device_id=7b49a3b28ee823b5, an advertising
# id as adid, idfa, gaid): a UUID or 16 hex digits, either case.
_DEVICE_ID = re.compile(
    r"(?i:\b(?:device[_ -]?id|adid|idfa|idfv|gaid|android[_ -]?id|advertising[_ -]?id|hardware[_ -]?uuid)\b)"
    r"[\"']?[ \t]*[:=][ \t]*[\"']?"
    r"(?P<id>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|[0-9A-Fa-f]{16})(?![\w-])"
)
# set Z: a Medicare beneficiary identifier (MBI) wherever the text speaks of Medicare ("the insured's ID - mine is
# 2GE4-X89-HK49"): its shape is Medicare's own (letters but S, L, O, I, B and Z, at fixed places among digits).
_MBI_LETTER = "[AC-HJKMNP-RT-Y]"
_MEDICARE_BENEFICIARY = re.compile(
    rf"(?<![\w-])[1-9]{_MBI_LETTER}[AC-HJKMNP-RT-Y0-9]\d(-?){_MBI_LETTER}[AC-HJKMNP-RT-Y0-9]\d\1{_MBI_LETTER}{{2}}\d\d"
    r"(?![\w-])"
)
_DEVICE_ID_HINTS = ("device", "adid", "idfa", "idfv", "gaid", "android", "advertising", "hardware")
# set S: an Indian UPI payment address (name@bank), after its label or at a bank's well-known handle: no dot after "@",
# so no email pattern finds it. The handles are looked for at each "@" (a pattern led by the name's characters was
# tried at every position: ~190 us over a 2 KB prompt).
_UPI_LABELLED = re.compile(
    r"(?i:\bupi(?:[ _-]?(?:id|address|handle|vpa))?\b)[^\n@]{0,20}?(?P<vpa>[\w.-]{2,64}@[A-Za-z]{2,20})(?![\w.@-])"
)
_UPI_HANDLE = re.compile(r"(?i:okicici|okhdfcbank|oksbi|okaxis|ybl|ibl|axl|paytm|upi|apl)(?![\w.@-])")
_UPI_NAME = re.compile(r"(?<![\w.-])[\w.-]{2,64}\Z")


def _upi_addresses(text: str, lowered: str) -> Iterator[tuple[int, int]]:
    if "upi" in lowered:
        yield from (m.span("vpa") for m in _UPI_LABELLED.finditer(text))
    at = text.find("@")
    while at > 0:
        handle = _UPI_HANDLE.match(text, at + 1)
        if handle is not None and (name := _UPI_NAME.search(text, max(0, at - 64), at)) is not None:
            yield name.start(), handle.end()
        at = text.find("@", at + 1)


# Canada's social insurance number further on in its sentence than a label's value ("the social insurance number got
# truncated in our export, we have 275 481 877"): nine digits in threes whose Luhn digit holds, up to a sentence's end.
_SIN_WORDS = ("social insurance", "sin", "assurance sociale")
_FAR_SIN = re.compile(r"(?<![\d-])[1-79]\d\d([ -]?)\d{3}\1\d{3}(?![\d-])")
_SENTENCE_REACH = 100


def _far_sin(text: str, start: int) -> Iterator[tuple[int, int]]:
    end = min(len(text), start + _SENTENCE_REACH)
    stops = [at for at in (text.find("\n", start, end), text.find(". ", start, end)) if at >= 0]
    for number in _FAR_SIN.finditer(text, start, min(stops, default=end)):
        if luhn(number.group().replace(" ", "").replace("-", "")):
            yield number.span()
            return


def _id_shaped(number: str) -> bool:
    return sum(c.isdigit() for c in number) >= _MIN_ID_DIGITS and sum(c.isalnum() for c in number) >= _MIN_ID_LENGTH


# A date (2024-05-12, 2024-06-01T10), a quarter (2024-Q3) or a fiscal year (2024-2025) after a label is its date, not
# its number ("Booking date: 2024-05-12", "Confirmation 2024-05-12 10:00"); after a booking's, a date written as one
# number (20240512: a student's id may be one) or a word and a year or a number is one too, or a promotion's code
# ("Booking code SUMMER2024", "WINTER10").
_DATE_SHAPED = re.compile(r"(?:19|20)\d\d(?:-\d\d-\d\d(?:[T ]\d\d)?|-?Q[1-4]|-(?:19|20)\d\d)")
_BOOKING_NOT_REFERENCE = re.compile(
    r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])|[A-Z]{3,}(?:\d{1,2}|(?:19|20)\d\d)"
)


# A run of zeros this long is a sample's or a format's ("IMSI 001010000000001", "000000-0000000000/0000"), no one's.
_PLACEHOLDER_ZEROS = "0000000"


def _not_a_number_of_theirs(value: str, booking: bool) -> bool:
    if _DATE_SHAPED.fullmatch(value) is not None or _PLACEHOLDER_ZEROS in value:
        return True
    return booking and _BOOKING_NOT_REFERENCE.fullmatch(value) is not None


def _booking_shaped(reference: str) -> bool:
    """An airline's or a hotel's booking reference: 5 to 8 capitals and digits, a digit among them ("QX7LMP")."""
    return 5 <= len(reference) <= 8 and reference.isalnum() and reference.isupper() and any(map(str.isdigit, reference))


_PASSPORT_SHAPED = re.compile(r"(?=(?:[A-Z]*\d){2})(?=\d*[A-Z])[A-Z0-9]{8,9}")


def _passport_shaped(number: str) -> bool:
    """A passport's number of capitals and digits, two of them at least ("C7HJ3K9LM": Germany's, 9 characters), or
    such nine and their check digit (Germany's identity card, "T5V9HFFFC0")."""
    if len(number) == 10 and number[-1] == str(_mrz_check(number[:9])):
        number = number[:9]
    return _PASSPORT_SHAPED.fullmatch(number) is not None


def _plate_shaped(plate: str) -> bool:
    """A vehicle's plate: letters and two digits or more, 5 to 10 of them ("KX68 PYD", "GF 318 KZ", "2AB 4419")."""
    digits = sum(c.isdigit() for c in plate)
    return digits >= 2 and any(c.isalpha() for c in plate) and 5 <= sum(c.isalnum() for c in plate) <= 10


# National identity and tax numbers whose shape and check digit say what they are, found without the words before
# them. Led by a digit: Brazil's CPF written with its dots (529.982.247-25), China's resident ID, France's NIR (social
# security number, spaces optional) and Spain's DNI, all runs of 8 or more digits, so they are looked for only in
# such runs (`scan.WINDOWS`); South Africa's 13-digit ID number (birth date, Luhn digit) and the European personal
# numbers of `id_checks` too. Led by a letter: Italy's codice fiscale, Singapore's NRIC/FIN, Spain's NIE, Mexico's
# CURP and RFC (four letters of the name, the birth date, and a check digit), Taiwan's national ID and Hong Kong's
# identity card number (its check digit in brackets); that pattern starts with a plain
# character class and checks the character before it only there, so `re` skips ahead to candidates (~5x faster over
# prose than a pattern that starts with a lookbehind).
_YYMMDD = r"\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
# A number ends where no word, "-" or dotted part goes on: a sentence's full stop after it ends it too ("mi DNI es
# 12345678Z."), a "." before more of the code does not ("X1234567L.pdf").
_ID_END = r"(?![\w-]|\.\w)"
_DIGIT_LED_ID = (
    r"(?<![\w.-])(?:\d{3}\.\d{3}\.\d{3}-\d{2}"
    r"|[1-9]\d{5}(?:18|19|20)" + _YYMMDD + r"\d{3}[\dXx]"
    r"|[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?\d{2} ?\d{3} ?\d{3} ?\d{2}"
    r"|" + _YYMMDD + r"\d{4}[012]\d{2}"
    r"|\d\d\.?\d{3}\.?\d{3}-?[A-Za-z]|" + CHECKED_ID + r")" + _ID_END
)
_LETTER_LED_ID = re.compile(
    r"[A-Z](?<![\w.-][A-Z])(?:(?P<cf>[A-Z]{5}\d{2}[A-EHLMPRST]\d{2}[A-Z]\d{3}[A-Z])|(?P<nric_nie>-?\d{7}-?[A-Z])"
    rf"|(?P<curp>[A-Z]{{3}}{_YYMMDD}[HMX][A-Z]{{5}}[A-Z\d]\d)|(?P<rfc>[A-Z]{{3}}{_YYMMDD}[1-9A-V][1-9A-Z][\dA])"
    r"|(?P<tw>[12]\d{8})|(?P<hk>[A-Z]?\d{6}\([\dA]\))|(?P<pan>[A-Z]{2}P[A-Z]\d{4}[A-Z])"
    r"|(?P<nino>[A-Z](?: ?\d\d){3} ?[A-D]))" + _ID_END
)
# A codice fiscale typed in lower case ("rssmra85t10a562s"), found by its digits (a pattern led by a lower-case
# letter would be tried at nearly every position of prose) and checked upper-cased with its six letters before them.
_LOWER_CF_TAIL = re.compile(r"\d\d[a-ehlmprst]\d\d[a-z]\d{3}[a-z]" + _ID_END)
_LOWER_CF_HEAD = re.compile(r"(?<![\w.-])[a-z]{6}\Z")
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_NRIC_WEIGHTS = (2, 7, 6, 5, 4, 3, 2)
_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# The codice fiscale's check letter: each character's value at odd (1st, 3rd...) and even positions.
_CF_ODD = dict(
    zip(
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        (1, 0, 5, 7, 9, 13, 15, 17, 19, 21) * 2 + (2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23),
        strict=True,
    )
)
_CF_EVEN = {c: int(c) if c.isdigit() else ord(c) - ord("A") for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
# Mexico's CURP and RFC: each character's value in their check digit's sum, and a CURP's states of birth (NE: abroad).
_MX_VALUES = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMN&OPQRSTUVWXYZ")}
_CURP_STATE_CODES = "AS BC BS CC CH CL CM CS DF DG GR GT HG JC MC MN MS NE NL NT OC PL QR QT SL SP SR TC TL TS VZ YN ZS"
_CURP_STATES = frozenset(_CURP_STATE_CODES.split())
# Taiwan's ID: the area letter's value (A=10, in this order), then the digits, weighted.
_TW_AREAS = "ABCDEFGHJKLMNPQRSTUVXYWZIO"
_TW_WEIGHTS = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1)


def _cpf_valid(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    if len(set(digits)) == 1:
        return False
    for n in (9, 10):
        check = sum(d * (n + 1 - i) for i, d in enumerate(digits[:n])) * 10 % 11 % 10
        if check != digits[n]:
            return False
    return True


def _cf_valid(code: str) -> bool:
    total = sum(_CF_ODD[c] if i % 2 == 0 else _CF_EVEN[c] for i, c in enumerate(code[:15]))
    return chr(ord("A") + total % 26) == code[15]


def _nric_or_nie_valid(code: str) -> bool:
    if code[0] in "XYZ":  # Spain's NIE: X1234567L
        return _dni_valid(code)
    if code[0] not in "STFG" or "-" in code:
        return False
    total = sum(int(c) * w for c, w in zip(code[1:8], _NRIC_WEIGHTS, strict=True)) + (4 if code[0] in "TG" else 0)
    letters = "JZIHGFEDCBA" if code[0] in "ST" else "XWUTRQPNMLK"
    return letters[total % 11] == code[8]


def _cn_valid(number: str) -> bool:
    total = sum(int(c) * w for c, w in zip(number[:17], _CN_WEIGHTS, strict=True))
    return number[0] != "0" and "10X98765432"[total % 11] == number[17].upper()


def _nir_valid(number: str) -> bool:
    compact = number.replace(" ", "")
    return len(compact) == 15 and 97 - int(compact[:13]) % 97 == int(compact[13:])


def _dni_valid(number: str) -> bool:
    compact = number.replace("-", "")
    digits = str("XYZ".index(compact[0])) + compact[1:-1] if compact[0] in "XYZ" else compact[:-1]
    return len(digits) == 8 and _DNI_LETTERS[int(digits) % 23] == compact[-1].upper()  # "mi dni es 33713522f"


def _curp_valid(code: str) -> bool:
    total = sum(_MX_VALUES[c] * (18 - i) for i, c in enumerate(code[:17]))
    return code[11:13] in _CURP_STATES and -total % 10 == int(code[17])


def _rfc_valid(code: str) -> bool:
    check = -sum(_MX_VALUES[c] * (13 - i) for i, c in enumerate(code[:12])) % 11
    return "0123456789A"[check] == code[12]


def _tw_valid(code: str) -> bool:
    area = _TW_AREAS.index(code[0]) + 10
    digits = [area // 10, area % 10, *(int(c) for c in code[1:])]
    return sum(d * w for d, w in zip(digits, _TW_WEIGHTS, strict=True)) % 10 == 0


def _hk_valid(code: str) -> bool:
    letters, check = code[: code.index("(") - 6], code[-2]
    values = [36] * (2 - len(letters)) + [ord(c) - 55 for c in letters] + [int(c) for c in code[len(letters) : -3]]
    total = sum(v * w for v, w in zip(values, range(9, 1, -1), strict=True))
    return "0123456789A"[-total % 11] == check


# The UK's National Insurance number: two letters, six digits, A-D ("JR 48 21 93 B"). Letters that are never issued
# first (D F I Q U V) or second (D F I O Q U V, so the well-known example QQ 12 34 56 C is no one's), and prefixes
# never issued, make it a different code.
_NINO_UNISSUED = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def _nino_valid(code: str) -> bool:
    return code[0] not in "DFIQUV" and code[1] not in "DFIOQUV" and code[:2] not in _NINO_UNISSUED


def _digit_led_valid(number: str) -> bool:
    """The check digit of a `_DIGIT_LED_ID` match, by its shape."""
    if checked_id_valid(number):
        return True
    if len(number) == 13 and number.isdigit():  # South Africa's ID: YYMMDD, SSSS, citizenship, 8/9, Luhn digit
        return luhn(number)
    if number[-1].isalpha() and len(compact := number.replace("-", "").replace(".", "")) == 9:
        return _dni_valid(compact)  # a DNI, its digits grouped by dots or not
    if "." in number:  # the CPF's 529.982.247-25, or a Chilean RUT whose check digit failed
        return len(number) == 14 and _cpf_valid(number)
    if not number.replace(" ", "").isalnum():  # a shape of `id_checks` with separators whose check failed
        return False
    return _cn_valid(number) if len(number) == 18 else _nir_valid(number)


def _ascii_digits(code: str) -> str:
    """`code` with its digits in ASCII: `\\d` finds an id written in other scripts' digits too (Arabic-Indic, Adlam),
    and the checks read ASCII ones."""
    return code if code.isascii() else "".join(str(int(c)) if c.isdecimal() else c for c in code)


_LETTER_LED_CHECKS = {
    "cf": _cf_valid,
    "nric_nie": _nric_or_nie_valid,
    "curp": _curp_valid,
    "rfc": _rfc_valid,
    "tw": _tw_valid,
    "hk": _hk_valid,
    "pan": lambda _code: True,  # India's PAN of a person (its fourth letter P): five letters, four digits, a letter
    "nino": _nino_valid,
}


class NationalIdRecognizer(PatternRecognizer):
    """Identity and tax numbers led by a digit, with a shape of their own and a check digit (CPF, Chinese resident
    ID, NIR, DNI, those of `id_checks`), whatever words come before them: a shape alone would be any number, the
    check digit makes it that number."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="ID_NUMBER",
            name="NationalIdRecognizer",
            patterns=[Pattern("national_id", _DIGIT_LED_ID, 0.75)],
        )

    def validate_result(self, pattern_text: str) -> bool:
        return _digit_led_valid(pattern_text)


class LetterLedIdRecognizer(_SpanRecognizer):
    """Identity and tax numbers led by a letter, with a check letter or digit (codice fiscale, also in lower case,
    NRIC/FIN, NIE, CURP, RFC) or a shape of their own (PAN, the UK's National Insurance number)."""

    entity, score = "ID_NUMBER", 0.75

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        for found in _LETTER_LED_ID.finditer(text):
            kind = found.lastgroup
            if kind is not None and _LETTER_LED_CHECKS[kind](_ascii_digits(found.group())):
                yield found.span()
        for tail in _LOWER_CF_TAIL.finditer(text):
            start = tail.start() - 6
            if (
                start >= 0
                and _LOWER_CF_HEAD.match(text, start, tail.start())
                and _cf_valid(_ascii_digits(text[start : tail.end()].upper()))
            ):
                yield start, tail.end()


# A passport's machine-readable zone (ICAO 9303, two lines of 44): the second line holds the document number, the
# nationality, the birth date, the sex and the expiry date, each number with its check digit; the first, led by "P",
# the holder's name. Found by the second line's three check digits, the first line with it.
_MRZ = re.compile(
    r"(?:(?<![A-Z0-9<])(P[A-Z<][A-Z<]{3}[A-Z<]{39})[ \t]*\r?\n[ \t]*)?"
    r"(?<![A-Z0-9<])([A-Z0-9<]{9}[\d<][A-Z<]{3}\d{6}[\d<][MFX<]\d{6}[\d<][A-Z0-9<]{14}[\d<][\d<])(?![A-Z0-9<])"
)
_MRZ_WEIGHTS = (7, 3, 1)
_MRZ_FIELDS = ((0, 9), (13, 19), (21, 27))  # document number, birth date, expiry date: each followed by its check


def _mrz_check(field: str) -> int:
    values = (0 if c == "<" else int(c) if c.isdigit() else ord(c) - ord("A") + 10 for c in field)
    return sum(v * _MRZ_WEIGHTS[i % 3] for i, v in enumerate(values)) % 10


# The birth date, its check digit, the sex, the expiry date and its check digit: in every number line.
_MRZ_DATES = re.compile(r"\d{7}[MFX<]\d{7}")


# An airline's passenger data (APIS) for a passport, as booking systems print it: "DOCS/P/USA/T90518120/USA/12MAY88/F/
# 09SEP30/RASMUSSEN/TOVE" (document type, issuer, number, nationality, birth date, sex, expiry, surname, given names).
_APIS_DOCS = re.compile(
    r"(?<![A-Za-z0-9])P/[A-Z]{3}/(?P<number>[A-Z0-9]{5,15})/[A-Z]{3}/(?P<birth>\d\d[A-Z]{3}\d\d)/[MFXU]I?/"
    r"\d\d[A-Z]{3}\d\d/(?P<name>[A-Z]+(?:[' -][A-Z]+)*(?:/[A-Z]+(?:[' -][A-Z]+)*){1,2})"
)


def mrz_hint(text: str) -> bool:
    """Whether `text` may hold a machine-readable zone: a run of its filler (the name's and the personal number's
    unused places; "<<" alone is C++'s, in much code, where the pattern took ~130 us over 2 KB) and its dates; or an
    airline's passport record ("P/" before its issuer)."""
    return ("<<<" in text and _MRZ_DATES.search(text) is not None) or "P/" in text


MRZ_NEEDS = Needs(text=(literals("<<<", "P/"),))


class MrzRecognizer(_SpanRecognizer):
    """A passport's machine-readable zone pasted as text (a scan's OCR): its number line, checked, and its name line;
    and an airline's record of a passport (APIS): its number, the holder's birth date and name."""

    entity, score = "ID_NUMBER", 0.85

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        for zone in _MRZ.finditer(text):
            line = zone.group(2)
            # Below a passport's name line it is one, if a scan garbled its check digits (set AH); alone, only when they
            # hold.
            # not ICAO's specimens (of Utopia) nor any other sample
            named = zone.group(1) is not None and zone.group(1)[2:5] != "UTO" and "SPECIMEN" not in zone.group(1)
            if named or all(line[b] == str(_mrz_check(line[a:b])) for a, b in _MRZ_FIELDS):
                if zone.group(1) is not None:
                    yield zone.span(1)
                yield zone.span(2)
        if "P/" in text:
            for record in _APIS_DOCS.finditer(text):
                yield from (record.span(field) for field in ("number", "birth", "name"))


# Six pairs of hex digits with one separator throughout (00:1A:2B:3C:4D:5E, 3c-22-fb-91-0a-7e), or Cisco's three
# dotted groups of four (001a.2b3c.4d5e).
_MAC_ADDRESS = re.compile(
    r"(?<![\w:.-])(?:[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}"
    r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4})(?![\w:-]|\.\w)"  # a sentence's full stop may follow
)
# What the scanner's gate looks for: a hex pair between two separators, or a dotted hex group. Each pattern
# starts with its separator, which the engine can skip to (a leading hex class made the gate ~6x dearer).
_SEPARATED_HEX = re.compile(r"[:-][0-9A-Fa-f]{2}[:-]")
_DOTTED_HEX = re.compile(r"\.[0-9A-Fa-f]{4}\.")


def mac_hint(text: str) -> bool:
    """Whether `text` may hold a MAC address: five separators of one kind, or a dotted group of four hex digits."""
    colons_or_dashes = text.count(":") >= 5 or text.count("-") >= 5
    return (colons_or_dashes and _SEPARATED_HEX.search(text) is not None) or _DOTTED_HEX.search(text) is not None


MAC_NEEDS = Needs(text=(_SEPARATED_HEX.pattern, _DOTTED_HEX.pattern))


class MacAddressRecognizer(_SpanRecognizer):
    """A network card's hardware address: it names one device, and so its owner, for as long as they keep it."""

    entity, score = "MAC_ADDRESS", 0.8

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        return (m.span() for m in _MAC_ADDRESS.finditer(text) if not _no_devices(m.group()))


def _no_devices(mac: str) -> bool:
    """set AH: the broadcast address, none, and the multicast groups name no device."""
    digits = "".join(c for c in mac.lower() if c not in ":-.")
    return digits in ("ffffffffffff", "000000000000") or digits.startswith(_MULTICAST)


# IPv4's and IPv6's multicast, bridges' (STP, LLDP), Cisco's (CDP), PTP's
_MULTICAST = ("01005e", "3333", "0180c2", "01000c", "011b19")


# An account name where it names a person: a home folder in a path (/home/mkowalski/, /Users/sofia.rossi/,
# C:\Users\akovalenko\ with its backslashes doubled too, as in JSON), the user of an ssh or scp target given by its
# address (jsmith@88.97.14.211, whose address the IP recognizer takes), and a LinkedIn profile's handle
# (linkedin.com/in/priya-raghunathan-4b2a1). Machine and service accounts name no one, and neither do placeholders.
# Each led by a literal, which `re` skips to (one alternation led by character classes took ~180 us over 2 KB of prose
# holding an "@").
_NAME = r"(?P<name>[A-Za-z][\w.-]{1,38})(?=[\\/\"'\s:;,)]|$)"
_HOME_FOLDER = re.compile(r"/(?:home|Users)/" + _NAME)
_WINDOWS_PROFILE = re.compile(r"Users(?:\\{1,2}|/)" + _NAME)
_DRIVE_BEFORE = re.compile(r"(?<![\w])[A-Za-z]:(?:\\{1,2}|/)\Z")
_ADDRESS_AFTER = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}(?![\w.])")
_USER_BEFORE = re.compile(r"(?<![\w.%+-])[A-Za-z][\w.-]{1,31}\Z")
_PROFILE = re.compile(r"linkedin\.com/in/(?P<name>[\w%-]{3,100})")
# set AG: the account in a URL's credentials ("mongodb+srv://ayesha_qureshi:...@cluster0", "https://e.vasquez:glpat-...@"),
# whose password the secret recognizers take
_URL_LOGIN = re.compile(
    r"(?i:\b[a-z][a-z0-9+.-]{0,31}://)(?P<name>[A-Za-z][\w.%+-]{1,63}):(?P<password>[^\s/@]{1,4096})@(?P<rest>[^\s\"'`]*)"
)
# Accounts of services and tokens, and the placeholders of docs (a reviewer: "https://oauth2:${TOKEN}@", "elastic")
_NO_ONES_URL_LOGIN = frozenset(
    (
        *("oauth2", "x-access-token", "gitlab-ci-token", "x-token-auth", "anonymous", "guest", "elastic", "bot", "ci"),
        *("deploy", "build", "login", "scott", "foo", "bar", "john", "jdoe", "mongoadmin", "minioadmin", "rabbitmq"),
        *("wordpress", "sonar", "airflow", "grafana", "telegraf", "owner", "default", "sa", "dbuser", "myuser"),
    )
)
_SERVICE_WORDS = ("token", "key", "auth", "admin", "client", "api", "svc", "service", "bot", "deploy", "pipeline")


def _someones_in_url(login: re.Match[str]) -> bool:
    """The account of a URL's credentials, when it may be a person's: not a service's or a token's, not with a password
    that is a variable or a placeholder, not named again in the URL's host or path (mysql://keycloak:...@mysql/keycloak)."""
    name, password, rest = login.group("name"), login.group("password"), login.group("rest")
    lowered = name.lower()
    if lowered in _NO_ONES_URL_LOGIN or any(word in lowered for word in _SERVICE_WORDS) or lowered in rest.lower():
        return False
    variable = password[:1] in "$%{<*" or password.lower() in ("password", "pass", "secret", "changeme", "xxx")
    return not variable and _someones(name)


# set S: an account name after its label ("Username: lhoang_1992", Windows' "Account Name: a.sokolova"), an ssh
# config's `User` line, an sshd log's "Failed password for mkariuki from", a Windows `net use ... /user:CORP\jmwangi`,
# a one-time password app's account (otpauth://totp/GitHub:mahlerh?...). "user:" alone opens a chat's turn: not one.
# Each pattern runs only on a text holding one of its hints (in the lower-cased view, or as written): one pattern of
# them all, case-insensitive, took ~250 us over a 2 KB prompt that names a "user" and says "for".
_LOGIN_LABEL = re.compile(
    r"(?i:\b(?:user[ _-]?(?:name|id)|log(?:in|on)[ _-]?(?:name|id)|account[ _-]?name)s?[\"']?[ \t]*[:=][ \t]*[\"']?"
    r"|(?<![\w&?-])user=)"  # set U: a log's key=value (user=wbrennan2), not a URL's; "user:" opens a chat's turn
    r"(?P<name>[\w.-]{2,64})"
)
# set U: a login after its label in German, Spanish, Portuguese, French, Italian and Dutch ("Benutzer: anna.keller",
# "usuario 1234admin"), or said in prose ("my username is kittykat_88"); without a colon the name must hold a digit,
# "_" or "." (a word of the sentence otherwise: "l'utente ha"), and a letter, and be no version ("login is v2.3.1").
_LOGIN_WORDS = (
    r"benutzer(?:name|kennung)?|nombre de usuario|usuario|usu[áa]rio|identifiant|nom d'utilisateur|nome utente|utente"
    r"|gebruikersnaam"
)
_SAID_LOGIN = re.compile(
    r"(?i:\b(?:(?:" + _LOGIN_WORDS + r")[ \t]*[:=][ \t]*[\"'«]?(?P<labelled>[\w.-]{2,64}(?<![.-]))"
    r"|(?:" + _LOGIN_WORDS + r"|user ?name is|login is)[ \t]+[\"'«]?"
    r"(?P<name>(?=[\w.-]*[\d_.])(?=[\w.-]*[^\W\d_])(?!v?\d+(?:[.-]\w+)*\b)[\w.-]{2,64}(?<![.-]))))"
)
_SAID_LOGIN_HINTS = (
    *("benutzer", "usuario", "usuário", "identifiant", "utilisateur", "utente", "gebruikersnaam", "name is"),
)
# set V: a login in a config's element (Maven's <username>ci-deployer</username>), or given to a command line's flag
# (`wget --user=h.bergstrom`, `docker login -u acmebuild`, `mysql --user alice`)
_XML_LOGIN = re.compile(r"<(?:username|user|login|userName)>[ \t]*(?P<name>[\w.@-]{2,64})[ \t]*</")
_FLAG_LOGIN = re.compile(
    r"(?:(?<=\s)--user(?:name)?[= ]|\blogin[ \t]+(?:[^\n]*?[ \t])?-u[ \t]+)['\"]?(?P<name>[\w.@-]{2,64})"
)
# set U and V: a social handle with a digit in it ("@kasia_gamer2003", "@leo.b.1990"): not a decorator or an at-rule
# (none has one), nor an email's or a package's "@" (a word character or "/" before it), a digest ("@sha256:") or a
# version ("@v2.0.1").
_HANDLE = re.compile(
    r"(?<![\w.@/:+-])@(?P<name>(?=[\w.]{0,29}\d)(?!v\d)[A-Za-z][\w.]{1,29}(?<!\.))(?![\w@:]|\.[A-Za-z]{2,}\b)"
)
_SSH_CONFIG_USER = re.compile(r"^[ \t]*User[ \t]+(?P<name>[\w.-]{2,64})[ \t]*$", re.MULTILINE)
_SSHD_LOGIN = re.compile(
    r"\b(?:Failed|Accepted|Invalid) (?:password|publickey|keyboard-interactive/pam|user) for "
    r"(?:invalid user )?(?P<name>[\w.-]{2,64}) from\b"
)
_NET_USE_USER = re.compile(r"(?<=\s)(?i:/user:)(?:[\w.-]+\\)?(?P<name>[\w.-]{2,64})")
_OTPAUTH_ACCOUNT = re.compile(r"otpauth://[th]otp/(?:[^:/?\s]*:)?(?P<name>[\w.-]{2,64})(?=\?)")
_AFTER_LABEL = ("name", " name", "_name", "-name", "id", " id", "_id", "-id", "=")  # username, user id, user=...


def _login_patterns(text: str, lowered: str) -> list[re.Pattern[str]]:
    """The patterns of `_labelled_logins` a text may hold a match of, by substrings (nested: most texts say "user")."""
    found = []
    if "user" in lowered:
        if _labels(lowered, "user"):
            found.append(_LOGIN_LABEL)
        if "User " in text:
            found.append(_SSH_CONFIG_USER)
        if "/user:" in lowered:
            found.append(_NET_USE_USER)
    if _LOGIN_LABEL not in found and any(_labels(lowered, word) for word in ("login", "logon", "account")):
        found.append(_LOGIN_LABEL)
    if " from " in text and ("d password for" in text or "publickey for" in text or "Invalid user" in text):
        found.append(_SSHD_LOGIN)
    if "otpauth://" in text:
        found.append(_OTPAUTH_ACCOUNT)
    if "login is" in lowered or any(hint in lowered for hint in _SAID_LOGIN_HINTS):
        found.append(_SAID_LOGIN)
    if "@" in text:
        found.append(_HANDLE)
    if "</" in text and ("<user" in text or "<login>" in text):
        found.append(_XML_LOGIN)
    if "--user" in text or " -u " in text:
        found.append(_FLAG_LOGIN)
    return found


def _labels(lowered: str, word: str) -> bool:
    """Whether `word` ("user", "login", "account") is in the text as a login's label (username, user id, account name):
    a look after each (most texts have few); ~8 substring searches over the whole text took ~8 us."""
    at = lowered.find(word)
    while at >= 0:
        if lowered.startswith(_AFTER_LABEL, at + len(word)):
            return True
        at = lowered.find(word, at + len(word))
    return False


def _labelled_logins(text: str, lowered: str) -> Iterator[tuple[int, int]]:
    for pattern in _login_patterns(text, lowered):
        for m in pattern.finditer(text):
            group = "name" if m.group("name") is not None else "labelled"
            if _someones(m.group(group)):
                yield m.span(group)


_NO_ONE = frozenset(
    [
        "root",
        "admin",
        "administrator",
        "user",
        "username",
        "users",
        "ubuntu",
        "debian",
        "centos",
        "fedora",
        "ec2-user",
        "azureuser",
        "opc",
        "runner",
        "vagrant",
        "jenkins",
        "circleci",
        "travis",
        "gitlab-runner",
        "buildkite",
        "node",
        "app",
        "www-data",
        "nobody",
        "daemon",
        "git",
        "docker",
        "postgres",
        "mysql",
        "redis",
        "codespace",
        "vscode",
        "shared",
        "public",
        "default",
        "guest",
        "me",
        "you",
        "yourname",
        "your_user",
        "yourusername",
        "myuser",
        "name",
        "dev",
        "developer",
        "test",
        "tester",
        "demo",
        "example",
    ]
)


def username_hint(text: str, lowered: str) -> bool:
    """Whether `text` may hold such an account name (one substring each, no pattern)."""
    return (
        "/home/" in text
        or "Users" in text
        or "@" in text  # a URL's credentials' too
        or "linkedin.com/in/" in text
        or bool(_login_patterns(text, lowered))
    )


# `username_hint`'s substrings, and one of each test `_login_patterns` starts with.
USERNAME_NEEDS = Needs(
    text=(literals("/home/", "Users", "@", "linkedin.com/in/", " from ", "otpauth://", "</", "--user", " -u ", "://"),),
    lowered=(literals("user", "login", "logon", "account", *_SAID_LOGIN_HINTS),),
)


def _someones(login: str) -> bool:
    """A labelled login that may be a person's: not a placeholder (USERNAME:API_TOKEN, User Id=myUsername), a field's
    name (hostname:port:database:username:password) or a service's account (svc_backup)."""
    lowered = login.lower()
    if login.isupper() or lowered in _FIELD_NAMES or lowered.startswith(("svc", "service")):
        return False
    return not any(word in lowered for word in ("user", "name", "example"))


_FIELD_NAMES = frozenset({"password", "passwd", "pass", "secret", "token", "port", "host", "hostname", "database"})


def _glued(text: str, start: int) -> bool:
    """A path inside a longer one or a word (`/srv/home/x`, `~/home/x`): no user's home folder."""
    return start > 0 and (text[start - 1].isalnum() or text[start - 1] in "._~-")


class UsernameRecognizer(_SpanRecognizer):
    """A person's account name in a home folder, an ssh target or a LinkedIn profile (see `_USER_PLACES`)."""

    entity, score = "USERNAME", 0.7

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        if "/home/" in text or "/Users/" in text:
            found += (m.span("name") for m in _HOME_FOLDER.finditer(text) if not _glued(text, m.start()))
        if "Users" in text:
            profiles = _WINDOWS_PROFILE.finditer(text)
            found += (m.span("name") for m in profiles if _DRIVE_BEFORE.search(text, max(0, m.start() - 5), m.start()))
        at = text.find("@")
        while at > 0:
            if _ADDRESS_AFTER.match(text, at + 1) and (user := _USER_BEFORE.search(text, max(0, at - 32), at)):
                found.append(user.span())
            at = text.find("@", at + 1)
        if "linkedin.com/in/" in text:
            found += (m.span("name") for m in _PROFILE.finditer(text))
        if "://" in text:
            found += (m.span("name") for m in _URL_LOGIN.finditer(text) if _someones_in_url(m))
        found += _labelled_logins(text, text.lower())
        return (span for span in sorted(set(found)) if text[span[0] : span[1]].lower() not in _NO_ONE)

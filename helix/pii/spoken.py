"""Numbers read out a digit at a time, in words: a card, an account, a passport or a phone said over the phone and
written down ("vier null zwei vier eins ...", "golf two zero five five three six five zero", "一八六五七零九六六四零").

Nobody writes nine digits as words for any other reason, so a run of nine or more words (five digits at least, the
rest letters spelled in the NATO alphabet: "golf", "victor") is read as a number someone needed to pass on: a card
when it has a card's length and its check digit (or a card named before it), otherwise an identifying number. Each
language's run is its own (a word of another language ends it): "un" or "sei" in prose never joins a number.
Counting ("one two three four five six seven eight nine") is no number.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from itertools import pairwise

from helix.pii.id_checks import luhn

_DIGITS = {  # language -> its digit words, 0 to 9 (several words for one digit: "null" / "zwo", "zero" / "oh")
    "en": ("zero oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    "de": ("null", "eins", "zwei zwo", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun"),
    "es": ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"),
    "pt": ("zero", "um", "dois", "três tres", "quatro", "cinco", "seis meia", "sete", "oito", "nove"),
    "it": ("zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove"),
    "fr": ("zéro zero", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf"),
    "nl": ("nul", "een één", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen"),
    "pl": ("zero", "jeden", "dwa", "trzy", "cztery", "pięć", "sześć", "siedem", "osiem", "dziewięć"),
    "sv": ("noll", "ett", "två", "tre", "fyra", "fem", "sex", "sju", "åtta", "nio"),
    "tr": ("sıfır", "bir", "iki", "üç", "dört", "beş", "altı", "yedi", "sekiz", "dokuz"),  # noqa: RUF001
    "ru": ("ноль нуль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"),
    "uk": ("нуль", "один", "два", "три", "чотири", "п'ять п’ять", "шість", "сім", "вісім", "дев'ять дев’ять"),  # noqa: RUF001
}
_NATO_ALPHABET = (
    "alfa alpha bravo charlie delta echo foxtrot golf hotel india juliet juliett kilo lima mike november oscar papa"
    " quebec romeo sierra tango uniform victor whiskey x-ray xray yankee zulu"
)
_NATO = frozenset(_NATO_ALPHABET.split())
# word -> {language: digit}
_WORDS: dict[str, dict[str, str]] = {}
for _language, _names in _DIGITS.items():
    for _digit, _spellings in enumerate(_names):
        for _word in _spellings.split():
            _WORDS.setdefault(_word, {})[_language] = str(_digit)
_CJK_NUMERALS = "零〇一二三四五六七八九"
_CJK_DIGITS = str.maketrans(_CJK_NUMERALS, "00123456789")

_TOKEN = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)?", re.UNICODE)  # noqa: RUF001 - "x-ray", a typographic apostrophe
# what may stand between the words of one number ("three eight four ... zero")
_BETWEEN = re.compile(r"[\s,.\-–—…/]*")  # noqa: RUF001 - dashes
_CARD_WORDS = re.compile(r"(?i)\b(?:card|visa|mastercard|amex|credit|debit|karte|tarjeta|cartão|carta|carte|карт\w*)")
MIN_SYMBOLS = 9  # digits and spelled letters: "golf two zero five five three six five zero", a passport's
MIN_DIGITS = 5
_CJK_RUN = re.compile(f"[{_CJK_NUMERALS}]{{{MIN_SYMBOLS},}}")


def spoken_hint(text: str) -> bool:
    """Whether `text` may hold a number read out (the scanner's gate): five digit or NATO words in a row, looked for
    word by word at C speed (~3 us a short text, ~35 us for 2 KB of mixed scripts, where one pattern of all the words
    took 500), or CJK numerals."""
    # punctuation and digits made spaces as bytes: str.translate is slow past ASCII (100 us for 2 KB)
    lowered = text.lower().encode("utf-8", "surrogatepass").translate(_APART).decode("utf-8", "surrogatepass")
    ascii_only = text.isascii()
    if not ascii_only:  # an ellipsis or a dash between the digits ("four … zero")
        lowered = lowered.replace("\u2026", " ").replace("\u2013", " ").replace("\u2014", " ")
    if bytes(map(_SPOKEN.__contains__, lowered.split())).find(_FIVE) >= 0:
        return True
    return not ascii_only and any(n in text for n in _CJK_NUMERALS) and _CJK_RUN.search(text) is not None


_SPOKEN = frozenset(_WORDS) | _NATO
_FIVE = b"\x01" * MIN_DIGITS
# between words: ASCII punctuation (not the apostrophes and hyphens inside words: "p'yat", "x-ray") and digits
_SEPARATORS = "".join(sorted(set(string.punctuation) - {"'", "-"})) + string.digits
_APART = bytes.maketrans(_SEPARATORS.encode(), b" " * len(_SEPARATORS))
# English's digit words, one alternation (the phone recognizer's numbers read out after a phone word)
ENGLISH_DIGIT_WORDS = "(?:" + "|".join(w for spellings in _DIGITS["en"] for w in spellings.split()) + ")"


def spoken_numbers(text: str) -> Iterator[tuple[str, int, int]]:
    """(entity, start, end) of each number read out in `text`: "CREDIT_CARD" or "ID_NUMBER"."""
    lowered = text.lower()
    tokens = list(_TOKEN.finditer(lowered))
    i = 0
    while i < len(tokens):
        j, languages, digits, letters = i, set(_DIGITS), [], 0
        while j < len(tokens):
            token = tokens[j]
            if j > i and _BETWEEN.fullmatch(lowered, tokens[j - 1].end(), token.start()) is None:
                break
            spoken = _WORDS.get(token.group())
            if spoken is not None and languages & spoken.keys():
                languages &= spoken.keys()
                digits.append(spoken[min(languages)])
            elif token.group() in _NATO and "en" in languages:
                languages, letters = {"en"}, letters + 1
            else:
                break
            j += 1
        if len(digits) + letters >= MIN_SYMBOLS and len(digits) >= MIN_DIGITS and not _counting(digits):
            start, end = tokens[i].start(), tokens[j - 1].end()
            yield _entity(text, start, end, digits), start, end
        i = max(j, i + 1)  # a run read whole is not read again from its middle (linear in the words)
    for cjk in _CJK_RUN.finditer(text):
        numbers = list(cjk.group().translate(_CJK_DIGITS))
        if not _counting(numbers):
            yield _entity(text, cjk.start(), cjk.end(), numbers), cjk.start(), cjk.end()


def _entity(text: str, start: int, end: int, digits: list[str]) -> str:
    number = "".join(digits)
    card = 13 <= len(number) <= 19 and (luhn(number) or _CARD_WORDS.search(text, max(0, start - 80), start) is not None)
    return "CREDIT_CARD" if card else "ID_NUMBER"


def _counting(digits: list[str]) -> bool:
    """One up or down each time, as counting is ("one two three ... nine zero one")."""
    steps = {(int(b) - int(a)) % 10 for a, b in pairwise(digits)}
    return steps <= {1} or steps <= {9}

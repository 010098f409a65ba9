"""Normalised views of a text for detection, with every view character mapped back to the original.

A value can be written so that no recognizer sees it: in fullwidth forms (U+FF20 for `@`), with
zero-width characters between its letters, `a%40b.co` (percent-encoded), `a&#64;b.co` (an HTML character
reference), `a\\u0040b.co` (a JSON escape written into a text), in digits of another script (٤١١١),
`YWxpY2VAZXhhbXBsZS5jb20=` (base64). Detection runs on the view — NFKC (which also folds fullwidth forms to ASCII),
zero-width characters removed, escapes and references decoded, digits and dashes made ASCII, a space where a
Chinese, Japanese or Korean letter touches an ASCII letter or a long number — and on the text of every base64
segment that decodes to text; each finding is mapped back to the span of the original it came from, and that span
is what gets redacted.

Plain ASCII text without `%`, `&#`, `\\u` or base64-looking runs (most prompts) is its own view: no copy, no map.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import unquote

# Zero-width and invisible formatting characters people (and tools) slip between letters.
ZERO_WIDTH = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"
)
# Control characters (NUL, escape...) that a terminal or a JSON string carries and a reader does not see.
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
_CONTROL = re.compile(f"[{_CONTROLS}]")
# What makes an ASCII text other than its own view, looked for in one pass (each is then checked for what it starts).
_MAYBE_SPECIAL = re.compile(f"[%&\\\\{_CONTROLS}]")
# Percent-escapes, HTML's numeric character references (`&#64;`, `&#x40;`), JSON's `\u0040` written into a text, every
# character beyond ASCII and the control characters.
_SPECIAL = re.compile(
    r"(?:%[0-9A-Fa-f]{2})+|&#(?:[0-9]{1,7}|[xX][0-9A-Fa-f]{1,6});|\\u[0-9A-Fa-f]{4}|[^\x00-\x7f]|" + f"[{_CONTROLS}]"
)
# An ideographic full stop between two ASCII letters or digits is a dot of a domain written to slip by
# (`alice@example。com`); NFKC leaves it as it is.
_IDEOGRAPHIC_STOPS = frozenset("\u3002\uff61\ufe12")
# A base64 (standard or URL-safe) run long enough to hide an address or a key.
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{12,}={0,2}")
_BASE64_HINT = re.compile(r"[A-Za-z0-9+/_-]{12}")
# Decoded bytes count as text when they are UTF-8 and printable (newlines and tabs allowed).
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


@dataclass(frozen=True, slots=True)
class Decoded:
    """The text of a base64 segment of the original, which spans [start, end)."""

    text: str
    start: int
    end: int


@dataclass(slots=True)
class View:
    """`text` is what recognizers see; view character i came from original[starts[i]:ends[i]]."""

    text: str
    starts: list[int] | None = None  # None: the view is the original
    ends: list[int] | None = None
    decoded: list[Decoded] = field(default_factory=list)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span that view characters [start, end) came from."""
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[end - 1]


def base64_bytes(segment: str) -> bytes | None:
    """The bytes a base64 (standard or URL-safe) segment encodes; None if it is not base64."""
    stripped = "".join(segment.split()).rstrip("=")
    if len(stripped) % 4 == 1:
        return None
    padded = stripped + "=" * (-len(stripped) % 4)
    altchars = b"-_" if ("-" in stripped or "_" in stripped) else None
    try:
        return base64.b64decode(padded, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return None


def as_text(raw: bytes) -> str | None:
    """`raw` as text if it is printable UTF-8 (newlines and tabs allowed), else None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < 4 or _NOT_TEXT.search(text):
        return None
    return text


def decode_base64_text(segment: str) -> str | None:
    """The text a base64 segment encodes, or None if it is not base64 of text."""
    raw = base64_bytes(segment)
    return None if raw is None else as_text(raw)


def canonical(text: str, *, decode_base64: bool = True) -> View:
    """The detection view of `text` (see the module docstring)."""
    plain = text.isascii() and (_MAYBE_SPECIAL.search(text) is None or not _special_ascii(text))
    view = View(text) if plain else _normalised(text)
    if decode_base64 and _BASE64_HINT.search(view.text):
        view.decoded = list(_decoded_segments(view))
    return view


def _special_ascii(text: str) -> bool:
    return "%" in text or "&#" in text or "\\u" in text or _CONTROL.search(text) is not None


def _normalised(text: str) -> View:
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for match in _SPECIAL.finditer(text):
        start, end = match.span()
        if start > pos:
            out.append(text[pos:start])
            starts.extend(range(pos, start))
            ends.extend(range(pos + 1, start + 1))
        pos = end
        piece = match.group()
        if piece[0] == "%":
            replacement = "".join(c for c in unquote(piece, errors="replace") if c not in ZERO_WIDTH)
            replacement = unicodedata.normalize("NFKC", replacement)
        elif piece in ZERO_WIDTH or _CONTROL.match(piece) or _stray_mark(text, start, piece):
            continue
        elif piece in _IDEOGRAPHIC_STOPS and _between_ascii_words(text, start, end):
            replacement = "."
        elif piece[0] in "&\\" and len(piece) > 1:
            replacement = unicodedata.normalize("NFKC", _referenced(piece))
        elif (digit := unicodedata.decimal(piece, None)) is not None:
            replacement = str(digit)  # a digit of another script (٤١١١, ५३६): NFKC leaves it as it is
        elif unicodedata.category(piece) == "Pd" or piece == "\u2212":
            replacement = "-"  # an SSN copied from a PDF with U+2010 or en dashes: NFKC leaves dashes as they are
        elif piece in _DOTS and _between_digits(text, start, end):
            replacement = " "  # a phone grouped by middle dots ("+44 · 7911 · 284 · 366", "7911·284·366")
        else:
            replacement = _apart(text, start, end, unicodedata.normalize("NFKC", piece))
        out.append(replacement)
        starts.extend([start] * len(replacement))
        ends.extend([end] * len(replacement))
    if pos < len(text):
        out.append(text[pos:])
        starts.extend(range(pos, len(text)))
        ends.extend(range(pos + 1, len(text) + 1))
    return View("".join(out), starts, ends)


# Chinese, Japanese and Korean write no space between a word and a number or an address ("卡号是6292...",
# "kakao.com입니다"); their letters are word characters to a pattern, so no `\b` stands between.
_SPACELESS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")

# A long number: nine digits or more (of any script: fullwidth ones too), in groups or not ("3530 6060 5865 1677").
_LONG_NUMBER = r"\d(?:[ .-]?\d){8}"
_LONG_NUMBER_REACH = 17  # its last nine digits with a separator between each two
_LETTER_OR_LONG_NUMBER_BEFORE = re.compile(rf"(?:[A-Za-z]|{_LONG_NUMBER})\Z")
_LETTER_OR_LONG_NUMBER_AFTER = re.compile(rf"[A-Za-z]|{_LONG_NUMBER}")


def _apart(text: str, start: int, end: int, replacement: str) -> str:
    """A letter of a script written without spaces, with a space in the view where it touches ASCII letters or a
    long number (a card, an ID, a phone), so that the value beside it has a boundary. A short number stays joined:
    an address's "神南1-19-11" is read as one by its own pattern."""
    if not _SPACELESS.match(replacement):
        return replacement
    if _LETTER_OR_LONG_NUMBER_BEFORE.search(text, max(0, start - _LONG_NUMBER_REACH), start):
        replacement = " " + replacement
    if _LETTER_OR_LONG_NUMBER_AFTER.match(text, end):
        replacement += " "
    return replacement


def _stray_mark(text: str, start: int, piece: str) -> bool:
    """A combining mark on a sign, which no word is written with (`person@\u0301mail.com`: written to slip by)."""
    return start > 0 and text[start - 1] in _SIGNS and unicodedata.category(piece) == "Mn"


_SIGNS = frozenset("@.:/_-+=")


_DOTS = frozenset("\u00b7\u2022\u2219\u22c5")  # middle dot, bullet, bullet operator, dot operator


def _between_digits(text: str, start: int, end: int) -> bool:
    """A digit within two characters before and after (spaces around the mark): the mark groups a number."""
    return any(c.isdigit() for c in text[max(0, start - 2) : start]) and any(c.isdigit() for c in text[end : end + 2])


def _between_ascii_words(text: str, start: int, end: int) -> bool:
    return start > 0 and end < len(text) and _ascii_word_char(text[start - 1]) and _ascii_word_char(text[end])


def _ascii_word_char(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _referenced(piece: str) -> str:
    """The character `&#64;`, `&#x40;` or `\\u0040` stands for; the piece itself where it stands for none."""
    number = piece[2:-1] if piece[0] == "&" else piece[2:]
    base = 10
    if piece[0] == "\\" or number[0] in "xX":
        number, base = number.lstrip("xX"), 16
    code = int(number, base)
    return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else piece


def _decoded_segments(view: View) -> list[Decoded]:
    found: list[Decoded] = []
    for match in _BASE64.finditer(view.text):
        decoded = decode_base64_text(match.group())
        if decoded is None:
            continue
        start, end = view.span(*match.span())
        # The decoded text may itself be fullwidth or percent-encoded; one level of base64 is enough.
        found.append(Decoded(canonical(decoded, decode_base64=False).text, start, end))
    return found

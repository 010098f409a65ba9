"""Check digits of national identity numbers found by their shape alone (`personal.NationalIdRecognizer`): Luhn, and
personal numbers that hold a birth date or a check digit of their own: Sweden's personnummer, Finland's
henkilötunnus, Norway's fødselsnummer, Belgium's rijksregisternummer, Switzerland's AHV number, Austria's
Sozialversicherungsnummer, Poland's PESEL, Turkey's TC Kimlik number, Korea's resident registration number,
Canada's social insurance number, Chile's RUT, the UAE's Emirates ID, Argentina's CUIL/CUIT and Romania's CNP. A
shape alone would be any number; the date and the check digit make it that number.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_DAY = r"(?:0[1-9]|[12]\d|3[01])"
_MONTH = r"(?:0[1-9]|1[0-2])"
# Written with their separators where a bare run of digits would be any number (a Swedish or Finnish one with its
# "-", a Belgian one with its dots, an Austrian one with its space); Norway's and Switzerland's are often bare.
# Day + 60: a co-ordination number. With its century, born before 2020: "20261203-0045" is a build stamped with its
# date far more often than a small child's number.
_SE = rf"(?:19\d\d|20[01]\d|\d\d){_MONTH}(?:{_DAY}|6[1-9]|[78]\d|9[01])[-+]\d{{4}}"
_FI = rf"{_DAY}{_MONTH}\d\d[-+]\d{{3}}[0-9A-FHJ-NPR-Y]"
_NO = rf"(?:{_DAY}|[4-6]\d|7[01]){_MONTH}\d\d ?\d{{5}}"  # day + 40: a D-number
_BE = r"\d\d\.(?:0\d|1[0-2])\.(?:[0-2]\d|3[01])-\d{3}\.\d\d"
_CH = r"756(?:\.\d{4}\.\d{4}\.\d\d|\d{10})"
_AT = rf"[1-9]\d{{3}} {_DAY}{_MONTH}\d\d"
_PL = rf"\d\d(?:[02][1-9]|[13][012]){_DAY}\d{{5}}"  # born in the 1900s, or in the 2000s (month + 20)
_TR = r"[1-9]\d{10}"
# Korea's: the birth date, a "-" and seven digits, the first of them sex and century (5-8: a foreigner's). Canada's SIN
# with its dashes only: "275 934 107" is also how a large number is written.
_KR = rf"\d\d{_MONTH}{_DAY}-[1-8]\d{{6}}"
_CA = r"[1-79]\d\d-\d{3}-\d{3}"
_CL = r"\d{1,2}\.\d{3}\.\d{3}-[\dkK]"  # Chile's RUT, with its dots
_AE = r"784-?(?:19|20)\d\d-?\d{7}-?\d"  # the UAE's Emirates ID: 784, the birth year, Luhn; dashes optional
_AR = r"(?:20|23|24|27|30|33|34)-\d{8}-\d"  # Argentina's CUIL/CUIT, with its dashes: kind, DNI, mod-11 digit
# Romania's CNP: sex and century, the birth date, the county (01-52), three digits and a check digit.
_RO = rf"[1-8]\d\d{_MONTH}{_DAY}(?:0[1-9]|[1-4]\d|5[0-2])\d{{4}}"
CHECKED_ID = "|".join((_SE, _FI, _NO, _BE, _CH, _AT, _PL, _TR, _KR, _CA, _CL, _AE, _AR, _RO))

_FI_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_NO_WEIGHTS = ((3, 7, 6, 1, 8, 9, 4, 5, 2), (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))
_AT_WEIGHTS = (3, 7, 9, 0, 5, 8, 4, 2, 1, 6)
_PL_WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
_KR_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_AR_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_RO_WEIGHTS = (2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9)


def luhn(number: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(number)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())


def _se(number: str) -> bool:
    return luhn(_digits(number)[-10:])


def _fi(number: str) -> bool:
    return _FI_CHECK[int(number[:6] + number[7:10]) % 31] == number[10]


def _no(number: str) -> bool:
    digits = [int(c) for c in _digits(number)]
    for weights in _NO_WEIGHTS:
        check = -sum(d * w for d, w in zip(digits, weights, strict=False)) % 11
        if check == 10 or check != digits[len(weights)]:
            return False
    return True


def _be(number: str) -> bool:
    digits = _digits(number)
    check = int(digits[9:])
    return any(97 - int(head + digits[:9]) % 97 == check for head in ("", "2"))  # "2": born in 2000 or later


def _ch(number: str) -> bool:  # EAN-13
    digits = [int(c) for c in _digits(number)]
    return -sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits[:12])) % 10 == digits[12]


def _at(number: str) -> bool:
    digits = [int(c) for c in _digits(number)]
    return sum(d * w for d, w in zip(digits, _AT_WEIGHTS, strict=True)) % 11 == digits[3]


def _pl(number: str) -> bool:
    digits = [int(c) for c in number]
    return -sum(d * w for d, w in zip(digits, _PL_WEIGHTS, strict=False)) % 10 == digits[10]


def _tr(number: str) -> bool:
    d = [int(c) for c in number]
    return (sum(d[0:9:2]) * 7 - sum(d[1:8:2])) % 10 == d[9] and sum(d[:10]) % 10 == d[10]


def _kr(number: str) -> bool:
    digits = [int(c) for c in _digits(number)]
    return (11 - sum(d * w for d, w in zip(digits, _KR_WEIGHTS, strict=False)) % 11) % 10 == digits[12]


def _luhn(number: str) -> bool:
    return luhn(_digits(number))


def _cl(number: str) -> bool:
    digits = _digits(number[:-1])
    total = sum(int(d) * (2 + i % 6) for i, d in enumerate(reversed(digits)))
    return "0123456789K"[-total % 11] == number[-1].upper()


def _ar(number: str) -> bool:
    digits = [int(c) for c in _digits(number)]
    check = 11 - sum(d * w for d, w in zip(digits, _AR_WEIGHTS, strict=False)) % 11
    return check != 10 and check % 11 == digits[10]


def _ro(number: str) -> bool:
    digits = [int(c) for c in number]
    check = sum(d * w for d, w in zip(digits, _RO_WEIGHTS, strict=False)) % 11
    return (1 if check == 10 else check) == digits[12]


_CHECKS: tuple[tuple[re.Pattern[str], Callable[[str], bool]], ...] = tuple(
    (re.compile(shape), check)
    for shape, check in (
        *((_SE, _se), (_FI, _fi), (_NO, _no), (_BE, _be), (_CH, _ch), (_AT, _at)),
        *((_PL, _pl), (_TR, _tr), (_KR, _kr), (_CA, _luhn), (_CL, _cl), (_AE, _luhn), (_AR, _ar), (_RO, _ro)),
    )
)


def checked_id_valid(number: str) -> bool:
    """Whether `number` has the shape of one of these numbers and its check digit holds (some shapes overlap: a
    Finnish and a Swedish number are both six digits, a "-" and four characters; eleven digits may be Norwegian,
    Polish or Turkish)."""
    return any(shape.fullmatch(number) is not None and check(number) for shape, check in _CHECKS)

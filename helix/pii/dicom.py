"""A DICOM header as dcmdump prints it: `(0010,0020) LO [JP-22048817]  #  12, 1 PatientID`. The patient module's
tags hold a patient's identifiers (0010,0020 and other ids 0010,1000), birth date (0010,0030), address (0010,1040) and
phones (0010,2154); the name (0010,0010) is a name: the model's to find."""

from __future__ import annotations

import re
from collections.abc import Iterator

IDENTIFIERS = ("0020", "1000")
BIRTH_DATE = ("0030",)
ADDRESS = ("1040",)
PHONES = ("2154",)
HINT = "(0010,"
# A value's length bounded: an unclosed "[" read to the line's end from every "(0010," was quadratic.
_ELEMENT = re.compile(r"\(0010,([0-9A-Fa-f]{4})\)[ \t]+[A-Z]{2}[ \t]+\[([^\]\r\n]{1,256})\]")


def present(text: str) -> bool:
    return HINT in text


def fields(text: str, elements: tuple[str, ...]) -> Iterator[tuple[int, int]]:
    """Spans of the values of the patient module's `elements` (each repetition, split by "\\")."""
    for element in _ELEMENT.finditer(text):
        if element.group(1) in elements:
            at = element.start(2)
            for value in element.group(2).split("\\"):
                if value.strip():
                    yield at, at + len(value.rstrip())
                at += len(value) + 1

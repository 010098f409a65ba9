"""An HL7 v2 message's patient identification (PID) and insurance (IN1) segments: a patient's data in numbered fields,
no label beside it.

`PID|1||MRN77412093^^^HOSP^MR||ZABALETA^MIREN^A||19840312|F|||Calle Mayor 5^^Bilbao^^48001^ESP|...` holds the
patient's identifiers (PID-2, -3, -4), birth date (PID-7), address (PID-11), phones (PID-13, -14), account (PID-18),
social security number (PID-19) and driving licence (PID-20). Its name (PID-5) is a name: the model's to find. An IN1
segment holds the insured's birth date (IN1-18), address (IN1-19), policy number (IN1-36) and id (IN1-49).
Fields are split by "|", repetitions by "~", components by "^" (the message's MSH segment may name other separators;
these are the standard's defaults, which nearly every message keeps).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

# The fields of each kind, by segment.
IDENTIFIERS = {"PID": (2, 3, 4, 18, 19, 20), "IN1": (36, 49)}  # patient ids, account, SSN, licence; policy, insured
BIRTH_DATE = {"PID": (7,), "IN1": (18,)}
ADDRESS = {"PID": (11,), "IN1": (19,)}
PHONES = {"PID": (13, 14)}  # home, business
HINTS = ("pid|", "in1|")  # in the lower-cased text
_SEGMENT = re.compile(r"(?:^|(?<=[\r\n]))[ \t]*(PID|IN1)\|([^\r\n]*)")  # indented too (a Markdown code block)


def present(text: str) -> bool:
    """Whether the text may hold a segment these fields are read from (a cheap test before `fields`)."""
    return "PID|" in text or "IN1|" in text


def fields(text: str, numbers: Mapping[str, tuple[int, ...]], *, whole: bool = False) -> Iterator[tuple[int, int]]:
    """Spans of the fields `numbers` (by segment) of each segment: each repetition's first component (an identifier
    without its assigning authority), or each repetition whole (`whole`: an address's street, town and postcode)."""
    for segment in _SEGMENT.finditer(text):
        wanted = numbers.get(segment.group(1), ())
        at = segment.start(2)
        for number, field in enumerate(segment.group(2).split("|"), 1):
            if number in wanted:
                start = at
                for repetition in field.split("~"):
                    part = repetition if whole else repetition.split("^", 1)[0]
                    if part.strip("^ "):
                        yield start, start + len(part.rstrip("^ "))
                    start += len(repetition) + 1  # and its "~"
            at += len(field) + 1  # and its "|"

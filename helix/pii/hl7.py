"""An HL7 v2 message's patient identification segment (PID): a patient's data in numbered fields, no label beside it.

`PID|1||MRN77412093^^^HOSP^MR||ZABALETA^MIREN^A||19840312|F|||Calle Mayor 5^^Bilbao^^48001^ESP|...` holds the
patient's identifiers (PID-2, -3, -4), birth date (PID-7), address (PID-11), phones (PID-13, -14), account (PID-18),
social security number (PID-19) and driving licence (PID-20). Its name (PID-5) is a name: the model's to find.
Fields are split by "|", repetitions by "~", components by "^" (the message's MSH segment may name other separators;
these are the standard's defaults, which nearly every message keeps).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

IDENTIFIERS = (2, 3, 4, 18, 19, 20)  # external, internal and alternate patient ids; account; SSN; driving licence
BIRTH_DATE = (7,)
ADDRESS = (11,)
PHONES = (13, 14)  # home, business
HINT = "pid|"  # in the lower-cased text
_SEGMENT = re.compile(r"(?:^|(?<=[\r\n]))[ \t]*PID\|([^\r\n]*)")  # indented too (a Markdown code block)


def pid_fields(text: str, numbers: tuple[int, ...], *, whole: bool = False) -> Iterator[tuple[int, int]]:
    """Spans of the fields `numbers` of each PID segment: each repetition's first component (an identifier without
    its assigning authority), or each repetition whole (`whole`: an address's street, town and postcode)."""
    for segment in _SEGMENT.finditer(text):
        at = segment.start(1)
        for number, field in enumerate(segment.group(1).split("|"), 1):
            if number in numbers:
                start = at
                for repetition in field.split("~"):
                    part = repetition if whole else repetition.split("^", 1)[0]
                    if part.strip("^ "):
                        yield start, start + len(part.rstrip("^ "))
                    start += len(repetition) + 1  # and its "~"
            at += len(field) + 1  # and its "|"

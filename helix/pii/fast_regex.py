"""Built-in patterns on Python's own `re` engine where it accepts them.

Presidio and the secret recognizers compile with the `regex` module, which is 2-3x slower than
`re` on the simple patterns most recognizers use (Presidio's email pattern over a 2 KB prompt:
0.35 vs 0.14 ms). Patterns `re` compiles mean the same under both (the `regex` module's default
V0 behaviour is `re`'s). Only Helix's own and Presidio's vetted patterns switch: `regex` stays for
the patterns users configure, for its match timeout against catastrophic backtracking.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import regex
from presidio_analyzer import EntityRecognizer

_SAME_FLAGS = regex.IGNORECASE | regex.MULTILINE | regex.DOTALL | regex.VERBOSE | regex.ASCII


class StdlibPattern:
    """A compiled `re` pattern that takes the `timeout` Presidio passes to `regex`'s finditer."""

    def __init__(self, compiled: re.Pattern[str]) -> None:
        self._compiled = compiled
        self.groupindex = compiled.groupindex

    def finditer(self, text: str, *args: Any, timeout: float | None = None) -> Iterator[re.Match[str]]:
        return self._compiled.finditer(text, *args)


def compile_fast(pattern: str, flags: int) -> StdlibPattern | regex.Pattern[str]:
    """`pattern` on `re` when it compiles there with the same flags, else on `regex`."""
    if flags & ~_SAME_FLAGS == 0:
        try:
            # regex and re share these flags' values (IGNORECASE=2, MULTILINE=8, DOTALL=16, ...).
            return StdlibPattern(re.compile(pattern, flags))
        except re.error:
            pass
    return regex.compile(pattern, flags)


def speed_up(recognizer: EntityRecognizer) -> None:
    """Pre-compile a Presidio PatternRecognizer's patterns on `re` where possible."""
    flags = getattr(recognizer, "global_regex_flags", None)
    for pattern in getattr(recognizer, "patterns", None) or []:
        if flags is None:
            return
        pattern.compiled_regex = compile_fast(pattern.regex, flags)
        pattern.compiled_with_flags = flags

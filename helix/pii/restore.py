"""Put pseudonymized values back into what the model wrote.

Models echo placeholders as `<PERSON_1>`, but inside JSON they may write `\\u003cPERSON_1\\u003e` and
in HTML `&lt;PERSON_1&gt;`. The value is escaped the same way it was found, so restored JSON stays
valid JSON. Only placeholders from this request's mapping are replaced; anything else that looks
like one is left alone.

`StreamRestorer` restores a token stream chunk by chunk: it holds back a trailing partial
placeholder (`<PER`, `\\u003cPERSON_`) until the next chunk shows whether it completes, so it never
buffers more than the longest placeholder form (about 12 characters plus the longest name).
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from functools import lru_cache

import regex

_OPEN = r"(?P<open><|\\u003[cC]|&lt;)"
_CLOSE = r"(?:>|\\u003[eE]|&gt;)"
_LONGEST_OPEN = len("\\u003c")
_OPENERS = "<\\&"


def _inner(placeholder: str) -> str | None:
    if len(placeholder) > 2 and placeholder[0] == "<" and placeholder[-1] == ">":
        return placeholder[1:-1]
    return None


@lru_cache(maxsize=256)
def _compile(names: tuple[str, ...]) -> regex.Pattern[str]:
    # Longest first so PERSON_12 is not read as PERSON_1 followed by "2".
    alternatives = "|".join(regex.escape(n) for n in sorted(names, key=len, reverse=True))
    return regex.compile(_OPEN + "(?P<name>" + alternatives + ")" + _CLOSE)


class _Restorer:
    def __init__(self, mapping: Mapping[str, str], json_escape: bool = False) -> None:
        self.values = {name: v for k, v in mapping.items() if (name := _inner(k)) is not None}
        self.pattern = _compile(tuple(sorted(self.values))) if self.values else None
        self.json_escape = json_escape
        longest = max((len(n) for n in self.values), default=0)
        self.max_len = 2 * _LONGEST_OPEN + longest if self.values else 0

    def __call__(self, text: str) -> str:
        if self.pattern is None or not text:
            return text
        return self.pattern.sub(self._value, text)

    def _value(self, match: regex.Match[str]) -> str:
        value = self.values[match.group("name")]
        opener = match.group("open")
        if opener.startswith("\\") or self.json_escape:
            return json.dumps(value, ensure_ascii=False)[1:-1]
        if opener == "&lt;":
            return html.escape(value, quote=False)
        return value

    def partial_start(self, text: str) -> int:
        """Index where a trailing, still incomplete placeholder starts; len(text) if none."""
        if self.pattern is None:
            return len(text)
        for i in range(max(0, len(text) - self.max_len + 1), len(text)):
            if text[i] in _OPENERS:
                match = self.pattern.fullmatch(text, pos=i, partial=True)
                if match is not None and match.partial:
                    return i
        return len(text)


def restore(text: str, mapping: Mapping[str, str], *, json_escape: bool = False) -> str:
    """Replace this request's placeholders in `text` with their values.

    `json_escape=True` when `text` is the inside of a JSON string (tool call arguments), so a value
    containing `"` or `\\` keeps it valid.
    """
    return _Restorer(mapping, json_escape)(text)


class StreamRestorer:
    """feed() each streamed delta, then flush() once at the end of the stream."""

    def __init__(self, mapping: Mapping[str, str], *, json_escape: bool = False) -> None:
        self._restore = _Restorer(mapping, json_escape)
        self._pending = ""

    @property
    def max_buffer(self) -> int:
        return max(0, self._restore.max_len - 1)

    def feed(self, delta: str) -> str:
        text = self._pending + delta
        cut = self._restore.partial_start(text)
        self._pending = text[cut:]
        return self._restore(text[:cut])

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return self._restore(text)

"""Helix's own request headers, read and checked in one place: a bad value is a 400, never a bad row."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping

from helix.call import Call
from helix.errors import InvalidRequest
from helix.pii.scrub import quoted

MAX_TEXT_CHARS = 256
# Ten years: any longer and an expiry (now + seconds) stops meaning anything.
MAX_SECONDS = 10 * 365 * 86400.0
TIMEOUT_HEADER = "x-helix-timeout"
MAX_TIMEOUT_SECONDS = 3600.0


def number_header(headers: Mapping[str, str], name: str, *, high: float) -> float | None:
    """A finite number from 0 to `high`, or None when the header is absent."""
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise InvalidRequest(
            f"header {name} must be a number, got {quoted(value)}", param=name, code="invalid_header"
        ) from None
    if not math.isfinite(number) or not 0 <= number <= high:
        raise InvalidRequest(
            f"header {name} must be a number from 0 to {high:g}, got {quoted(value)}", param=name, code="invalid_header"
        )
    return number


def header_text(headers: Mapping[str, str], name: str, default: str = "") -> str:
    """A header's value as text: its bytes read as UTF-8 when they are (as clients send text), else as latin-1, as
    HTTP reads them (so `x-helix-user: Zoë` is the user the `user` field "Zoë" is, not "ZoÃ«")."""
    value = headers.get(name, default)
    try:
        return value.encode("latin-1").decode()
    except UnicodeError:
        return value


# Bidirectional overrides and isolates: printed, they reorder a table's row (a user shown as another).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable_label(value: str) -> bool:
    """Whether a short label a client names (a user, a tag) is safe to print in a table: at most MAX_TEXT_CHARS
    characters, no control characters (C0, DEL, or C1: a terminal reads \x9b as an escape) and no bidirectional
    controls."""
    return len(value) <= MAX_TEXT_CHARS and not any(
        unicodedata.category(c) == "Cc" or c in _BIDI_CONTROLS for c in value
    )


def text_header(headers: Mapping[str, str], name: str, default: str = "") -> str:
    """A short text header: a `printable_label`."""
    value = header_text(headers, name, default)
    if not printable_label(value):
        raise InvalidRequest(
            f"header {name} must be at most {MAX_TEXT_CHARS} printable characters", param=name, code="invalid_header"
        )
    return value


def timeout_header(headers: Mapping[str, str]) -> float | None:
    """The request's own deadline in seconds (x-helix-timeout): more than 0, at most an hour; None when absent."""
    raw = headers.get(TIMEOUT_HEADER)
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= MAX_TIMEOUT_SECONDS or math.isnan(seconds):
        raise InvalidRequest(
            f"{TIMEOUT_HEADER} must be a number of seconds between 0 and {MAX_TIMEOUT_SECONDS:g}",
            param=TIMEOUT_HEADER,
            code="invalid_timeout",
        )
    return seconds


def deadline_left(call: Call, default: float) -> tuple[float, float]:
    """The request's deadline in seconds (its x-helix-timeout, else `default`: `[routing] deadline`) and what is left of
    it now: counted from the request's arrival, so time spent waiting before a stage (for a budget's room, for the
    same request in flight) is spent."""
    seconds = timeout_header(call.headers) or default
    return seconds, seconds - call.elapsed()

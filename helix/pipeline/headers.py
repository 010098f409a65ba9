"""Helix's own request headers, read and checked in one place: a bad value is a 400, never a bad row."""

from __future__ import annotations

import math
from collections.abc import Mapping

from helix.errors import InvalidRequest

MAX_TEXT_CHARS = 256
# Ten years: any longer and an expiry (now + seconds) stops meaning anything.
MAX_SECONDS = 10 * 365 * 86400.0


def number_header(headers: Mapping[str, str], name: str, *, high: float) -> float | None:
    """A finite number from 0 to `high`, or None when the header is absent."""
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise InvalidRequest(f"header {name} must be a number, got {value[:40]!r}", param=name) from None
    if not math.isfinite(number) or not 0 <= number <= high:
        raise InvalidRequest(f"header {name} must be a number from 0 to {high:g}, got {value[:40]!r}", param=name)
    return number


def text_header(headers: Mapping[str, str], name: str, default: str = "") -> str:
    """A short text header: at most MAX_TEXT_CHARS characters, no control characters."""
    value = headers.get(name, default)
    if len(value) > MAX_TEXT_CHARS or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidRequest(
            f"header {name} must be at most {MAX_TEXT_CHARS} printable characters", param=name, code="invalid_header"
        )
    return value

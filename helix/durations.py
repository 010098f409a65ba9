"""Human durations on the command line and in headers: 30s, 15m, 24h, 7d, 2w."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# A hundred years: an expiry or a lookback beyond this is a typo, and beyond what dates can show.
MAX_SECONDS = 100 * 365 * 86400.0
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)


def parse_duration(text: str) -> float:
    """Seconds in `text`; raises ValueError with the accepted forms."""
    match = _PATTERN.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a duration: use a number and a unit, like 30s, 15m, 24h, 7d or 2w")
    seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if seconds > MAX_SECONDS:
        raise ValueError(f"'{text.strip()}' is too long: at most 100 years (36500d)")
    return seconds

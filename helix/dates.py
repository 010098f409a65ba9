"""Timestamps shown to people (CLI tables, the dashboard): whatever is stored, showing it never fails."""

from __future__ import annotations

from datetime import datetime


def local_time(ts: float | None, fmt: str = "%Y-%m-%d %H:%M", missing: str = "-") -> str:
    if ts is None:
        return missing
    try:
        return datetime.fromtimestamp(ts).strftime(fmt)
    except (OverflowError, OSError, ValueError):  # beyond year 9999 (or NaN), e.g. written by an older Helix
        return "far future" if ts > 0 else "invalid date"

"""Budget periods: calendar day, ISO week (from Monday) and month in UTC, or the key's whole life."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

PERIODS = ("day", "week", "month", "total")
ADJECTIVE = {"day": "daily", "week": "weekly", "month": "monthly", "total": "total"}


def period_bounds(period: str, now: float) -> tuple[float, float]:
    """Start and end (epoch seconds) of the `period` containing `now`; `total` is (0, inf)."""
    if period == "total":
        return 0.0, math.inf
    moment = datetime.fromtimestamp(now, UTC)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        start, end = day, day + timedelta(days=1)
    elif period == "week":
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=7)
    elif period == "month":
        start = day.replace(day=1)
        end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    else:
        raise ValueError(f"unknown budget period '{period}': use one of {', '.join(PERIODS)}")
    return start.timestamp(), end.timestamp()


def describe_reset(end: float) -> str:
    if math.isinf(end):
        return "it does not reset (a total budget)"
    return "it resets at " + datetime.fromtimestamp(end, UTC).strftime("%Y-%m-%d %H:%M UTC")

"""The one time range of a dashboard page, read from and written to the URL so a view can be shared:
`?range=1h|24h|7d|30d` (up to now, live) or `?from=2026-11-01&to=2026-11-30` (local dates or date-times).

Cards and tables cover exactly the range; charts split it into buckets aligned to whole steps (hours,
local days), so the first bucket may start before the range and holds only its part of it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from helix.store.queries import Filters

PRESETS: dict[str, tuple[float, float]] = {  # name -> (span, chart step), seconds
    "1h": (3_600, 300),
    "24h": (86_400, 3_600),
    "7d": (7 * 86_400, 6 * 3_600),
    "30d": (30 * 86_400, 86_400),
}
DEFAULT = "24h"
STEPS: tuple[float, ...] = (60, 300, 900, 3_600, 3 * 3_600, 6 * 3_600, 86_400, 7 * 86_400)
MAX_BUCKETS = 60


class BadRange(ValueError):
    pass


def _parse_moment(text: str, end: bool) -> float:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadRange(f"'{text}' is not a date like 2026-11-30 or 2026-11-30T14:00") from None
    try:
        stamp = moment.timestamp()
    except (ValueError, OverflowError, OSError):  # no local time for it on this platform
        stamp = -1.0
    if stamp < 0:  # before 1970 a chart's first bucket could start in year 0, which no date can show
        raise BadRange(f"'{text}' is before 1970, older than any request Helix logged")
    # A bare date as the end of a range means the whole of that day.
    return stamp + 86_400 if end and len(text.strip()) == 10 else stamp


def _local_offset(ts: float) -> float:
    return float(time.localtime(ts).tm_gmtoff)


@dataclass(frozen=True)
class TimeRange:
    name: str  # a preset, or "custom"
    since: float
    until: float | None  # None: up to now, and the page stays live
    step: float
    start_text: str = ""
    end_text: str = ""

    @property
    def live(self) -> bool:
        return self.until is None

    @property
    def label(self) -> str:
        if self.name != "custom":
            return f"last {self.name}"
        return f"{self.start_text} to {self.end_text}"

    def query(self) -> dict[str, str]:
        """The URL query that shows this range."""
        if self.name == "custom":
            return {"from": self.start_text, "to": self.end_text}
        return {"range": self.name}

    def filters(self, oldest: float | None = None, **only: Any) -> Filters:
        """The range as store filters; given the log's oldest request, windows covering more than a tenth of
        the log's history read it in one scan."""
        scan = oldest is not None and self.since - oldest < 0.9 * ((self.until or time.time()) - oldest)
        return Filters(since=self.since, until=self.until, scan=scan, **only)

    def origin(self) -> float:
        """Where bucket 0 starts: the range's start, rounded down to a whole step in local time."""
        offset = _local_offset(self.since)
        return math.floor((self.since + offset) / self.step) * self.step - offset

    def buckets(self, now: float) -> list[float]:
        origin, end = self.origin(), self.until if self.until is not None else now
        return [origin + i * self.step for i in range(max(1, math.ceil((end - origin) / self.step)))]

    def bucket_label(self, start: float) -> str:
        moment = datetime.fromtimestamp(start)
        if self.step >= 86_400:
            return moment.strftime("%m-%d")
        if self.until is None and self.since >= time.time() - 86_400 - self.step:
            return moment.strftime("%H:%M")
        return moment.strftime("%m-%d %H:%M")

    def shifted_to(self, now: float) -> TimeRange:
        """A live preset re-read at `now` (the window slides with time)."""
        if self.name == "custom":
            return self
        return replace(self, since=now - PRESETS[self.name][0])


def parse(query: dict[str, str], now: float | None = None) -> TimeRange:
    """The range a page's URL asks for; raises BadRange with a message for the page to show."""
    now = time.time() if now is None else now
    start, end = query.get("from", "").strip(), query.get("to", "").strip()
    if start or end:
        if not (start and end):
            raise BadRange("a custom range needs both 'from' and 'to'")
        since, until = _parse_moment(start, end=False), _parse_moment(end, end=True)
        if until <= since:
            raise BadRange("the range ends before it starts")
        span = until - since
        # beyond weeks, whole days: a range of years is still MAX_BUCKETS buckets, not one a week
        step = next((s for s in STEPS if span / s <= MAX_BUCKETS), math.ceil(span / MAX_BUCKETS / 86_400) * 86_400)
        return TimeRange("custom", since, until, step, start, end)
    name = query.get("range", DEFAULT) or DEFAULT
    if name not in PRESETS:
        raise BadRange(f"unknown range '{name}': use one of {', '.join(PRESETS)} or from/to dates")
    span, step = PRESETS[name]
    return TimeRange(name, now - span, None, step)

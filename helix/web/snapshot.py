"""Everything the dashboard shows, read in one go through the store's shared queries (the same ones the
admin API and the CLI use): no SQL of its own, no state but the SQLite file."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from helix.cache import store as cache_store
from helix.pii import incidents
from helix.store import keys as key_store
from helix.store import queries
from helix.store.queries import TimeGroup

DAY = 86_400.0
WEEK = 7 * DAY
TIMELINE_DAYS = 30
TOP = 10
RECENT = 50

Row = dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    taken_at: float
    day: Row  # queries.stats over the last 24 hours
    week: Row  # ... and over the last 7 days
    overhead_p50_ms: float | None  # Helix's own time per request, last 24 hours
    overhead_p99_ms: float | None
    hourly: list[Row]  # spend per local hour, last 24 hours, newest first
    daily: list[Row]  # spend per local day, last TIMELINE_DAYS days, newest first
    by_model: list[Row]  # the last 7 days' top spenders
    by_key: list[Row]
    by_user: list[Row]
    keys: list[Row]  # every key, with spend over its budget period
    recent: list[Row]  # the latest requests, oldest first
    cache: Row  # cache entries and the last 7 days' hit counts
    pii: list[Row]  # incident totals per entity type and action, last 7 days
    key_names: dict[str, str]  # key id -> name, revoked keys included

    def timeline(self, by: TimeGroup) -> tuple[list[str], list[float], list[float]]:
        """Buckets oldest first (named as queries.spend names them), with spend and savings; zero where idle."""
        if by == "hour":
            rows = self.hourly
            buckets = [datetime.fromtimestamp(self.taken_at - 3600 * i).strftime("%Y-%m-%d %H:00") for i in range(24)]
        else:
            rows, today = self.daily, date.fromtimestamp(self.taken_at)
            buckets = [(today - timedelta(days=i)).isoformat() for i in range(TIMELINE_DAYS)]
        buckets.reverse()
        found = {row["grp"]: row for row in rows}
        spent = [found[b]["cost"] if b in found else 0.0 for b in buckets]
        saved = [found[b]["saved"] if b in found else 0.0 for b in buckets]
        return buckets, spent, saved


def _percentile(conn: sqlite3.Connection, column: str, since: float, fraction: float) -> float | None:
    found = queries.percentile(column, since, fraction).rows(conn)
    return found[0]["value"] if found else None


def load(conn: sqlite3.Connection, now: float | None = None) -> Snapshot:
    now = time.time() if now is None else now
    day, week = now - DAY, now - WEEK
    keys = key_store.report(conn, key_store.list_keys(conn, include_revoked=True), now)
    return Snapshot(
        taken_at=now,
        day=queries.stats(day).rows(conn)[0],
        week=queries.stats(week).rows(conn)[0],
        overhead_p50_ms=_percentile(conn, "overhead_ms", day, 0.5),
        overhead_p99_ms=_percentile(conn, "overhead_ms", day, 0.99),
        hourly=queries.spend("hour", day, 25).rows(conn),
        daily=queries.spend("day", now - TIMELINE_DAYS * DAY, TIMELINE_DAYS + 1).rows(conn),
        by_model=queries.spend("model", week, TOP).rows(conn),
        by_key=queries.spend("key", week, TOP).rows(conn),
        by_user=queries.spend("user", week, TOP).rows(conn),
        keys=keys,
        recent=queries.recent_requests(RECENT).rows(conn),
        cache=cache_store.stats(conn, week),
        pii=incidents.totals(conn, week),
        key_names={key["id"]: key["name"] for key in keys},
    )

"""What the dashboard's pages show, read through the store's shared queries (the ones the admin API and the
CLI use, plus the dashboard's time series): no SQL of its own, no state but the SQLite file."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from helix.cache import entries as cache_rows
from helix.periods import period_bounds
from helix.store import keys as key_store
from helix.store import queries, series, spend
from helix.store.db import Connection
from helix.store.queries import CACHE_RESULTS, Filters
from helix.web.timerange import TimeRange

Row = dict[str, Any]
TOP = 10
RECENT = 10


@dataclass(frozen=True)
class Summary:
    """Totals of a view: the stats row, each cache result's requests (they add up to `requests`), and the
    latency and overhead percentiles of answered requests."""

    totals: Row
    results: dict[str, int]
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    overhead_p50_ms: float | None
    overhead_p95_ms: float | None


@dataclass(frozen=True)
class Series:
    labels: list[str]
    spent: list[float]
    saved: list[float]
    results: dict[str, list[int]]  # cache result -> requests per bucket
    latency_p50: list[float | None]
    latency_p95: list[float | None]
    overhead_p50: list[float | None]
    pii: dict[str, list[int]]  # entity type -> values found per bucket


@dataclass(frozen=True)
class View:
    """One page's numbers over its range, for one key, user or model (or everything)."""

    summary: Summary
    series: Series
    by_model: list[Row]
    by_key: list[Row]
    by_user: list[Row]
    recent: list[Row]
    errors: list[Row]


def percentile(ordered: list[float], fraction: float) -> float | None:
    """The value below which `fraction` of the sorted values lie (nearest rank), None for none."""
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


@dataclass(frozen=True)
class _Timings:
    latency: list[float]  # sorted, the whole window
    overhead: list[float]
    by_bucket: dict[int, tuple[list[float], list[float]]]  # sorted latency and overhead per bucket


def _timings(conn: Connection, filters: Filters, origin: float, step: float) -> _Timings:
    latency: list[float] = []
    overhead: list[float] = []
    by_bucket: dict[int, tuple[list[float], list[float]]] = {}
    query = series.timings(filters, origin, step)
    for bucket, lat, over in conn.execute(query.sql, query.params):
        lists = by_bucket.setdefault(bucket, ([], []))
        latency.append(lat)
        lists[0].append(lat)
        if over is not None:
            overhead.append(over)
            lists[1].append(over)
    for values in (latency, overhead, *(v for pair in by_bucket.values() for v in pair)):
        values.sort()
    return _Timings(latency, overhead, by_bucket)


def _series(
    conn: Connection, rng: TimeRange, filters: Filters, now: float, timed: _Timings
) -> tuple[Series, dict[str, int]]:
    starts = rng.buckets(now)
    origin, n = rng.origin(), len(starts)
    activity = {r["bucket"]: r for r in series.activity(filters, origin, rng.step).rows(conn)}

    def column(name: str) -> list[Any]:
        return [activity[i][name] if i in activity else 0 for i in range(n)]

    def per_bucket(which: int, fraction: float) -> list[float | None]:
        return [percentile(timed.by_bucket[i][which], fraction) if i in timed.by_bucket else None for i in range(n)]

    pii: dict[str, list[int]] = {}
    for row in series.pii(filters, origin, rng.step).rows(conn):
        if 0 <= row["bucket"] < n:
            pii.setdefault(row["entity_type"], [0] * n)[row["bucket"]] = int(row["found"])
    results: dict[str, list[int]] = {r: column(r) for r in CACHE_RESULTS}
    built = Series(
        labels=[rng.bucket_label(start) for start in starts],
        spent=column("spent"),
        saved=column("saved"),
        results=results,
        latency_p50=per_bucket(0, 0.5),
        latency_p95=per_bucket(0, 0.95),
        overhead_p50=per_bucket(1, 0.5),
        pii=dict(sorted(pii.items(), key=lambda item: -sum(item[1]))),
    )
    return built, {r: sum(values) for r, values in results.items()}


def oldest(conn: Connection) -> float | None:
    """When the log starts (None: empty), to tell how much of it a window covers."""
    found: float | None = queries.oldest_request().rows(conn)[0]["ts"]
    return found


def view(conn: Connection, rng: TimeRange, now: float, **only: Any) -> View:
    """The numbers of a page: `only` narrows them to a key_id, user or model (see queries.Filters)."""
    filters = rng.filters(oldest(conn), **only)
    timed = _timings(conn, filters, rng.origin(), rng.step)
    built, results = _series(conn, rng, filters, now, timed)
    summary = Summary(
        totals=queries.stats(filters).rows(conn)[0],
        results=results,
        latency_p50_ms=percentile(timed.latency, 0.5),
        latency_p95_ms=percentile(timed.latency, 0.95),
        overhead_p50_ms=percentile(timed.overhead, 0.5),
        overhead_p95_ms=percentile(timed.overhead, 0.95),
    )
    return View(
        summary=summary,
        series=built,
        by_model=queries.spend("model", filters, TOP).rows(conn),
        by_key=queries.spend("key", filters, TOP).rows(conn),
        by_user=queries.spend("user", filters, TOP).rows(conn),
        recent=queries.find_requests(filters, RECENT).rows(conn),
        errors=series.error_codes(filters).rows(conn),
    )


def keys(conn: Connection, now: float, include_revoked: bool = True) -> list[Row]:
    """Every key with its spend over its budget period, the closest to its budget first."""
    rows = spend.report(conn, key_store.list_keys(conn, include_revoked=include_revoked), now)
    order = {"active": 0, "expired": 1, "revoked": 2}
    return sorted(rows, key=lambda k: (order.get(k["status"], 3), -(k["budget_used"] or -1), k["name"]))


def cache_entries(conn: Connection, rng: TimeRange) -> Row:
    return cache_rows.stats(conn, rng.since)


@dataclass(frozen=True)
class KeyView:
    key: Row
    view: View
    burn_labels: list[str]  # the budget period, in buckets
    burn_spent: list[float | None]  # cumulative spend so far in the period (None: still to come)
    busiest: Row  # the most requests and tokens in one minute over the range
    last_minute: Row


def key_view(conn: Connection, name: str, rng: TimeRange, now: float) -> KeyView:
    record = key_store.find(conn, name)
    (row,) = spend.report(conn, [record], now)
    start, end = period_bounds(record.spec.period, now)
    if math.isinf(end):  # a total budget: from the key's creation to now
        start, end = record.created_at, now
    burn = TimeRange("custom", start, end, _burn_step(end - start))
    burned = series.activity(burn.filters(key_id=record.id), burn.origin(), burn.step)
    burn_rows = {r["bucket"]: r["spent"] for r in burned.rows(conn)}
    starts = burn.buckets(now)
    spent: list[float | None] = []
    total = 0.0
    for i, bucket_start in enumerate(starts):
        total += burn_rows.get(i, 0.0)
        spent.append(total if bucket_start <= now else None)
    return KeyView(
        key=row,
        view=view(conn, rng, now, key_id=record.id),
        burn_labels=[burn.bucket_label(s) for s in starts],
        burn_spent=spent,
        busiest=series.busiest_minute(rng.filters(oldest(conn), key_id=record.id)).rows(conn)[0],
        last_minute=series.busiest_minute(Filters(since=now - 60, key_id=record.id)).rows(conn)[0],
    )


def _burn_step(span: float) -> float:
    for step in (3_600.0, 3 * 3_600.0, 6 * 3_600.0, 86_400.0):
        if span / step <= 40:
            return step
    return 7 * 86_400.0


@dataclass(frozen=True)
class RequestPage:
    rows: list[Row]
    total: int
    page: int
    pages: int


def request_page(conn: Connection, filters: Filters, page: int, per_page: int) -> RequestPage:
    total = queries.count_requests(filters).rows(conn)[0]["n"]
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    rows = queries.find_requests(filters, per_page, (page - 1) * per_page).rows(conn)
    return RequestPage(rows, total, page, pages)


@dataclass(frozen=True)
class RequestDetail:
    row: Row
    headers: dict[str, str]  # what Helix added to the response
    pii: list[Row]  # entity types found and what was done; never the values


def request_detail(conn: Connection, request_id: str) -> RequestDetail | None:
    found = queries.request_detail(request_id).rows(conn)
    if not found:
        return None
    row = found[0]
    headers = {"x-helix-request-id": row["id"]}
    if row["provider"]:
        headers["x-helix-provider"] = row["provider"]
    if row["cache"]:
        headers["x-helix-cache"] = row["cache"]
    if not row["stream"] and row["cost_usd"] is not None:
        headers["x-helix-cost-usd"] = f"{row['cost_usd']:.8f}".rstrip("0").rstrip(".") or "0"
    if not row["stream"] and row["overhead_ms"] is not None and row["provider"]:
        headers["x-helix-overhead-ms"] = f"{row['overhead_ms']:.3f}"
    headers.update(json.loads(row["helix_headers"] or "{}"))
    return RequestDetail(row, headers, queries.request_pii(request_id).rows(conn))

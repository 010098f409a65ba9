"""Time series for the dashboard's charts: requests grouped into fixed-width buckets counted from `origin`
(bucket n covers origin + n * step onwards; the window itself is `filters`). Buckets without requests are
absent; callers fill zeros."""

from __future__ import annotations

from helix.store.queries import CACHE_RESULT_EXPR, CACHE_RESULTS, Filters, Query

_BUCKET = "CAST((ts - ?) / ? AS INTEGER)"


def activity(filters: Filters, origin: float, step: float) -> Query:
    """Per bucket: requests, errors, spent and saved, and the requests of each cache result."""
    where, params = filters.where()
    results = ", ".join(f"coalesce(sum(result = '{r}'), 0) AS {r}" for r in CACHE_RESULTS)
    return Query(
        f"""
        SELECT bucket, count(*) AS requests, coalesce(sum(status >= 400), 0) AS errors,
               coalesce(sum(cost_usd), 0) AS spent, coalesce(sum(saved_usd), 0) AS saved, {results}
        FROM (SELECT {_BUCKET} AS bucket, status, cost_usd, saved_usd, {CACHE_RESULT_EXPR} AS result
              FROM requests WHERE {where}) AS bucketed
        GROUP BY bucket ORDER BY bucket
        """,
        (origin, step, *params),
    )


def timings(filters: Filters, origin: float, step: float) -> Query:
    """Each answered request's bucket, latency and Helix overhead, for percentiles overall and per bucket
    (one pass over the window; refusals take no time worth charting)."""
    where, params = filters.where()
    return Query(
        f"SELECT {_BUCKET} AS bucket, latency_ms, overhead_ms FROM requests"
        f" WHERE {where} AND status < 400 AND latency_ms IS NOT NULL",
        (origin, step, *params),
    )


def pii(filters: Filters, origin: float, step: float) -> Query:
    """Per bucket and entity type, the values the PII firewall found (by key and user; never the values)."""
    clauses, params = filters.window(key_column="key_id")
    return Query(
        f"SELECT {_BUCKET} AS bucket, entity_type, sum(count) AS found FROM pii_incidents"
        f" WHERE {' AND '.join(clauses)} GROUP BY bucket, entity_type ORDER BY bucket",
        (origin, step, *params),
    )


def busiest_minute(filters: Filters) -> Query:
    """The most requests and the most tokens seen in any one minute of the window (for rpm/tpm use)."""
    where, params = filters.where()
    return Query(
        f"""
        SELECT coalesce(max(requests), 0) AS rpm, coalesce(max(tokens), 0) AS tpm
        FROM (SELECT count(*) AS requests, coalesce(sum(prompt_tokens), 0) + coalesce(sum(completion_tokens), 0)
                     AS tokens
              FROM requests WHERE {where} GROUP BY CAST(ts / 60 AS INTEGER)) AS minutes
        """,
        params,
    )


def error_codes(filters: Filters, limit: int = 10) -> Query:
    where, params = filters.where()
    return Query(
        f"SELECT status, coalesce(error_code, '') AS code, count(*) AS requests, max(ts) AS last_ts FROM requests"
        f" WHERE {where} AND status >= 400 GROUP BY status, code ORDER BY requests DESC LIMIT ?",
        (*params, limit),
    )

"""Read queries over the request log, shared by the CLI (sync), the admin API and the dashboard.

Each function returns a `Query` (SQL and parameters); callers run it on their own connection.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any, Literal

SpendGroup = Literal["model", "key", "user", "day", "provider"]
TimeGroup = Literal["day", "hour"]

_GROUP_EXPR: dict[str, str] = {
    "model": "coalesce(provider || '/' || model, '(unrouted)')",
    "provider": "coalesce(provider, '(unrouted)')",
    "key": "coalesce(requests.key_id, '(no key)')",
    "user": "coalesce(user, '(no user)')",
    "day": "date(ts, 'unixepoch', 'localtime')",
    "hour": "strftime('%Y-%m-%d %H:00', ts, 'unixepoch', 'localtime')",
}


@dataclass(frozen=True)
class Query:
    sql: str
    params: tuple[Any, ...] = ()

    def rows(self, conn: sqlite3.Connection) -> list[dict[str, Any]]:
        cursor = conn.execute(self.sql, self.params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


LOG_COLUMNS = (
    "rowid AS seq, id, ts, endpoint, key_id, user, model_requested, provider, model, stream, status, error_code,"
    " cache, latency_ms, overhead_ms, ttft_ms, prompt_tokens, completion_tokens, cached_tokens, cost_usd, saved_usd"
)


def recent_requests(limit: int) -> Query:
    return Query(
        f"SELECT * FROM (SELECT {LOG_COLUMNS} FROM requests ORDER BY rowid DESC LIMIT ?) ORDER BY seq",
        (limit,),
    )


def requests_after(seq: int) -> Query:
    return Query(f"SELECT {LOG_COLUMNS} FROM requests WHERE rowid > ? ORDER BY rowid", (seq,))


def spend(by: SpendGroup | TimeGroup, since_ts: float, limit: int = 50) -> Query:
    """Spend per group, biggest first (days and hours newest first). `keys` names the keys involved: for `key`
    the key's own name, for `user` the keys the user came through (a user id is only meaningful per app)."""
    group = _GROUP_EXPR[by]
    order = "grp DESC" if by in ("day", "hour") else "cost DESC, requests DESC"
    return Query(
        f"""
        SELECT {group} AS grp,
               group_concat(DISTINCT k.name) AS keys,
               count(*) AS requests,
               coalesce(sum(status >= 400), 0) AS errors,
               coalesce(sum(cache LIKE 'HIT%'), 0) AS cache_hits,
               coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
               coalesce(sum(completion_tokens), 0) AS completion_tokens,
               coalesce(sum(cost_usd), 0) AS cost,
               coalesce(sum(saved_usd), 0) AS saved,
               coalesce(sum(cost_usd IS NULL AND status < 400), 0) AS unpriced
        FROM requests LEFT JOIN keys AS k ON k.id = requests.key_id
        WHERE ts >= ?
        GROUP BY grp ORDER BY {order} LIMIT ?
        """,
        (since_ts, limit),
    )


def stats(since_ts: float) -> Query:
    """Totals over a window, for /admin/stats and the dashboard."""
    return Query(
        """
        SELECT count(*) AS requests,
               coalesce(sum(status < 400), 0) AS ok,
               coalesce(sum(status >= 400), 0) AS errors,
               coalesce(sum(status = 401), 0) AS unauthorized,
               coalesce(sum(status = 403), 0) AS forbidden,
               coalesce(sum(error_code = 'rate_limit_exceeded'), 0) AS rate_limited,
               coalesce(sum(error_code = 'budget_exceeded'), 0) AS over_budget,
               coalesce(sum(cache LIKE 'HIT%'), 0) AS cache_hits,
               coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
               coalesce(sum(completion_tokens), 0) AS completion_tokens,
               coalesce(sum(cost_usd), 0) AS spent_usd,
               coalesce(sum(saved_usd), 0) AS saved_usd,
               count(DISTINCT key_id) AS keys_used,
               count(DISTINCT user) AS users,
               avg(latency_ms) AS avg_latency_ms,
               avg(overhead_ms) AS avg_overhead_ms
        FROM requests WHERE ts >= ?
        """,
        (since_ts,),
    )


def percentile(column: str, since_ts: float, fraction: float) -> Query:
    """One percentile of a latency column (`latency_ms`, `overhead_ms` or `ttft_ms`) over a window."""
    if column not in ("latency_ms", "overhead_ms", "ttft_ms"):
        raise ValueError(f"no percentile of {column}")
    return Query(
        f"""
        SELECT {column} AS value FROM requests WHERE ts >= ? AND {column} IS NOT NULL ORDER BY {column}
        LIMIT 1 OFFSET (
            SELECT CAST(count({column}) * ? AS INTEGER) FROM requests WHERE ts >= ? AND {column} IS NOT NULL
        )
        """,
        (since_ts, fraction, since_ts),
    )


def write_failures(since_ts: float = 0.0) -> Query:
    """Rows the writer could not write, per table, with the last error (requests rows carry spend)."""
    return Query(
        "SELECT target, sum(rows) AS rows, max(ts) AS last_ts,"
        " (SELECT error FROM write_failures w2 WHERE w2.target = w.target ORDER BY ts DESC LIMIT 1) AS last_error"
        " FROM write_failures w WHERE ts >= ? GROUP BY target ORDER BY rows DESC",
        (since_ts,),
    )

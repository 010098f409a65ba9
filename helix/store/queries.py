"""Read queries over the request log, shared by the CLI (sync) and the admin API.

Each function returns a `Query` (SQL and parameters); callers run it on their own connection.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any, Literal

SpendGroup = Literal["model", "key", "user", "day", "provider"]

_GROUP_EXPR: dict[str, str] = {
    "model": "coalesce(provider || '/' || model, '(unrouted)')",
    "provider": "coalesce(provider, '(unrouted)')",
    "key": "coalesce(key_id, '(no key)')",
    "user": "coalesce(user, '(no user)')",
    "day": "date(ts, 'unixepoch', 'localtime')",
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


def spend(by: SpendGroup, since_ts: float, limit: int = 50) -> Query:
    group = _GROUP_EXPR[by]
    order = "grp DESC" if by == "day" else "cost DESC, requests DESC"
    return Query(
        f"""
        SELECT {group} AS grp,
               count(*) AS requests,
               coalesce(sum(status >= 400), 0) AS errors,
               coalesce(sum(cache LIKE 'HIT%'), 0) AS cache_hits,
               coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
               coalesce(sum(completion_tokens), 0) AS completion_tokens,
               coalesce(sum(cost_usd), 0) AS cost,
               coalesce(sum(saved_usd), 0) AS saved,
               coalesce(sum(cost_usd IS NULL AND status < 400), 0) AS unpriced
        FROM requests WHERE ts >= ?
        GROUP BY grp ORDER BY {order} LIMIT ?
        """,
        (since_ts, limit),
    )

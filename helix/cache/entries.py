"""The cache's rows in the SQLite file: statements for the single writer, reads for lookups and the CLI."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from helix.store.db import Connection

INSERT = (
    "INSERT OR REPLACE INTO cache_entries (id, exact_key, partition_key, scope, model, prompt, response, embedding,"
    " bits, prompt_tokens, completion_tokens, cost_usd, size_bytes, created, expires, last_used, hits)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"
)
TOUCH = "UPDATE cache_entries SET hits = hits + 1, last_used = ? WHERE id = ?"
DELETE = "DELETE FROM cache_entries WHERE id = ?"
DELETE_EXACT = "DELETE FROM cache_entries WHERE exact_key = ?"


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    response: bytes
    cost_usd: float | None


@dataclass(frozen=True, slots=True)
class Candidate:
    id: int
    prompt: str
    similarity: float


def insert_params(
    entry_id: int,
    exact: bytes,
    partition: bytes,
    scope: str,
    model: str,
    prompt: str,
    response: bytes,
    embedding: bytes | None,
    bits: bytes | None,
    usage: dict[str, Any] | None,
    cost: float | None,
    ttl: float,
) -> tuple[Any, ...]:
    now = time.time()
    usage = usage or {}
    size = len(response) + len(prompt.encode()) + len(embedding or b"") + len(bits or b"") + 128
    return (
        entry_id,
        exact,
        partition,
        scope,
        model,
        prompt,
        response,
        embedding,
        bits,
        usage.get("prompt_tokens"),
        usage.get("completion_tokens"),
        cost,
        size,
        now,
        now + ttl,
        now,
    )


def find_exact(conn: Connection, exact: bytes, now: float) -> Entry | None:
    row = conn.execute(
        "SELECT id, response, cost_usd FROM cache_entries WHERE exact_key = ? AND expires > ?", (exact, now)
    ).fetchone()
    return Entry(row[0], row[1], row[2]) if row else None


def get_entry(conn: Connection, entry_id: int) -> Entry | None:
    row = conn.execute("SELECT id, response, cost_usd FROM cache_entries WHERE id = ?", (entry_id,)).fetchone()
    return Entry(row[0], row[1], row[2]) if row else None


def rescore(conn: Connection, ids: list[int], vector: bytes, now: float) -> list[Candidate]:
    """Float cosine similarity (sqlite-vec) of the live candidates among `ids`, best first."""
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"SELECT id, prompt, 1.0 - vec_distance_cosine(embedding, ?) FROM cache_entries"
        f" WHERE id IN ({marks}) AND expires > ? AND embedding IS NOT NULL",
        (vector, *ids, now),
    ).fetchall()
    return sorted((Candidate(r[0], r[1], r[2]) for r in rows), key=lambda c: -c.similarity)


def index_rows(conn: Connection, now: float, batch: int = 50_000) -> Iterator[list[tuple[int, bytes, bytes]]]:
    cursor = conn.execute(
        "SELECT id, partition_key, bits FROM cache_entries WHERE bits IS NOT NULL AND expires > ? ORDER BY id", (now,)
    )
    while rows := cursor.fetchmany(batch):
        yield rows


def max_id(conn: Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(id), 0) FROM cache_entries").fetchone()[0])


def generation(conn: Connection) -> int:
    return int(conn.execute("SELECT value FROM cache_generation WHERE id = 1").fetchone()[0])


def bump_generation(conn: Connection) -> None:
    conn.execute("UPDATE cache_generation SET value = value + 1 WHERE id = 1")


def ids_to_evict(conn: Connection, now: float, max_entries: int, max_bytes: int) -> list[int]:
    """Expired entries, then the least recently used beyond the entry and byte bounds."""
    expired = [r[0] for r in conn.execute("SELECT id FROM cache_entries WHERE expires <= ?", (now,))]
    over = conn.execute(
        """
        SELECT id FROM (
            SELECT id,
                   row_number() OVER (ORDER BY last_used DESC, id DESC) AS rank,
                   sum(size_bytes) OVER (ORDER BY last_used DESC, id DESC) AS running
            FROM cache_entries WHERE expires > ?
        ) WHERE rank > ? OR running > ?
        """,
        (now, max_entries, max_bytes),
    ).fetchall()
    return expired + [r[0] for r in over]


def clear(conn: Connection, model: str | None, older_than: float | None) -> int:
    """Delete entries (all, or of one model, or created before a time); the server notices within a second."""
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    if model:
        where.append("(model = ? OR model LIKE ?)")
        params += [model, f"%/{model}"]
    if older_than is not None:
        where.append("created < ?")
        params.append(older_than)
    conn.execute("BEGIN IMMEDIATE")
    try:
        deleted = conn.execute(f"DELETE FROM cache_entries WHERE {' AND '.join(where)}", params).rowcount
        bump_generation(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return deleted


def stats(conn: Connection, since: float) -> dict[str, Any]:
    entries = conn.execute(
        "SELECT count(*), coalesce(sum(size_bytes), 0), coalesce(sum(hits), 0), count(embedding),"
        " min(created), max(last_used) FROM cache_entries WHERE expires > ?",
        (time.time(),),
    ).fetchone()
    traffic = conn.execute(
        """
        SELECT count(*),
               coalesce(sum(cache = 'HIT-EXACT'), 0),
               coalesce(sum(cache = 'HIT-SEMANTIC'), 0),
               coalesce(sum(cache = 'MISS'), 0),
               coalesce(sum(cache = 'BYPASS'), 0),
               coalesce(sum(saved_usd), 0)
        FROM requests WHERE ts >= ? AND endpoint IN ('chat', 'messages', 'responses')
        """,
        (since,),
    ).fetchone()
    return {
        "entries": entries[0],
        "bytes": entries[1],
        "lifetime_hits": entries[2],
        "semantic_entries": entries[3],
        "oldest": entries[4],
        "last_used": entries[5],
        "requests": traffic[0],
        "exact_hits": traffic[1],
        "semantic_hits": traffic[2],
        "misses": traffic[3],
        "bypassed": traffic[4],
        "saved_usd": traffic[5],
    }


def nearest_by_text(conn: Connection, vector: bytes, limit: int) -> list[dict[str, Any]]:
    """For `helix cache search`: the most similar stored prompts across every partition (a full scan)."""
    rows = conn.execute(
        "SELECT id, model, scope, prompt, hits, 1.0 - vec_distance_cosine(embedding, ?) AS similarity"
        " FROM cache_entries WHERE embedding IS NOT NULL AND expires > ? ORDER BY similarity DESC LIMIT ?",
        (vector, time.time(), limit),
    ).fetchall()
    return [dict(zip(("id", "model", "scope", "prompt", "hits", "similarity"), r, strict=True)) for r in rows]

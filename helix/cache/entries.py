"""The cache's rows in the database: statements for the single writer, reads for lookups and the CLI.

On a database shared by instances, entry ids come from blocks taken from it (`take_ids`), so no two
instances hand out the same id; a SQLite file has one writing process, which counts on from `max_id`.
Cosine similarities are computed here with numpy from the stored float vectors, the same on SQLite and
on PostgreSQL (which has no sqlite-vec, and here no pgvector).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from helix.call import Usage
from helix.store.db import Connection
from helix.store.queries import CACHE_RESULT_EXPR

_FIELDS = (
    "id",
    "exact_key",
    "partition_key",
    "scope",
    "model",
    "prompt",
    "response",
    "embedding",
    "bits",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "size_bytes",
    "created",
    "expires",
    "last_used",
    "origin",
)
# The same request answered again (by this instance after a clear, or by another one) replaces the entry.
INSERT = (
    f"INSERT INTO cache_entries ({', '.join(_FIELDS)}, hits) VALUES ({', '.join('?' for _ in _FIELDS)}, 0)"
    f" ON CONFLICT (exact_key) DO UPDATE SET {', '.join(f'{f} = excluded.{f}' for f in _FIELDS[1:])}, hits = 0,"
    " id = excluded.id"
)
# Ids taken at a time: one block lasts an instance for its whole life, and 2**31 blocks fit in 64 bits.
ID_BLOCK = 2**32
TOUCH = "UPDATE cache_entries SET hits = hits + ?, last_used = ? WHERE id = ?"
DELETE = "DELETE FROM cache_entries WHERE id = ?"
DELETE_EXACT = "DELETE FROM cache_entries WHERE exact_key = ?"


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    response: bytes
    cost_usd: float | None
    model: str  # the deployment that answered ("openai/gpt-4o-mini"): an alias's fallback, maybe
    expires: float = math.inf


@dataclass(frozen=True, slots=True)
class Candidate:
    id: int
    prompt: str
    similarity: float
    origin: str | None = None  # a kept wording's: the question its answer was written for


EXPIRES_PARAM = 14  # where insert_params() puts the expiry time


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
    origin: str | None = None,
) -> tuple[Any, ...]:
    now = time.time()
    counts = Usage.from_openai(usage)
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
        counts.prompt_tokens if counts else None,
        counts.completion_tokens if counts else None,
        cost,
        size,
        now,
        now + ttl,
        now,
        origin,
    )


def find_exact(conn: Connection, exact: bytes, now: float) -> Entry | None:
    row = conn.execute(
        "SELECT id, response, cost_usd, model, expires FROM cache_entries WHERE exact_key = ? AND expires > ?",
        (exact, now),
    ).fetchone()
    return Entry(*row) if row else None


def get_entry(conn: Connection, entry_id: int) -> Entry | None:
    row = conn.execute(
        "SELECT id, response, cost_usd, model, expires FROM cache_entries WHERE id = ?", (entry_id,)
    ).fetchone()
    return Entry(*row) if row else None


def cosine(vector: bytes, embeddings: list[bytes]) -> Any:
    """Cosine similarity of one stored-format float32 vector with each of `embeddings`."""
    query = np.frombuffer(vector, dtype=np.float32)
    matrix = np.frombuffer(b"".join(embeddings), dtype=np.float32).reshape(len(embeddings), len(query))
    norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0)
    return (matrix @ query) / np.where(norms == 0, 1.0, norms)


def rescore(conn: Connection, ids: list[int], vector: bytes, now: float) -> list[Candidate]:
    """Float cosine similarity of the live candidates among `ids`, best first."""
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"SELECT id, prompt, embedding, origin FROM cache_entries WHERE id IN ({marks}) AND expires > ?"
        " AND embedding IS NOT NULL",
        (*ids, now),
    ).fetchall()
    if not rows:
        return []
    similarities = cosine(vector, [bytes(r[2]) for r in rows])
    found = (Candidate(r[0], r[1], float(s), r[3]) for r, s in zip(rows, similarities, strict=True))
    return sorted(found, key=lambda c: -c.similarity)


def index_rows(conn: Connection, now: float, batch: int = 50_000) -> Iterator[list[tuple[int, bytes, bytes]]]:
    """The prefilter's rows of live entries."""
    cursor = conn.execute(
        "SELECT id, partition_key, bits FROM cache_entries WHERE bits IS NOT NULL AND expires > ? ORDER BY id", (now,)
    )
    while rows := cursor.fetchmany(batch):
        yield [(int(r[0]), bytes(r[1]), bytes(r[2])) for r in rows]


def wordings(conn: Connection, now: float) -> list[tuple[int, bytes, str]]:
    """Live kept wordings: id, partition key, the question their answer was written for."""
    rows = conn.execute(
        "SELECT id, partition_key, origin FROM cache_entries WHERE origin IS NOT NULL AND expires > ?", (now,)
    ).fetchall()
    return [(int(r[0]), bytes(r[1]), str(r[2])) for r in rows]


def created_since(conn: Connection, now: float, since: float) -> list[tuple[int, bytes, bytes, bytes | None]]:
    """Live entries created after `since`, by any instance: id, exact key, partition key, sign bits (or None)."""
    rows = conn.execute(
        "SELECT id, exact_key, partition_key, bits FROM cache_entries WHERE created > ? AND expires > ?",
        (since, now),
    ).fetchall()
    return [(int(r[0]), bytes(r[1]), bytes(r[2]), None if r[3] is None else bytes(r[3])) for r in rows]


def max_id(conn: Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(id), 0) FROM cache_entries").fetchone()[0])


def take_ids(conn: Connection, count: int = ID_BLOCK) -> int:
    """The first of `count` entry ids no other process (or instance) will use."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("UPDATE id_blocks SET next = next + ? WHERE name = 'cache_entries'", (count,))
        end = int(conn.execute("SELECT next FROM id_blocks WHERE name = 'cache_entries'").fetchone()[0])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return end - count


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
        ) AS ranked WHERE rank > ? OR running > ?
        """,
        (now, max_entries, max_bytes),
    ).fetchall()
    return expired + [r[0] for r in over]


def clear(conn: Connection, model: str | None, older_than: float | None) -> int:
    """Delete entries (all, or of one model, or created before a time); the server notices within a second."""
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    if model:
        # the name as given, or after a provider's prefix ("gpt-4o" clears "openai/gpt-4o"); "%" and "_" in a name are
        # escaped, or they would clear other models' entries
        escaped = model.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append("(model = ? OR model LIKE ? ESCAPE '\\')")
        params += [model, f"%/{escaped}"]
    if older_than is not None:
        where.append("created < ?")
        params.append(older_than)
    conn.execute("BEGIN IMMEDIATE")
    try:
        kept_for = _wordings_of(conn, " AND ".join(where), params) if len(where) > 1 else []
        deleted = conn.execute(f"DELETE FROM cache_entries WHERE {' AND '.join(where)}", params).rowcount
        for batch in range(0, len(kept_for), 500):
            ids = kept_for[batch : batch + 500]
            deleted += conn.execute(
                f"DELETE FROM cache_entries WHERE id IN ({', '.join('?' for _ in ids)})", ids
            ).rowcount
        bump_generation(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return deleted


def _wordings_of(conn: Connection, where: str, params: list[Any]) -> list[int]:
    """The wordings kept for the answers `where` picks (one more key to an answer goes with it, whatever its own age
    or model): one pass over the answers picked and one over the wordings, by a hash of (partition, question) (a
    join on the question's text had no index to use: 160 s for 100k entries)."""
    answers = conn.execute(f"SELECT partition_key, prompt FROM cache_entries WHERE {where} AND origin IS NULL", params)
    picked = {hash((bytes(p), q)) for p, q in answers}
    if not picked:
        return []
    wordings = conn.execute("SELECT id, partition_key, origin FROM cache_entries WHERE origin IS NOT NULL")
    return [int(i) for i, p, o in wordings if hash((bytes(p), o)) in picked]


def stats(conn: Connection, since: float) -> dict[str, Any]:
    entries = conn.execute(
        "SELECT count(*), coalesce(sum(size_bytes), 0), coalesce(sum(hits), 0), count(embedding),"
        " min(created), max(last_used) FROM cache_entries WHERE expires > ?",
        (time.time(),),
    ).fetchone()
    # Each request is one of the dashboard's results (CACHE_RESULT_EXPR): with the cache off, a request has no cache
    # column and is "bypass" there; here it was counted nowhere, and a refused one nowhere either.
    traffic = conn.execute(
        f"""
        SELECT count(*),
               coalesce(sum(result = 'exact'), 0),
               coalesce(sum(result = 'semantic'), 0),
               coalesce(sum(result = 'miss'), 0),
               coalesce(sum(result = 'bypass'), 0),
               coalesce(sum(result = 'rejected'), 0),
               coalesce(sum(saved_usd), 0)
        FROM (SELECT {CACHE_RESULT_EXPR} AS result, saved_usd FROM requests
              WHERE ts >= ? AND endpoint IN ('chat', 'messages', 'responses')) AS traffic
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
        "rejected": traffic[5],
        "saved_usd": traffic[6],
    }


def nearest_by_text(conn: Connection, vector: bytes, limit: int) -> list[dict[str, Any]]:
    """For `helix cache search`: the most similar stored prompts across every partition (a full scan)."""
    rows = conn.execute(
        "SELECT id, model, scope, prompt, hits, origin, embedding FROM cache_entries"
        " WHERE embedding IS NOT NULL AND expires > ?",
        (time.time(),),
    ).fetchall()
    if not rows:
        return []
    similarities = cosine(vector, [bytes(r[6]) for r in rows])
    best = sorted(range(len(rows)), key=lambda i: -similarities[i])[:limit]
    fields = ("id", "model", "scope", "prompt", "hits", "origin")
    return [{**dict(zip(fields, rows[i][:6], strict=True)), "similarity": float(similarities[i])} for i in best]

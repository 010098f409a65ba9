"""The response cache: `lookup()` an answer for a request's fingerprint, `save()` a fresh one, and
`keep_wording()` of a semantic hit.

Behind those two calls: exact lookups on the event loop, semantic ones in a worker thread, writes via the
writer, and the prompt's embedding carried from the lookup to the save so it is computed once.

- Exact: the hottest entries from memory (`hot.py`: LRU bounded by `[cache] hot_mb`, answers kept
  pre-encoded), else a primary-key read of the SQLite file (~20 us, cheaper than a thread hop), plus
  the entries stored in the last moments that the single writer has not committed yet. Hits are
  counted in memory and written (hits, last_used) with the next housekeeping turn.
- Semantic: embed the last user message (fastembed, off the event loop), prefilter with the in-memory
  sign-bit index, rescore the nearest with sqlite-vec's cosine distance, then let the judge decide:
  the best few candidates above the cosine floor go through the must-match facts and the trained
  same-question model, each pair on its own; the most similar accepted one is served. Entries the writer
  has not committed yet are candidates too (a paraphrase asked a few milliseconds after its question). A
  semantic hit's question may be kept as one more key to the answer it was served (`keep_wording`): the
  next question worded like it is judged against it too, and the same question again is an exact hit.
- Lifecycle: entries expire (TTL) and are evicted least-recently-used beyond `max_entries`/`max_mb`.
  `helix cache clear` in another process bumps a generation number; the server notices within a
  second, forgets its uncommitted entries and rebuilds the index.
- Shared database (PostgreSQL, several instances): exact lookups not answered from memory read the
  database, so another instance's entry hits as soon as its writer commits. On the same half-second poll
  as the generation, each instance reads the entries others created since the last poll (with an overlap
  for commits that land late): the sign-bit index takes them in, so a semantic hit follows within a
  second, and the hot entries forget their exact keys, so an answer refreshed on one instance replaces
  the old one on all within a second (a clear, through the generation, empties them too).
- The event loop's own reads (exact lookups, generation polls) wait at most LOOP_BUSY_TIMEOUT_MS for a
  lock another process holds; past it a lookup is a miss and a poll waits for the next turn.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from helix.cache import entries
from helix.cache.embedder import Embedder, EmbedderUnavailable
from helix.cache.entries import Entry
from helix.cache.fingerprint import Fingerprint
from helix.cache.hot import Answer, HotEntries
from helix.cache.index import BitIndex, sign_bits
from helix.cache.judge import JudgeUnavailable, adopt, judge_for
from helix.config import CacheConfig
from helix.dburl import Location, is_shared
from helix.durations import parse_duration
from helix.store.db import Connection, connect
from helix.store.writer import Writer

log = logging.getLogger("helix.cache")

PREFILTER_K = 32
# The embedding model reads the first 128 tokens and drops the rest, so a longer text buys the same vector
# at a higher price (tokenizing 20 MB takes a minute): embed a prefix that always covers those tokens.
EMBED_MAX_CHARS = 2048
# Past this, the model's 128 tokens say too little about the prompt for "same meaning": exact cache only.
SEMANTIC_MAX_CHARS = 32_768
# Each embedding gets this long (queueing included); past it the request goes on with the exact cache only.
EMBED_BUDGET_SECONDS = 2.0
# Embeddings waiting at once; more than this and new requests skip the semantic lookup instead of queueing.
MAX_EMBEDDINGS_IN_FLIGHT = 32
MAINTENANCE_SECONDS = 30.0
GENERATION_POLL_SECONDS = 0.5
# An entry is committed up to a batch window after it was created, and clocks of hosts differ a little:
# the index sync re-reads this much before its last poll (ids already indexed are skipped).
SYNC_OVERLAP_SECONDS = 10.0
# The loop's reads are a primary-key lookup and a one-row poll: a lock held longer than this is another
# process's long write, not worth stalling every request for.
LOOP_BUSY_TIMEOUT_MS = 20


@dataclass(frozen=True, slots=True)
class Hit:
    entry: Entry
    similarity: float | None = None  # None: the exact same request
    answer: Answer | None = None  # an exact hit's answer, pre-encoded
    question: str | None = None  # a semantic hit's: the question its answer was written for

    def ready(self) -> Answer:
        return self.answer if self.answer is not None else Answer.of(self.entry)


@dataclass(slots=True)
class Lookup:
    """What a lookup found for a fingerprint, and what it computed that saving the answer reuses."""

    fingerprint: Fingerprint
    hit: Hit | None = None
    vector: NDArray[np.float32] | None = None  # the prompt's embedding, once made


@dataclass(frozen=True, slots=True)
class _Unindexed:
    """An entry stored and not yet committed: a semantic candidate from memory until the index has it."""

    partition: bytes
    prompt: str
    origin: str | None
    embedding: bytes
    entry: Entry


def _with_unindexed(
    candidates: list[entries.Candidate], unindexed: dict[int, _Unindexed], vector: NDArray[np.float32], now: float
) -> list[entries.Candidate]:
    """`candidates` and the live unindexed entries, best first (one committed meanwhile counted once)."""
    live = [(i, u) for i, u in unindexed.items() if u.entry.expires > now]
    if not live:
        return candidates
    similarities = entries.cosine(vector.tobytes(), [u.embedding for _, u in live])
    seen = {c.id for c in candidates}
    more = [
        entries.Candidate(i, u.prompt, float(s), u.origin)
        for (i, u), s in zip(live, similarities, strict=True)
        if i not in seen
    ]
    return sorted([*candidates, *more], key=lambda c: -c.similarity)


class ResponseCache:
    def __init__(self, config: CacheConfig, db_path: Location, writer: Writer, embedder: Embedder | None) -> None:
        self.config = config
        self.default_ttl = parse_duration(config.ttl)
        self._db_path = db_path
        self._writer = writer
        self._embedder = embedder
        self._judge = judge_for(config)
        self.semantic_ready = False
        self._index = BitIndex()
        self._pending: dict[bytes, Entry] = {}
        # Stored entries with an embedding, until their commit puts them in the index (read from the lookup thread)
        self._unindexed: dict[int, _Unindexed] = {}
        self._hot = HotEntries(int(config.hot_mb * 1024 * 1024))
        self._touched: dict[int, tuple[int, float]] = {}  # entry id: hits and last use not yet written
        # Rows whose DELETE is queued but not committed: a read meanwhile must not bring them back to memory.
        self._deleting: set[int] = set()
        # Kept wordings by the question (and partition) their answer was written for: a fresh answer to that question
        # (a refresh) deletes them, or they would go on serving the answer it replaced.
        self._wordings: dict[tuple[bytes, str], set[int]] = {}
        self._wording_of: dict[int, tuple[bytes, str]] = {}  # and back, so a deleted wording leaves both
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="helix-cache")
        # Embeddings get their own thread: a slow one never holds up index lookups and maintenance.
        self._embed_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="helix-embed")
        self._embeddings_in_flight = 0
        self._local = threading.local()
        self._loop_conn: Connection | None = None
        self._next_id = self._last_id = 0
        self._shared = is_shared(db_path)
        self._synced_at = 0.0
        self._recent: dict[int, float] = {}  # ids indexed within the sync overlap, and when
        self._recent_lock = threading.Lock()  # commits add on the loop, syncs in the cache's thread
        self._generation = 0
        self._tasks: list[asyncio.Task[None]] = []

    def reconfigure(self, config: CacheConfig) -> None:
        """Adopt changed settings (a live reload). The embedding and judge models stay as they are: changing
        them needs a restart (the index holds the old model's vectors)."""
        self.config = config
        self.default_ttl = parse_duration(config.ttl)
        self._hot.resize(int(config.hot_mb * 1024 * 1024))
        adopt(self._judge, config)

    @property
    def semantic_enabled(self) -> bool:
        return self._embedder is not None

    async def start(self) -> None:
        self._loop_conn = await asyncio.to_thread(
            connect, self._db_path, reader=True, busy_timeout_ms=LOOP_BUSY_TIMEOUT_MS, on_loop=True
        )
        self._generation = entries.generation(self._loop_conn)
        if self._shared:  # other instances save entries too: ids from a block none of them will use
            await asyncio.to_thread(self._take_ids)
            self._synced_at = time.time()  # what they stored before is read from the database when asked
        else:  # one process writes this file's cache (several workers need a shared database)
            self._next_id, self._last_id = entries.max_id(self._loop_conn) + 1, 2**63 - 1
        loop = asyncio.get_running_loop()
        if self._embedder is not None:
            self._tasks.append(asyncio.create_task(self._prepare_semantic(loop)))
        self._tasks.append(asyncio.create_task(self._housekeeping()))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._write_touches()
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._embed_executor.shutdown(wait=True, cancel_futures=True)
        if self._loop_conn is not None:
            self._loop_conn.close()

    # -- the facade ----------------------------------------------------------------------------------

    async def lookup(self, fingerprint: Fingerprint, threshold: float) -> Lookup:
        """The stored answer to the same request, else to one that means the same (`threshold` and the judge)."""
        found = Lookup(fingerprint)
        answer = self.find_exact(fingerprint)
        if answer is not None:
            found.hit = Hit(answer.entry, answer=answer)
            return found
        found.vector = await self.embed(fingerprint.prompt)
        if found.vector is not None:
            found.hit = await self.find_similar(fingerprint, found.vector, threshold)
        return found

    async def save(
        self,
        found: Lookup,
        model: str,
        response: bytes,
        usage: dict[str, Any] | None,
        cost: float | None,
        ttl: float | None,
    ) -> None:
        """Keep an answer for the request `found` was looked up for (its embedding is made now if it was not), for
        `ttl` seconds (the default when None; 0 keeps nothing)."""
        if ttl is not None and ttl <= 0:
            return
        if found.vector is None:
            found.vector = await self.embed(found.fingerprint.prompt)
        self._write(found.fingerprint, model, response, usage, cost, found.vector, ttl)

    def keep_wording(self, found: Lookup, model: str, usage: dict[str, Any] | None, ttl: float | None) -> None:
        """Keep a semantic hit's question, with its embedding, as one more entry holding the answer it was
        served, until that answer expires (or `ttl`, if sooner). People reword a question in many ways and
        the judge accepts a new wording more readily when it is close to one already accepted: each accepted
        wording widens what the next question may be judged against, and never beyond what the judge accepted
        for each step. It keeps the question the answer was written for, whose facts a question judged against
        the wording must match too ("intl wire fee", kept for "the fee for sending...", is no key to "the fee for
        receiving...")."""
        hit = found.hit
        assert hit is not None and hit.similarity is not None and found.vector is not None
        left = hit.entry.expires - time.time()
        if ttl is not None:
            left = min(left, ttl)
        if left > 0:
            entry = hit.entry
            self._write(
                found.fingerprint, model, entry.response, usage, entry.cost_usd, found.vector, left, hit.question
            )

    def touch(self, entry_id: int) -> None:
        """Count a hit; written with the next housekeeping turn (one UPDATE per entry, not per hit)."""
        hits, _ = self._touched.get(entry_id, (0, 0.0))
        self._touched[entry_id] = (hits + 1, time.time())

    def forget(self) -> None:
        """Drop what this process holds in memory; after a clear of the file done in this process."""
        self._pending.clear()
        self._unindexed.clear()
        self._hot.clear()

    # -- exact ---------------------------------------------------------------------------------------

    def find_exact(self, keys: Fingerprint) -> Answer | None:
        now = time.time()
        answer = self._hot.get(keys.exact, now)
        if answer is not None:
            return answer
        pending = self._pending.get(keys.exact)
        if pending is not None:
            return Answer.of(pending)
        assert self._loop_conn is not None
        try:
            entry = entries.find_exact(self._loop_conn, keys.exact, now)
        except sqlite3.OperationalError as exc:  # locked past LOOP_BUSY_TIMEOUT_MS: answer from upstream
            log.info("exact cache lookup skipped: %s", exc)
            return None
        if entry is None or entry.id in self._deleting:
            return None
        return self._hot.put(keys.exact, entry)

    # -- semantic ------------------------------------------------------------------------------------

    async def embed(self, text: str) -> NDArray[np.float32] | None:
        """The prompt's vector, or None: no semantic cache for it (too long, too busy, or over its time)."""
        if not self.semantic_ready or not text or len(text) > SEMANTIC_MAX_CHARS:
            return None
        if self._embeddings_in_flight >= MAX_EMBEDDINGS_IN_FLIGHT:
            log.info("embeddings are backed up; this request uses the exact cache only")
            return None
        assert self._embedder is not None
        self._embeddings_in_flight += 1
        try:
            work = asyncio.get_running_loop().run_in_executor(
                self._embed_executor, self._embedder.embed_one, text[:EMBED_MAX_CHARS]
            )
            return await asyncio.wait_for(work, EMBED_BUDGET_SECONDS)
        except TimeoutError:
            log.info("an embedding took over %.1f s; this request uses the exact cache only", EMBED_BUDGET_SECONDS)
            return None
        finally:
            self._embeddings_in_flight -= 1

    async def find_similar(self, keys: Fingerprint, vector: NDArray[np.float32], threshold: float) -> Hit | None:
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._find_similar, keys, vector, threshold
        )

    def _find_similar(self, keys: Fingerprint, vector: NDArray[np.float32], threshold: float) -> Hit | None:
        conn = self._thread_conn()
        now = time.time()
        ids = self._index.nearest(keys.partition, sign_bits(vector), PREFILTER_K)
        candidates = entries.rescore(conn, ids, vector.tobytes(), now)
        self._index.remove(set(ids) - {c.id for c in candidates})
        unindexed = {i: u for i, u in list(self._unindexed.items()) if u.partition == keys.partition}
        if unindexed:
            candidates = _with_unindexed(candidates, unindexed, vector, now)
        near = [c for c in candidates[: self.config.candidates] if c.similarity >= threshold]
        while near:
            judged = [(c.prompt, c.similarity) for c in near]
            chosen = self._judge.first_accepted(keys.prompt, judged, threshold, [c.origin for c in near])
            if chosen is None:
                return None
            fresh = unindexed.get(near[chosen].id)
            entry = entries.get_entry(conn, near[chosen].id) or (fresh.entry if fresh is not None else None)
            if entry is not None:
                return Hit(entry, near[chosen].similarity, question=near[chosen].origin or near[chosen].prompt)
            near = near[chosen + 1 :]  # expired or deleted meanwhile: the next accepted one
        return None

    def _thread_conn(self) -> Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self._db_path, reader=True)
        return conn

    async def _prepare_semantic(self, loop: asyncio.AbstractEventLoop) -> None:
        """Load the embedding and judge models and the index in the background; until then lookups are exact only."""
        assert self._embedder is not None
        try:
            await loop.run_in_executor(self._embed_executor, self._embedder.embed_one, "warm up")
            await loop.run_in_executor(self._executor, self._judge.warm_up)
        except (EmbedderUnavailable, JudgeUnavailable) as exc:
            log.warning("semantic cache off, exact matches only: %s", exc)
            self._embedder = None
            return
        await loop.run_in_executor(self._executor, self._rebuild_index)
        self.semantic_ready = True
        log.info("semantic cache ready (%d entries indexed)", len(self._index))

    def _rebuild_index(self) -> None:
        index = BitIndex()
        self._synced_at = time.time()
        self._recent = {}
        for rows in entries.index_rows(self._thread_conn(), time.time()):
            index.add_many([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
        wordings: dict[tuple[bytes, str], set[int]] = {}
        wording_of: dict[int, tuple[bytes, str]] = {}
        for entry_id, partition, origin in entries.wordings(self._thread_conn(), time.time()):
            wordings.setdefault((partition, origin), set()).add(entry_id)
            wording_of[entry_id] = (partition, origin)
        self._index = index
        self._wordings, self._wording_of = wordings, wording_of

    def _sync_shared(self) -> list[bytes]:
        """Take in the entries other instances stored since the last poll (shared database only): they join
        the semantic index (once it is ready), and their exact keys are returned for the hot entries to
        forget, so an answer replaced on another instance (a refresh) is not served from memory here."""
        now = time.time()
        since = self._synced_at - SYNC_OVERLAP_SECONDS
        rows = entries.created_since(self._thread_conn(), now, since)
        self._synced_at = now  # only once read: entries stored while the database was out of reach come next turn
        with self._recent_lock:
            new = [r for r in rows if r[0] not in self._recent]
            self._recent.update((r[0], now) for r in new)
            self._recent = {i: t for i, t in self._recent.items() if t > since}
        if self.semantic_ready:
            vectors = [(r[0], r[2], r[3]) for r in new if r[3] is not None]
            self._index.add_many([v[0] for v in vectors], [v[1] for v in vectors], [v[2] for v in vectors])
        return [r[1] for r in new]

    def _take_ids(self) -> None:
        conn = connect(self._db_path, migrate=False)
        try:
            self._next_id = entries.take_ids(conn)
        finally:
            conn.close()
        self._last_id = self._next_id + entries.ID_BLOCK - 1

    # -- writes --------------------------------------------------------------------------------------

    def _write(
        self,
        keys: Fingerprint,
        model: str,
        response: bytes,
        usage: dict[str, Any] | None,
        cost: float | None,
        vector: NDArray[np.float32] | None,
        ttl: float | None,
        origin: str | None = None,
    ) -> None:
        if self._next_id > self._last_id:  # 2**32 entries saved since the block was taken
            self._take_ids()
        entry_id = self._next_id
        self._next_id += 1
        embedding = vector.tobytes() if vector is not None else None
        bits = sign_bits(vector) if vector is not None else None
        params = entries.insert_params(
            entry_id,
            keys.exact,
            keys.partition,
            keys.scope,
            model,
            keys.prompt,
            response,
            embedding,
            bits,
            usage,
            cost,
            self.default_ttl if ttl is None else ttl,
            origin,
        )
        self._writer.submit(entries.INSERT, params)
        if origin is not None:
            self._wordings.setdefault((keys.partition, origin), set()).add(entry_id)
            self._wording_of[entry_id] = (keys.partition, origin)
        elif (kept := self._wordings.pop((keys.partition, keys.prompt), None)) is not None:
            self._delete(kept)  # queued after the answer that replaces theirs
        entry = Entry(entry_id, response, cost, model, params[entries.EXPIRES_PARAM])
        self._hot.drop(keys.exact)  # the row it came from is replaced
        self._pending[keys.exact] = entry
        if embedding is not None and bits is not None:
            self._unindexed[entry_id] = _Unindexed(keys.partition, keys.prompt, origin, embedding, entry)

        def committed() -> None:
            if self._pending.get(keys.exact) is entry:
                del self._pending[keys.exact]
            if bits is not None:
                self._index.add(entry_id, keys.partition, bits)
                self._unindexed.pop(entry_id, None)
            if self._shared:  # not another instance's: the sync passes over it
                with self._recent_lock:
                    self._recent[entry_id] = time.time()

        self._writer.after_commit(committed)

    # -- housekeeping --------------------------------------------------------------------------------

    async def _housekeeping(self) -> None:
        last_maintenance = time.monotonic()
        while True:
            await asyncio.sleep(GENERATION_POLL_SECONDS)
            try:
                await self._follow_others()
                if time.monotonic() - last_maintenance >= MAINTENANCE_SECONDS:
                    last_maintenance = time.monotonic()
                    await self.evict()
            except sqlite3.Error as exc:  # the database out of reach (a restart) or locked: next turn tries again
                log.warning("cache housekeeping skipped a turn: %s", exc)

    async def _follow_others(self) -> None:
        """Take in a clear or the entries other instances stored (and write this one's hit counts)."""
        loop = asyncio.get_running_loop()
        self._write_touches()
        generation = self._read_generation()
        if generation is not None and generation != self._generation:
            self._generation = generation
            self.forget()
            if self.semantic_ready:
                await loop.run_in_executor(self._executor, self._rebuild_index)
        elif self._shared:
            for exact in await loop.run_in_executor(self._executor, self._sync_shared):
                self._hot.drop(exact)

    def _write_touches(self) -> None:
        touched, self._touched = self._touched, {}
        for entry_id, (hits, last_used) in touched.items():
            self._writer.submit(entries.TOUCH, (hits, last_used, entry_id))

    def _read_generation(self) -> int | None:
        assert self._loop_conn is not None
        try:
            return entries.generation(self._loop_conn)
        except sqlite3.OperationalError:  # locked past LOOP_BUSY_TIMEOUT_MS: look again next turn
            return None

    async def evict(self) -> int:
        """Delete expired and least-recently-used entries beyond the bounds (through the writer)."""
        max_bytes = int(self.config.max_mb * 1024 * 1024)
        self._write_touches()
        await self._writer.flush()  # least recently used by the hits counted so far
        ids = await asyncio.get_running_loop().run_in_executor(
            self._executor,
            lambda: entries.ids_to_evict(self._thread_conn(), time.time(), self.config.max_entries, max_bytes),
        )
        self._delete(set(ids))
        if ids:
            log.info("cache evicted %d entries", len(ids))
        return len(ids)

    def _delete(self, gone: set[int]) -> None:
        """Delete these entries (through the writer) and forget them at once."""
        for entry_id in gone:
            self._writer.submit(entries.DELETE, (entry_id,))
        self._deleting |= gone
        self._writer.after_commit(lambda: self._deleting.difference_update(gone))
        self._index.remove(gone)
        self._hot.drop_ids(gone)
        for entry_id in gone & self._unindexed.keys():
            del self._unindexed[entry_id]
        for entry_id in gone & self._wording_of.keys():  # evicted or expired: the map does not outgrow the cache
            key = self._wording_of.pop(entry_id)
            if (ids := self._wordings.get(key)) is not None:
                ids.discard(entry_id)
                if not ids:
                    del self._wordings[key]
        for exact in [exact for exact, entry in self._pending.items() if entry.id in gone]:
            del self._pending[exact]

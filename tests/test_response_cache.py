"""The response cache's facade on a real SQLite file: `save()` then `lookup()`, and a lock another process
holds never stalls the event loop's exact lookups for the database's 5 s busy timeout."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from helix.cache import entries
from helix.cache.fingerprint import fingerprint
from helix.cache.response_cache import ResponseCache
from helix.config import CacheConfig
from helix.store.db import BUSY_TIMEOUT_MS, connect
from helix.store.writer import Writer

ANSWER = b'{"choices": [{"message": {"role": "assistant", "content": "Paris"}, "finish_reason": "stop"}]}'


def question(text: str) -> dict[str, object]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}


def with_cache(db: Path, scenario: Callable[[ResponseCache], Awaitable[None]]) -> None:
    """Run `scenario` against an exact-only cache on `db`, with its writer, in one event loop."""

    async def run() -> None:
        connect(db).close()  # the schema, as the gateway makes it at start-up
        writer = Writer(db)
        await writer.start()
        cache = ResponseCache(CacheConfig(semantic=False), db, writer, embedder=None)
        await cache.start()
        try:
            await scenario(cache)
        finally:
            await cache.close()
            await writer.close()

    asyncio.run(run())


def test_a_saved_answer_is_found_for_the_same_request_only(tmp_path: Path) -> None:
    async def scenario(cache: ResponseCache) -> None:
        asked = fingerprint(question("What is the capital of France?"), "openai/gpt-4o-mini", "\x1f")
        first = await cache.lookup(asked, threshold=0.9)
        assert first.hit is None
        await cache.save(first, "openai/gpt-4o-mini", ANSWER, {"prompt_tokens": 7}, 0.001, ttl=None)
        pending = await cache.lookup(asked, threshold=0.9)  # before the writer commits
        assert pending.hit is not None and pending.hit.entry.response == ANSWER and pending.hit.similarity is None
        await cache._writer.flush()
        cache._pending.clear()  # read the committed row, not the copy kept until the commit
        committed = await cache.lookup(asked, threshold=0.9)
        assert committed.hit is not None and committed.hit.entry.cost_usd == 0.001
        other = fingerprint(question("What is the capital of Spain?"), "openai/gpt-4o-mini", "\x1f")
        assert (await cache.lookup(other, threshold=0.9)).hit is None
        elsewhere = fingerprint(question("What is the capital of France?"), "openai/gpt-4o-mini", "tenant\x1f")
        assert (await cache.lookup(elsewhere, threshold=0.9)).hit is None

    with_cache(tmp_path / "helix.db", scenario)


def test_a_held_lock_makes_the_exact_lookup_a_quick_miss(tmp_path: Path) -> None:
    """In WAL mode readers are not blocked; a file another tool switched back to a rollback journal is.
    The event loop's lookup then gives up after a few ms instead of the 5 s busy timeout."""
    db = tmp_path / "helix.db"
    asked = fingerprint(question("What is the capital of France?"), "openai/gpt-4o-mini", "\x1f")
    conn = connect(db)
    row = entries.insert_params(
        1, asked.exact, asked.partition, asked.scope, "m", asked.prompt, ANSWER, None, None, None, None, 60
    )
    conn.execute(entries.INSERT, row)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()

    async def scenario() -> None:
        cache = ResponseCache(CacheConfig(semantic=False), db, Writer(db), embedder=None)
        await cache.start()
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # another process, mid-write
        try:
            started = time.perf_counter()
            found = await cache.lookup(asked, threshold=0.9)
            took = time.perf_counter() - started
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        try:
            assert found.hit is None
            assert took < BUSY_TIMEOUT_MS / 1000 / 5, took
            again = await cache.lookup(asked, threshold=0.9)  # the connection outlives the lock
            assert again.hit is not None and again.hit.entry.response == ANSWER
        finally:
            await cache.close()

    asyncio.run(scenario())

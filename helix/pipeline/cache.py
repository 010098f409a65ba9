"""Cache stage: answer from the response cache, or pass the call on and keep its answer.

Runs after redaction, so keys and stored prompts only ever hold redacted text; answers pass through
`before_store` (the PII stage's answer check, `[pii] scan_responses`) before they are written, so
PII the model wrote itself is neither kept on disk nor served to anyone else: such an answer is not
stored (nor one whose check fails), or, when every client gets answers redacted, stored as they get it.

Per request:
  Cache-Control: no-cache        skip the lookup, store the fresh answer (refresh)
  Cache-Control: no-store        look up, but do not store this answer
  x-helix-cache-ttl: SECONDS     lifetime of the entry this request stores
  x-helix-cache-threshold: X     a stricter similarity for this lookup (it can only raise the floor)
  x-helix-cache-namespace: NAME  a separate cache space within the tenant
Answers carry `x-helix-cache: HIT-EXACT | HIT-SEMANTIC | MISS | BYPASS` (and the similarity on
semantic hits). Hits cost $0 and record the cost of the original call as saved. A request (not a stream) the same as
one being answered now waits for that answer and is served it from the cache. A semantic hit's question
is kept as one more key to its answer (`[cache] keep_wordings`, unless the request says no-store).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from helix.cache.fingerprint import Fingerprint, fingerprint
from helix.cache.response_cache import Lookup, ResponseCache
from helix.call import Call, Completed, Next, Reply, Streamed, Target, Usage
from helix.config import CacheConfig
from helix.errors import HelixError, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from helix.pii.hashing import keyed_hash
from helix.pipeline.headers import (
    MAX_SECONDS,
    TIMEOUT_HEADER,
    deadline_left,
    number_header,
    text_header,
    timeout_header,
)
from helix.pricing import PriceBook
from helix.providers.forward import forwarded
from helix.translate.chunk_assembly import ChunkAssembler
from helix.translate.completion_chunks import completion_to_chunks

log = logging.getLogger("helix.cache")
_encode = msgspec.json.encode

HIT_EXACT, HIT_SEMANTIC, MISS, BYPASS = "HIT-EXACT", "HIT-SEMANTIC", "MISS", "BYPASS"
SHARED_SCOPE = "*"
# Finish reasons of a whole answer: OpenAI's, Anthropic's and TGI's ("length" is [cache] cache_truncated's to allow).
_COMPLETE = frozenset({"stop", "tool_calls", "function_call", "end_turn", "stop_sequence", "tool_use", "eos_token"})


@dataclass(frozen=True, slots=True)
class Controls:
    lookup: bool
    store: bool
    ttl: float | None
    threshold: float
    namespace: str


def skip_reason(call: Call, config: CacheConfig) -> str | None:
    """Why this request must not use the cache at all (None: it may)."""
    body = call.body
    if call.endpoint not in ("chat", "messages", "responses"):
        return "endpoint"
    if call.endpoint == "responses" and (call.target.provider.kind == "openai" or body.get("previous_response_id")):
        return "stateful endpoint"  # passed through: the provider keeps the response, a replay could not
    if (body.get("n") or 1) > 1:
        return "n>1"
    turns = body.get("messages") or body.get("input")
    if isinstance(turns, list) and any(_is_tool_result(m) for m in turns):
        return "tool results in flight"
    temperature = body.get("temperature")
    if isinstance(temperature, int | float) and temperature > config.max_temperature:
        return "temperature"
    return None


def _is_tool_result(message: Any) -> bool:
    """A chat tool message, an Anthropic user turn carrying tool results, or a Responses call output."""
    if not isinstance(message, dict):
        return False
    if message.get("role") in ("tool", "function") or message.get("type") == "function_call_output":
        return True
    content = message.get("content")
    return isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)


BeforeStore = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]  # what to keep of an answer, if anything
ServedBy = Callable[[Call, str], Target | None]  # the call's deployment of a name ("openai/gpt-4o-mini"), if routed
CachedAs = Callable[[Call], str]  # the model name the call's answers are cached under


class CacheStage:
    def __init__(
        self,
        cache: ResponseCache,
        config: CacheConfig,
        prices: PriceBook,
        hash_key: str,
        before_store: BeforeStore | None = None,
        served_by: ServedBy | None = None,
        cached_as: CachedAs | None = None,
        *,
        in_flight: InFlight,
        deadline: float,
    ) -> None:
        """`hash_key`: the database's key a namespace is kept under, hashed (clients name them by an email).
        `served_by`: a hit is logged, costed and headed as the deployment whose answer it was (an alias's fallback
        may have written it), not as the first the call was routed to; one no longer behind the alias is not served.
        `cached_as`: the model name an answer is keyed by (an alias's own, `RoutingTable.cached_as`); the deployment's
        without it. `deadline`: the seconds a request may take without an x-helix-timeout (`[routing] deadline`),
        waiting for the same request included."""
        self._hash_key = hash_key
        self._cache = cache
        self._served_by = served_by
        self._cached_as = cached_as
        self._config = config
        self._prices = prices
        self._before_store = before_store
        self._max_entry_bytes = config.max_entry_kb * 1024
        self._in_flight = in_flight
        self._deadline = deadline

    def _controls(self, call: Call) -> Controls:
        directives = {d.strip().lower() for d in call.headers.get("cache-control", "").split(",")}
        requested = number_header(call.headers, "x-helix-cache-threshold", high=1.0)
        return Controls(
            lookup="no-cache" not in directives,
            store="no-store" not in directives,
            ttl=number_header(call.headers, "x-helix-cache-ttl", high=MAX_SECONDS),
            threshold=max(self._config.threshold, requested or 0.0),
            namespace=text_header(call.headers, "x-helix-cache-namespace"),
        )

    def _scope(self, call: Call, namespace: str) -> str:
        tenant = SHARED_SCOPE if self._config.shared else (call.key.id if call.key is not None else "")
        if namespace:  # stored with each entry: keyed, as a client may name a namespace by a user's email
            namespace = "#" + keyed_hash(namespace, self._hash_key)[:16]
        return f"{tenant}\x1f{namespace}"

    async def __call__(self, call: Call, next: Next) -> Reply:
        controls = self._controls(call)
        if skip_reason(call, self._config) or not (controls.lookup or controls.store):
            call.cache = BYPASS
            return await next(call)
        shaped_by = {"endpoint": call.endpoint, **forwarded(call.headers, call.target.provider.forward)}
        model = self._cached_as(call) if self._cached_as is not None else call.target.name
        keys = fingerprint(call.body, model, self._scope(call, controls.namespace), shaped_by)
        found = await self._lookup(call, keys, controls.threshold) if controls.lookup else Lookup(keys)
        coalesce = controls.lookup and not call.stream  # a stream's first token is not held back for another's answer
        # The same request in flight is waited for, then its answer looked up. When it ended with no answer at all
        # (its client left), the next waiter asks and the others wait for that one; a server error of the provider's
        # is theirs too. An answer not stored (too large, cut short) leaves each to ask: never one after another.
        seconds, left = deadline_left(call, self._deadline)
        deadline = asyncio.get_running_loop().time() + left
        while found.hit is None and coalesce and (fetching := self._in_flight.get(keys.exact)) is not None:
            waiting_since = time.perf_counter()
            try:
                outcome = await _wait_for_same(fetching, call, deadline, seconds)
            finally:  # waiting for the provider's answer to the same request: not Helix's own time
                call.upstream_seconds += time.perf_counter() - waiting_since
            if isinstance(outcome, HelixError):
                raise _theirs_too(outcome)
            found = await self._lookup(call, keys, controls.threshold)
            if outcome is not _LEFT:
                break
        if found.hit is not None:
            return self._hit(call, found, controls)
        call.cache = MISS
        if not (coalesce and controls.store) or keys.exact in self._in_flight:
            return await self._fetch(call, next, found, controls)
        fetched = self._in_flight[keys.exact] = asyncio.get_running_loop().create_future()
        outcome = _LEFT  # unless an answer or an error comes: cancelled (its client gone) or failed in Helix
        try:
            reply = await self._fetch(call, next, found, controls)
            outcome = None
            return reply
        except (UpstreamError, UpstreamUnavailable) as error:
            outcome = error if _shared(error) else None
            raise
        finally:
            del self._in_flight[keys.exact]
            fetched.set_result(outcome)

    async def _lookup(self, call: Call, keys: Fingerprint, threshold: float) -> Lookup:
        """The cache's answer, unless a deployment no longer behind the request's alias wrote it: an alias moved to
        another model kept serving the old one's answers, logged as the new one's (faults round 27)."""
        found = await self._cache.lookup(keys, threshold)
        if found.hit is not None and self._answered_by(call, found.hit.entry.model) is None:
            found.hit = None
        return found

    def _answered_by(self, call: Call, model: str) -> Target | None:
        """The deployment that wrote an answer of `model`, if it may answer the call now."""
        if model == call.target.name or self._served_by is None:
            return call.target
        return self._served_by(call, model)

    async def _fetch(self, call: Call, next: Next, found: Lookup, controls: Controls) -> Reply:
        reply = await next(call)
        if not controls.store:
            return reply
        if isinstance(reply, Streamed):
            return Streamed(self._store_when_complete(call, found, controls.ttl, reply.chunks))
        if self._storable(reply.body):
            await self._store(call, found, controls.ttl, reply.body, reply.raw)
        return reply

    def _hit(self, call: Call, found: Lookup, controls: Controls) -> Reply:
        hit = found.hit
        assert hit is not None
        entry = hit.entry
        self._cache.touch(entry.id)
        call.target = self._answered_by(call, entry.model) or call.target
        body, raw = hit.ready().body(f"chatcmpl-{call.id}", int(time.time()))
        if hit.similarity is None:
            call.cache = HIT_EXACT
        else:
            call.cache = HIT_SEMANTIC
            call.response_headers["x-helix-cache-similarity"] = f"{hit.similarity:.4f}"
            if controls.store and self._config.keep_wordings:
                self._cache.keep_wording(found, call.target.name, body.get("usage"), controls.ttl)
        call.usage = Usage.from_openai(body.get("usage"))
        call.cost = 0.0
        call.saved = entry.cost_usd or 0.0
        if call.stream:
            return Streamed(_replay(completion_to_chunks(body)))
        return Completed(body, raw)

    def _storable(self, body: dict[str, Any]) -> bool:
        choices = [c for c in body.get("choices") or [] if isinstance(c, dict)]
        reasons = [c.get("finish_reason") for c in choices]
        if not reasons or not all(reason in _COMPLETE or reason == "length" for reason in reasons):
            # an answer (a stream ended by [DONE]) without its finish reason may be cut short; one that ended in an
            # error ("error": OpenRouter), an abort ("abort": vLLM) or a filter is partial
            return False
        if not all(map(_answered, choices)):
            return False  # an upstream's glitch (a 200 with nothing in it) is passed on once, not kept for the TTL
        return self._config.cache_truncated or "length" not in reasons

    async def _store(
        self, call: Call, found: Lookup, ttl: float | None, body: dict[str, Any], raw: bytes | None = None
    ) -> None:
        response = raw if raw is not None else _encode(body)
        if len(response) > self._max_entry_bytes:
            return  # passed on, not cached: [cache] max_entry_kb
        if self._before_store is not None:
            try:
                kept = await self._before_store(body)
            except Exception:
                log.exception("the PII check of an answer failed; the answer is not cached")
                return
            if kept is None:
                log.info("the answer to %s holds personal data; it is not cached", call.id)
                return
            if kept is not body:
                body, response = kept, _encode(kept)
        usage = body.get("usage")
        cost = self._prices.cost(call.target.provider.name, call.target.model, Usage.from_openai(usage), call.price_of)
        await self._cache.save(found, call.target.name, response, usage, cost, ttl)

    async def _store_when_complete(
        self,
        call: Call,
        found: Lookup,
        ttl: float | None,
        chunks: AsyncIterator[dict[str, Any]],
    ) -> AsyncIterator[dict[str, Any]]:
        """Pass every chunk on at once; store the assembled answer only if the stream completed.

        An answer larger than the cache takes is passed on without being assembled: no copy is kept."""
        assembler: ChunkAssembler | None = ChunkAssembler()
        async for chunk in chunks:
            if assembler is not None:
                try:
                    assembler.feed(chunk)
                except _UNASSEMBLABLE:
                    _cannot_assemble(call)
                    assembler = None
                else:
                    if assembler.size > self._max_entry_bytes:
                        assembler = None
            yield chunk
        if assembler is None:
            return
        try:
            completion = assembler.completion()
        except _UNASSEMBLABLE:
            _cannot_assemble(call)
            return
        if self._storable(completion):
            await self._store(call, found, ttl, completion)


# What assembling a chunk the provider checks let through can raise (content given as a list of parts,
# thinking blocks of other types): the stream goes on to the client, only its caching is given up.
_UNASSEMBLABLE = (TypeError, ValueError, AttributeError)


def _cannot_assemble(call: Call) -> None:
    log.warning("a chunk of %s's stream could not be assembled for the cache; the answer is not cached", call.id)


def _answered(choice: dict[str, Any]) -> bool:
    """Whether a choice holds an answer: text, a tool or function call, a refusal or audio."""
    message = choice.get("message") or {}
    return bool(
        choice.get("text")
        or any(message.get(part) for part in ("content", "tool_calls", "function_call", "refusal", "audio"))
    )


# How the same request in flight ended, for those waiting: answered (None: its answer is looked up, stored or not),
# failed by the provider (the error, `_shared`), or with no answer at all (_LEFT: the client left, Helix failed).
_LEFT = object()
Outcome = HelixError | object | None
# Exact keys of answers being fetched now to be stored: the same request asked meanwhile waits for that answer instead
# of asking the provider again (a burst of one question cost as many provider calls). One table for the server's life:
# a reload builds the stage again, and a request after it still waits for the same one asked before it.
InFlight = dict[bytes, asyncio.Future[Outcome]]


def _shared(error: HelixError) -> bool:
    """A provider's failure any request of the same key would meet: a server error, a connection lost, a rate limit
    (its waiters all asking at once were a burst against a provider that had just refused). Not its other 4xx, which
    may be about fields the cache's key leaves out (metadata, user), nor a timeout: the asker's own deadline."""
    return (error.status >= 500 or error.status == 429) and not isinstance(error, UpstreamTimeout)


def _theirs_too(error: HelixError) -> HelixError:
    """The provider's error given to a request that waited for it: a copy (each raises its own), without the attempts
    the other request made."""
    theirs = copy.copy(error)
    theirs.headers = {k: v for k, v in error.headers.items() if k != "x-helix-attempts"}
    return theirs


async def _wait_for_same(fetching: asyncio.Future[Outcome], call: Call, deadline: float, seconds: float) -> Outcome:
    """Until the same request in flight ends (how: `Outcome`), within this request's own deadline (of `seconds` from
    its arrival), for all its waits together (the other one goes on)."""
    left = max(0.0, deadline - asyncio.get_running_loop().time())
    try:
        return await asyncio.wait_for(asyncio.shield(fetching), left)
    except TimeoutError:
        named = f"its {TIMEOUT_HEADER}" if timeout_header(call.headers) else "[routing] deadline"
        why = f"{named} of {seconds:g} s"
        raise UpstreamTimeout(
            f"the same request, in flight, was not answered within {why}", provider=call.target.provider.name
        ) from None


async def _replay(chunks: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for chunk in chunks:
        yield chunk

"""The Gateway: one object shared by the API, the CLI, the dashboard and the tests.

It owns the database writer, the upstream HTTP client, the provider registry and the pipeline.

The pipeline, in order (each stage may answer without calling the next):
  1. log      record every request (success, error, cache hit) with its cost: outermost, so it sees all
     measure  count it for /metrics once its outcome is final (helix/metrics.py)
  2. limits   model allow-list (403), rate limits and budgets (429) of the request's key and user;
              reserves an estimate before the call and settles the real cost after (helix/pipeline/limits.py)
  3. redact   PII and secrets out of every provider-visible text (block, redact, pseudonymize...);
              placeholders restored in the answer (and, with scan_responses = "client", PII the model
              wrote redacted first). Before the cache, so it never holds raw PII
  4. cache    answer from the response cache (exact, then semantic) or store the provider's answer,
              after the redact stage's answer scrubber has taken out PII the model wrote
  5. route    send the call to one of its model's deployments: load balancing, retries, failover to the
              next deployment and to fallback models, cooldowns of failing deployments (helix/routing/)

Model routing (`provider/model`, alias or bare name) happens while the request is parsed, before any
stage runs, because later stages (limits, cache keys) depend on the resolved model.

Authentication comes before all of this, before the body is even read: `authenticate()` maps the
bearer token to a virtual key (or None on a laptop with no keys) and answers 401 otherwise.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import httpx

from helix.alerts import Alerts
from helix.cache.embedder import Embedder
from helix.cache.response_cache import ResponseCache
from helix.call import Call, Endpoint, Next, Provider, Reply, Target
from helix.config import CacheConfig, Config
from helix.dburl import PostgresUrl, is_shared
from helix.errors import HelixError, answer_server_cut
from helix.metrics import Metrics
from helix.pii.analyzer import PiiEngine
from helix.pii.config import NAMES_HINT, PiiConfig
from helix.pii.redact import Redactor
from helix.pii.users import UserIds, user_key
from helix.pipeline.auth import KeyRing
from helix.pipeline.cache import CacheStage, InFlight
from helix.pipeline.encoding import decoded_body
from helix.pipeline.endpoints import ANTHROPIC_ENDPOINTS, anthropic_client_resolver
from helix.pipeline.headers import MAX_TEXT_CHARS, header_text
from helix.pipeline.limits import LimitsStage
from helix.pipeline.log import LogStage
from helix.pipeline.measure import MeasureStage
from helix.pipeline.parse import new_request_id, parse_call
from helix.pipeline.redact import INLINE_MAX_BYTES, RedactStage
from helix.pipeline.router import Router
from helix.pricing import PriceBook
from helix.providers.http import make_client
from helix.providers.registry import Registry
from helix.routing.table import RoutingTable
from helix.store import pg, reservations
from helix.store.db import connect, file_identity
from helix.store.writer import Writer
from helix.virtual_keys import KeyRecord, plain_model_name

log = logging.getLogger("helix")


class Stage(Protocol):
    async def __call__(self, call: Call, next: Next) -> Reply: ...


MODELS_TTL_SECONDS = 60.0
# How long a listing that some provider failed is kept: that provider may be back soon.
MODELS_RETRY_SECONDS = 5.0
# A provider's listing is given up after this long (a stalled one held GET /v1/models for its read timeout).
MODELS_LIST_SECONDS = 5.0


@dataclass(slots=True)
class Stages:
    """The stages a config change rebuilds: the PII engine and its stage (None: PII off), and the response cache."""

    pii: PiiEngine | None
    redact: RedactStage | None
    cache: ResponseCache | None


def compose(stages: list[Stage], last: Callable[[Call], Awaitable[Reply]]) -> Next:
    handler: Next = last
    for stage in reversed(stages):
        handler = partial(stage, next=handler)
    return handler


class Gateway:
    def __init__(self, config: Config, *, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.db_path = config.db_path()
        self.env = env
        self.writer = Writer(self.db_path)
        self.client: httpx.AsyncClient | None = None
        self.registry: Registry | None = None
        self.router: Router | None = None
        self.metrics = Metrics(self.db_path)
        # How to re-read the config for a live reload (helix/reload.py); None: reload is not offered.
        self.loader: Callable[[], Config] | None = None
        # Under `helix serve --workers N`: has the supervisor reload every worker (a reload asked over HTTP reaches
        # one of them).
        self.reload_others: Callable[[], None] | None = None
        self.reloading = asyncio.Lock()  # one reload at a time (helix/reload.py)
        self.prices = PriceBook(config.pricing)
        self._handler: Next | None = None
        self._models: tuple[float, list[dict[str, Any]]] | None = None
        self.cache: ResponseCache | None = None
        self.keys = KeyRing(config, self.db_path, self.writer)
        self.alerts = Alerts(
            config.alerts, self.writer, self.db_path if isinstance(self.db_path, PostgresUrl) else None
        )
        self.limits: LimitsStage | None = None
        self.log = LogStage(self.writer, self.prices, lambda: self.config.limits.output_tokens_estimate)
        self._measure = MeasureStage(self.metrics)
        self.pii: PiiEngine | None = None
        self.redact: RedactStage | None = None
        self._idle_cache: ResponseCache | None = None  # turned off by a reload; kept for turning on again
        self._in_flight: InFlight = {}  # the cache stage's requests being answered, across reloads
        self._pii_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="helix-pii")
        self.users = UserIds(None)
        self._hash_key = ""  # the database's key for values kept only as a keyed hash (end users, cache namespaces)
        self._db_file: tuple[int, int] | None = None  # the SQLite file opened at the start
        self._db_file_lost: tuple[float, str] | None = None

    async def start(self) -> None:
        # Create/migrate the schema once, synchronously, before any async connection opens; charge what
        # a crash left in flight before any budget reads its spend; read (or create) the key end-user
        # ids are hashed with.
        self._hash_key = await asyncio.to_thread(self._prepare_db)
        if isinstance(self.db_path, Path):
            self._db_file = file_identity(self.db_path)
        self.users = UserIds(None if self.config.privacy.store_user == "plain" else self._hash_key)
        await self.writer.start()
        self.client = make_client(self.config.upstream)
        self.registry = Registry(self.config, self.client, self.env)
        self.prices = PriceBook(self.config.pricing, {p.name for p in self.registry.usable() if p.local})
        self.router = Router(RoutingTable(self.config, self.registry), self.prices, self.metrics)
        self.limits = LimitsStage(
            self.config.limits, self.keys, self.prices, self.alerts, self.writer, self.db_path, self._answered_by
        )
        await self.keys.start()
        self.log = LogStage(self.writer, self.prices, lambda: self.config.limits.output_tokens_estimate)
        if self.config.pii.enabled:
            self.pii, self.redact = await self._make_redaction(self.config.pii)
        if self.config.cache.enabled:
            self.cache = self._make_cache(self.config.cache)
            await self.cache.start()
        self._compose()
        # Everything loaded so far (Presidio, numpy, the app) lives for the whole process: keep the
        # garbage collector from re-scanning it in every full collection, a source of tail latency.
        # Collect first so no garbage is frozen with it.
        gc.collect()
        gc.freeze()
        # CPython's default thresholds stay: raised ones (50,000 / 20 / 20) saved young collections but let
        # cyclic garbage pile up into ~100 ms collections, a p99 at c=1 of 93 ms instead of 5 ms
        # (bench/hot_path.py, docs/benchmarks.md).

    def _forwarded(self) -> frozenset[str]:
        """The client headers any provider passes on, as the providers are now (a reload may change them)."""
        return self.registry.forwarded if self.registry else frozenset()

    def storage_outage(self) -> tuple[float, str] | None:
        """Since when (time.time()) and why the shared database has been out of reach, as the connections
        found it at their latest statement (the key poll makes one every half second), or the SQLite file was
        deleted or replaced under the server; None if neither."""
        if isinstance(self.db_path, PostgresUrl):
            return pg.outage(self.db_path)
        if self._db_file is None or self._db_file_lost is not None:
            return self._db_file_lost
        now = file_identity(self.db_path)
        if now != self._db_file:
            # What this process writes goes to the file it opened, which no other process (the CLI, a restart) sees.
            why = "deleted" if now is None else "replaced by another file"
            self._db_file_lost = (
                time.time(),
                f"the database file {self.db_path} was {why} while Helix ran: keys, spend and the cache written since"
                " are in the file it opened, which nothing else sees; restart Helix",
            )
            log.error("%s", self._db_file_lost[1])
        return self._db_file_lost

    def _prepare_db(self) -> str:
        """Migrate, settle a crash's reservations; the key values kept as a keyed hash are hashed with."""
        conn = connect(self.db_path)
        try:
            reservations.reconcile(conn, shared=is_shared(self.db_path))
            return user_key(conn, self.config.privacy.user_hash_key)
        finally:
            conn.close()

    def _compose(self) -> None:
        """The handler from the current stages, swapped in one assignment: a request in flight keeps the chain
        it started with, a new one takes the new chain."""
        assert self.limits is not None
        stages: list[Stage] = [self.log, self._measure, self.limits]
        redact = self.redact
        if redact is not None:
            stages.append(redact)
        if self.cache is not None:
            pii = self.config.pii
            scrub = redact.scrub_for_store if redact is not None and pii.scan_responses != "off" else None
            stages.append(
                CacheStage(
                    self.cache,
                    self.config.cache,
                    self.prices,
                    self._hash_key,
                    scrub,
                    self._served_by,
                    self._cached_as,
                    in_flight=self._in_flight,
                    deadline=self.config.routing.deadline,
                )
            )
        self._handler = compose(stages, self._route)

    async def prepare_stages(self, config: Config) -> Stages:
        """What new [pii] and [cache] settings need built before they can take over (a live reload): a new PII
        engine takes seconds (Presidio, spaCy) and is made in a thread while the old one keeps serving."""
        built = Stages(self.pii, self.redact, self.cache if self.cache is not None else self._idle_cache)
        if config.pii != self.config.pii:
            built.pii, built.redact = await self._make_redaction(config.pii) if config.pii.enabled else (None, None)
        if config.cache.enabled and built.cache is None:
            built.cache = self._make_cache(config.cache)
            await built.cache.start()
        return built

    @property
    def cache_built(self) -> bool:
        """A response cache exists (in the chain or turned off), built with its embedding and judge models."""
        return self.cache is not None or self._idle_cache is not None

    def install(self, config: Config, built: Stages) -> None:
        """Take `config` and the stages prepared for it, in one synchronous step (no request sees a mix)."""
        cache = built.cache
        if cache is not None:  # first: the step that can fail, before anything of the new config is taken
            cache.reconfigure(config.cache)
        self.config = config
        self.pii, self.redact = built.pii, built.redact
        # A cache turned off stays open, out of the chain: requests in flight may still save into it.
        self.cache, self._idle_cache = (cache, None) if config.cache.enabled else (None, cache)
        self._compose()

    async def _make_redaction(self, settings: PiiConfig) -> tuple[PiiEngine, RedactStage]:
        # Building Presidio (and a spaCy model, if configured) takes a while: keep it off the event loop.
        pii = await asyncio.to_thread(PiiEngine, settings)
        if pii.skipped:
            log.warning(
                "PII firewall: %s. NOT DETECTED: %s, so names and places reach providers: %s",
                pii.mode,
                ", ".join(pii.skipped),
                NAMES_HINT,
            )
        else:
            log.info("PII firewall: %s", pii.mode)
        redactor = Redactor(pii, settings.hash_key)
        inline = 0 if pii.uses_ner else INLINE_MAX_BYTES
        stage = RedactStage(
            redactor,
            settings.on_error,
            self.writer,
            self._pii_executor,
            inline,
            settings.scan_responses,
            self._forwarded,
        )
        return pii, stage

    def _make_cache(self, settings: CacheConfig) -> ResponseCache:
        # One ONNX thread: a short prompt embeds in ~3 ms that way, ~8 ms when threads contend on 2 cores.
        embedder = (
            Embedder(settings.embedding_model, settings.embedding_model_path, threads=1) if settings.semantic else None
        )
        return ResponseCache(settings, self.db_path, self.writer, embedder)

    async def close(self) -> None:
        await self.keys.close()
        await self.alerts.close()
        if self.limits is not None:
            await asyncio.to_thread(self.limits.close)
        for cache in (self.cache, self._idle_cache):
            if cache is not None:
                await cache.close()
        self._pii_executor.shutdown(wait=False, cancel_futures=True)
        await self.writer.close()
        if self.client is not None:
            await self.client.aclose()

    def parse(
        self,
        endpoint: Endpoint,
        raw: bytes,
        headers: Mapping[str, str],
        request_id: str,
        key: KeyRecord | None = None,
    ) -> Call:
        """The call a request body makes, carrying the key it was authenticated with; a refusal is logged."""
        assert self.registry is not None, "Gateway.start() was not awaited"
        started, ts = time.perf_counter(), time.time()
        try:
            resolve = (
                anthropic_client_resolver(self.registry) if endpoint in ANTHROPIC_ENDPOINTS else self.registry.resolve
            )
            call = parse_call(endpoint, raw, headers, resolve, request_id)
        except HelixError as exc:
            self._reject(endpoint, exc, headers, request_id, key, ts, started)
            raise
        call.user = self.users.stored(call.user)
        call.key = key
        return call

    async def receive(
        self,
        endpoint: Endpoint,
        body: Callable[[], Awaitable[bytes]],
        headers: Mapping[str, str],
        request_id: str,
        key: KeyRecord | None = None,
    ) -> bytes:
        """The request's body, decompressed when sent so (helix/pipeline/encoding.py); one refused (too large, in an
        encoding Helix does not read) or never sent (the client left or stalled) is logged."""
        started, ts = time.perf_counter(), time.time()
        try:
            try:
                return decoded_body(await body(), headers, self.config.server.max_body_bytes)
            except asyncio.CancelledError as cancelled:  # the server stopping while the body came: a 503 and its row
                answer_server_cut(cancelled)
                raise
        except HelixError as exc:
            self._reject(endpoint, exc, headers, request_id, key, ts, started)
            raise

    def _reject(
        self,
        endpoint: Endpoint,
        exc: HelixError,
        headers: Mapping[str, str],
        request_id: str,
        key: KeyRecord | None,
        ts: float,
        started: float,
    ) -> None:
        user = self.users.stored(header_text(headers, "x-helix-user")[:MAX_TEXT_CHARS] or None)
        self.log.reject(request_id, endpoint, exc, ts=ts, latency=time.perf_counter() - started, user=user, key=key)

    def authenticate(
        self, headers: Mapping[str, str], endpoint: Endpoint | None = None, request_id: str | None = None
    ) -> KeyRecord | None:
        """The virtual key a request carries (None on a laptop with no keys); a refusal is logged, then raised."""
        try:
            return self.keys.authenticate(headers)
        except HelixError as exc:
            if endpoint is not None and request_id is not None:
                self.log.reject(request_id, endpoint, exc, ts=time.time())
            raise

    def _served_by(self, call: Call, name: str) -> Target | None:
        assert self.router is not None
        return self.router.table.route(call.requested_model, call.target).target_named(name)

    def _answered_by(self, call: Call) -> list[Target]:
        assert self.router is not None
        return self.router.table.route(call.requested_model, call.target).targets()

    def _cached_as(self, call: Call) -> str:
        assert self.router is not None
        return self.router.table.cached_as(call.requested_model, call.target)

    async def _route(self, call: Call) -> Reply:
        assert self.router is not None
        return await self.router(call)  # looked up per call: a reload swaps the router

    async def handle(self, call: Call) -> Reply:
        assert self._handler is not None, "Gateway.start() was not awaited"
        return await self._handler(call)

    def forget_models(self) -> None:
        self._models = None

    async def models(self) -> list[dict[str, Any]]:
        """Aliases plus every reachable provider's models, as `provider/model`; cached for a minute.

        A provider whose listing fails is stood for by the models the config routes to it (its aliases' targets
        and fallbacks), and the listing is kept a few seconds only; when nothing at all can be listed, it is a 502
        naming the failures, not an empty list that says there are no models."""
        assert self.registry is not None
        now = time.monotonic()
        if self._models and now < self._models[0]:
            return self._models[1]
        providers = self.registry.usable()
        results = await asyncio.gather(*(_listing(p) for p in providers), return_exceptions=True)
        listed: list[dict[str, Any]] = [
            {"id": alias, "object": "model", "created": 0, "owned_by": f"helix alias for {target}"}
            for alias, target in self.registry.aliases.items()
        ]
        failures: list[str] = []
        for provider, result in zip(providers, results, strict=True):
            if isinstance(result, BaseException):
                log.info("listing models of %s failed: %s", provider.name, result)
                said = result.message if isinstance(result, HelixError) else f"{provider.name}: {type(result).__name__}"
                failures.append(said)
                listed.extend(self._configured_models(provider.name, listed))
                continue
            for item in result:
                # a model a client could not ask for (an id that is no name: a number, null, a list shown as a Python
                # repr, control characters) is not listed
                named = f"{provider.name}/{item['id']}"
                if isinstance(item["id"], str) and plain_model_name(named):
                    listed.append({**item, "id": named, "object": "model"})
        if failures and not listed:
            raise HelixError(
                "no model could be listed: " + "; ".join(failures),
                status=502,
                type="upstream_error",
                code="upstream_models_unavailable",
            )
        self._models = (now + (MODELS_RETRY_SECONDS if failures else MODELS_TTL_SECONDS), listed)
        return listed

    def _configured_models(self, provider: str, listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The models the config routes to `provider` (its aliases' deployments and fallbacks), not yet in `listed`."""
        seen = {item["id"] for item in listed}
        found: list[dict[str, Any]] = []
        for spec in self.config.models.values():
            for target in [d.target for d in spec.all_deployments()] + spec.fallbacks:
                if target.startswith(f"{provider}/") and target not in seen:
                    seen.add(target)
                    found.append({"id": target, "object": "model", "created": 0, "owned_by": provider})
        return found


async def _listing(provider: Provider) -> list[dict[str, Any]]:
    try:
        return await asyncio.wait_for(provider.list_models(), MODELS_LIST_SECONDS)
    except TimeoutError:
        raise HelixError(f"{provider.name}: listing its models took over {MODELS_LIST_SECONDS:g} s") from None


__all__ = ["Gateway", "compose", "new_request_id"]

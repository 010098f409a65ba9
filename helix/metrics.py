"""Prometheus metrics: what `/metrics` serves, in the text exposition format (prometheus-client).

Counted in process, per request (by the measure stage and the router): requests by model, provider,
status and cache result; latency, Helix's own overhead and time to first token; tokens; cost and
dollars saved; retries, fallbacks, cooldowns; requests in flight. Read when scraped: each deployment's
state, the cache hit ratio, PII detections by type and each key's remaining budget (from the database).

Label values are bounded: model and deployment names are the client's choice for unaliased models, so
only the first `LABEL_VALUES` distinct values get their own series, later ones are counted as "other".
No user ids, key secrets or prompt text ever become labels.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from helix.call import Call
from helix.dburl import Location
from helix.routing.deployment import Deployment
from helix.routing.table import RoutingTable
from helix.store import keys as key_store
from helix.store import spend
from helix.store.db import Connection, in_thread

log = logging.getLogger("helix.metrics")
LABEL_VALUES = 200
STORED_TTL_SECONDS = 5.0
OTHER = "other"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)


class BoundedLabel:
    """Passes the first `limit` distinct values through; any later one becomes "other"."""

    def __init__(self, limit: int = LABEL_VALUES) -> None:
        self._seen: set[str] = set()
        self._limit = limit

    def __call__(self, value: str | None) -> str:
        if value is None:
            return "none"
        if value in self._seen:
            return value
        if len(self._seen) < self._limit:
            self._seen.add(value)
            return value
        return OTHER


class Metrics:
    def __init__(self, db_path: Location | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._db_path = db_path
        self._started = time.time()
        self._model = BoundedLabel()
        self._deployment = BoundedLabel()
        r = self.registry
        self.requests = Counter(
            "helix_requests", "Requests answered, by model asked for, provider, status and cache result",
            ["model", "provider", "status", "cache"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "helix_request_duration_seconds", "Time to the whole answer", ["provider"],
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.overhead = Histogram(
            "helix_overhead_seconds", "Helix's own time (not waiting for the provider)",
            buckets=_OVERHEAD_BUCKETS, registry=r,
        )  # fmt: skip
        self.ttft = Histogram(
            "helix_time_to_first_token_seconds", "Time to the first streamed chunk", ["provider"],
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.tokens = Counter("helix_tokens", "Tokens, by direction (in, out)", ["provider", "direction"], registry=r)
        self.cost = Counter("helix_cost_usd", "Dollars spent at providers", ["provider"], registry=r)
        self.saved = Counter("helix_saved_usd", "Dollars the cache saved", registry=r)
        self.cache = Counter("helix_cache_lookups", "Cache lookups by result", ["result"], registry=r)
        self.retries = Counter(
            "helix_upstream_retries", "Attempts repeated after a failure", ["deployment"], registry=r
        )
        self.fallbacks = Counter(
            "helix_fallbacks", "Requests passed to a fallback model", ["model", "fallback"], registry=r
        )
        self.cooldowns = Counter("helix_cooldowns", "Deployments taken out for a cooldown", ["deployment"], registry=r)
        self.in_flight = Gauge("helix_in_flight_requests", "Requests being answered now", registry=r)
        self.hit_ratio = Gauge("helix_cache_hit_ratio", "Cache hits / lookups since start", registry=r)
        self.state = Gauge(
            "helix_deployment_state", "1 for each deployment's current state", ["deployment", "state"], registry=r
        )
        self.deployment_in_flight = Gauge(
            "helix_deployment_in_flight", "Requests in flight per deployment", ["deployment"], registry=r
        )
        self.pii = Gauge(
            "helix_pii_detections", "PII and secrets found in requests since start, by type", ["type"], registry=r
        )
        self.budget = Gauge(
            "helix_budget_remaining_usd", "What each key with a budget may still spend this period", ["key"], registry=r
        )
        self._hits = 0
        self._lookups = 0
        # The per-request metrics' children by labels: `labels()` validates and locks on every call (a tenth
        # of a cache hit's time went to observe()); these metrics are never cleared, so a child stays valid.
        self._children: dict[tuple[Any, ...], Any] = {}
        self._stored: dict[str, Any] = {}
        self._stored_at = -math.inf

    # Per request (the measure stage).

    def started(self) -> None:
        self.in_flight.inc()

    def cancelled(self) -> None:
        self.in_flight.dec()

    def observe(self, call: Call) -> None:
        self.in_flight.dec()
        provider = call.target.provider.name
        cache = call.cache or "NONE"
        self._child(self.requests, self._model(call.requested_model), provider, str(call.status), cache).inc()
        if call.finished is not None:
            self._child(self.latency, provider).observe(call.finished)
        overhead = call.overhead_seconds
        if overhead is not None:
            self.overhead.observe(overhead)
        if call.ttft is not None and call.stream:
            self._child(self.ttft, provider).observe(call.ttft)
        hit = call.cache is not None and call.cache.startswith("HIT")
        if call.cache is not None and call.cache != "BYPASS":
            self._child(self.cache, cache).inc()
            self._lookups += 1
            self._hits += hit
        if call.usage is not None and not hit:
            self._child(self.tokens, provider, "in").inc(call.usage.prompt_tokens)
            self._child(self.tokens, provider, "out").inc(call.usage.completion_tokens)
        if call.cost:
            self._child(self.cost, provider).inc(call.cost)
        if call.saved:
            self.saved.inc(call.saved)

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (metric, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    # From the router.

    def retried(self, deployment: Deployment) -> None:
        self.retries.labels(self._deployment(deployment.name)).inc()

    def fell_back(self, model: str, to: str) -> None:
        self.fallbacks.labels(self._model(model), self._model(to)).inc()

    def cooled(self, deployment: Deployment) -> None:
        self.cooldowns.labels(self._deployment(deployment.name)).inc()

    # When scraped.

    async def scrape(self, table: RoutingTable | None) -> bytes:
        # The database part (PII detections, budgets) is read at most every few seconds, off the event loop.
        now = time.monotonic()
        if self._db_path is not None and now - self._stored_at > STORED_TTL_SECONDS:
            try:
                self._stored = await in_thread(self._db_path, self.read_stored, reader=True)
                self._stored_at = now
            except sqlite3.Error as exc:  # the database out of reach (a restart): the rest is worth scraping
                log.warning("metrics from the database are stale: %s", exc)
        return self.render(table, self._stored)

    def render(self, table: RoutingTable | None, stored: dict[str, Any]) -> bytes:
        self.hit_ratio.set(self._hits / self._lookups if self._lookups else 0.0)
        if table is not None:
            now = time.monotonic()
            self.state.clear()
            self.deployment_in_flight.clear()
            for name, deployment in table.configured().items():
                current = deployment.health.state(now)
                for state in ("healthy", "cooling", "probing"):
                    self.state.labels(name, state).set(1.0 if state == current else 0.0)
                self.deployment_in_flight.labels(name).set(deployment.in_flight)
        self.pii.clear()
        for entity, count in stored.get("pii", {}).items():
            self.pii.labels(entity).set(count)
        self.budget.clear()
        for name, remaining in stored.get("budgets", {}).items():
            self.budget.labels(name).set(remaining)
        return generate_latest(self.registry)

    def read_stored(self, conn: Connection) -> dict[str, Any]:
        """PII detections since start and keys' remaining budgets (run in a thread, on a read connection)."""
        pii = dict(
            conn.execute(
                "SELECT entity_type, sum(count) FROM pii_incidents WHERE ts >= ? GROUP BY entity_type LIMIT ?",
                (self._started, LABEL_VALUES),
            ).fetchall()
        )
        budgets: dict[str, float] = {}
        keys = [k for k in key_store.list_keys(conn) if k.spec.budget is not None][:LABEL_VALUES]
        for row in spend.report(conn, keys):
            budget = row.get("budget_usd")
            if budget is not None and not math.isinf(budget):
                budgets[row["name"]] = max(0.0, float(budget) - row["spent_usd"])
        return {"pii": pii, "budgets": budgets}

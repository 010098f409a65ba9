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

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from helix.call import Call
from helix.dburl import Location
from helix.routing.deployment import Deployment
from helix.routing.table import RoutingTable
from helix.store import keys as key_store
from helix.store import spend
from helix.store.db import Connection, in_thread
from helix.tally import CounterTally, GaugeTally, HistogramTally, Tally

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
        # Per request, on the event loop's thread: plain numbers (helix/tally.py), read when scraped.
        self.requests = CounterTally(
            "helix_requests", "Requests answered, by model asked for, provider, status and cache result",
            ["model", "provider", "status", "cache"],
        )  # fmt: skip
        self.latency = HistogramTally(
            "helix_request_duration_seconds", "Time to the whole answer", _LATENCY_BUCKETS, ["provider"]
        )
        self.overhead = HistogramTally(
            "helix_overhead_seconds", "Helix's own time (not waiting for the provider)", _OVERHEAD_BUCKETS
        )
        self.ttft = HistogramTally(
            "helix_time_to_first_token_seconds", "Time to the first streamed chunk", _LATENCY_BUCKETS, ["provider"]
        )
        self.tokens = CounterTally("helix_tokens", "Tokens, by direction (in, out)", ["provider", "direction"])
        self.cost = CounterTally("helix_cost_usd", "Dollars spent at providers", ["provider"])
        self.saved = CounterTally("helix_saved_usd", "Dollars the cache saved")
        self.cache = CounterTally("helix_cache_lookups", "Cache lookups by result", ["result"])
        self.in_flight = GaugeTally("helix_in_flight_requests", "Requests being answered now")
        r.register(
            Tally(
                self.requests, self.latency, self.overhead, self.ttft, self.tokens, self.cost, self.saved,
                self.cache, self.in_flight,
            )
        )  # fmt: skip
        self.retries = Counter(
            "helix_upstream_retries", "Attempts repeated after a failure", ["deployment"], registry=r
        )
        self.fallbacks = Counter(
            "helix_fallbacks", "Requests passed to a fallback model", ["model", "fallback"], registry=r
        )
        self.cooldowns = Counter("helix_cooldowns", "Deployments taken out for a cooldown", ["deployment"], registry=r)
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
        self._stored: dict[str, Any] = {}
        self._stored_at = -math.inf

    # Per request (the measure stage).

    def started(self) -> None:
        self.in_flight.value += 1

    def observe(self, call: Call) -> None:
        self.in_flight.value -= 1
        provider = call.target.provider.name
        cache = call.cache or "NONE"
        self.requests.inc((self._model(call.requested_model), provider, str(call.status), cache))
        if call.finished is not None:
            self.latency.observe(call.finished, (provider,))
        overhead = call.overhead_seconds
        if overhead is not None:
            self.overhead.observe(overhead)
        if call.ttft is not None and call.stream:
            self.ttft.observe(call.ttft, (provider,))
        hit = call.cache is not None and call.cache.startswith("HIT")
        if call.cache is not None and call.cache != "BYPASS":
            self.cache.inc((cache,))
            self._lookups += 1
            self._hits += hit
        if call.usage is not None and not hit:
            self.tokens.inc((provider, "in"), call.usage.prompt_tokens)
            self.tokens.inc((provider, "out"), call.usage.completion_tokens)
        if call.cost:
            self.cost.inc((provider,), call.cost)
        if call.saved:
            self.saved.inc((), call.saved)

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

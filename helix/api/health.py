"""/health (liveness) and /health/ready (the database writer runs and the database is within reach, a
provider is usable, models are loaded; and each configured deployment's state: healthy, cooling or probing).

A shared database out of reach makes the instance not ready (503), so a load balancer sends requests to
others: it cannot admit a key with a budget meanwhile. That is read from what the connections last found
(`Gateway.storage_outage`), not asked of the database at each probe; the key poll finds it within half a
second either way.

While `helix serve` is still importing and building the app, helix.startup answers both instead
(/health/ready with 503 "loading"); once the app runs, the embedding model may still be loading in
the background, which keeps /health/ready at 503 "loading" too."""

from __future__ import annotations

import time
from typing import Any

from litestar import Request, Response

from helix import __version__
from helix.api.responses import get_route
from helix.gateway import Gateway
from helix.routing.status import deployment_states


@get_route("/health")
async def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@get_route("/health/ready")
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    gateway: Gateway = request.app.state.gateway
    providers = [p.name for p in gateway.registry.usable()] if gateway.registry else []
    outage = gateway.storage_outage()
    database = "ok" if gateway.writer.alive else "writer not running"
    if outage is not None:
        since, why = outage
        database = f"unreachable for {max(0.0, time.time() - since):.0f} s: {why}"
    checks = {
        "database": database,
        "providers": providers or "none configured: set OPENAI_API_KEY or add [providers.*] to helix.toml",
    }
    cache = gateway.cache
    loading = cache is not None and cache.semantic_enabled and not cache.semantic_ready
    if cache is not None and cache.semantic_enabled:
        checks["embedding model"] = "loading" if loading else "ok"
    is_ready = database == "ok" and bool(providers) and not loading
    body: dict[str, Any] = {
        "status": "ready" if is_ready else "loading" if loading else "not ready",
        "checks": checks,
        "pending_writes": gateway.writer.pending,
    }
    if gateway.router is not None:
        body["deployments"] = deployment_states(gateway.router.table)
    return Response(body, status_code=200 if is_ready else 503)


routes = [health, ready]

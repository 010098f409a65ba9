"""/health (liveness) and /health/ready (the database writer runs and a provider is usable; cache state)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from helix import __version__
from helix.gateway import Gateway


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@get("/health/ready")
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    gateway: Gateway = request.app.state.gateway
    providers = [p.name for p in gateway.registry.usable()] if gateway.registry else []
    checks = {
        "database": "ok" if gateway.writer.alive else "writer not running",
        "providers": providers or "none configured: set OPENAI_API_KEY or add [providers.*] to helix.toml",
        "cache": _cache_state(gateway),
    }
    is_ready = gateway.writer.alive and bool(providers)
    body = {
        "status": "ready" if is_ready else "not ready",
        "checks": checks,
        "pending_writes": gateway.writer.pending,
    }
    return Response(body, status_code=200 if is_ready else 503)


def _cache_state(gateway: Gateway) -> str:
    cache = gateway.cache
    if cache is None:
        return "off"
    if cache.semantic_ready:
        return "exact + semantic"
    return "exact; semantic loading" if cache.semantic_enabled else "exact only"


routes = [health, ready]

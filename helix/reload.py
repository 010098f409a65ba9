"""Live config reload (SIGHUP, `helix reload`, POST /admin/reload): re-read helix.toml, apply what can
change in a running server, keep serving the old config if the file is invalid.

Applied without dropping requests in flight (they finish on the objects they started with):
- [providers], [models] (deployments, fallbacks), [routing], [pricing]: a new registry and router. A
  deployment whose settings did not change keeps its health and latency history.
- [pii]: a new PII engine and redact stage, built in a thread while the old one keeps serving.
- [cache]: on or off, thresholds, TTL, sizes, scope; the cache's entries and index stay.
- [limits]: global rate limits, the default per-user budget, the output estimate; the limits stage adopts
  them in place, so budgets reserved in flight and what rate-limit buckets have used carry over.
Everything is built first; then one synchronous swap installs it all, so a request sees the old config or
the new one, never a mix.

What a running server cannot change (the port and the other [server] settings, the database path, the
upstream client, [auth], [alerts], [privacy], [dashboard], the cache's embedding and judge models) is
not applied: the result names each such key and says a restart applies it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec

from helix.config import RELOAD_REFUSED, Config, ConfigError
from helix.gateway import Gateway
from helix.pipeline.router import Router
from helix.providers.registry import Registry
from helix.routing.table import RoutingTable

log = logging.getLogger("helix")

LIVE = ("providers", "models", "routing", "pricing", "pii", "cache", "limits")
# Keys of live sections that still need a restart: the cache's index holds the embedding model's vectors.
FIXED_KEYS: dict[str, tuple[str, ...]] = {
    "cache": ("semantic", "embedding_model", "embedding_model_path", "judge_model_path")
}
Loader = Callable[[], Config]


@dataclass
class Outcome:
    ok: bool
    message: str
    changed: list[str] = field(default_factory=list)
    restart_needed: list[str] = field(default_factory=list)


async def reload(gateway: Gateway, loader: Loader) -> Outcome:
    # One reload at a time: two SIGHUPs in a row must not build two PII engines and install them in any order.
    async with gateway.reloading:
        return await _reload(gateway, loader)


async def _reload(gateway: Gateway, loader: Loader) -> Outcome:
    old = gateway.config
    try:
        config = await asyncio.to_thread(loader)
        registry = Registry(config, _client(gateway), gateway.env)
        table = RoutingTable(config, registry, previous=gateway.router.table if gateway.router else None)
    except (ConfigError, ValueError) as exc:
        return _refused(str(exc))
    # The cache's models are fixed once a cache was built with them; turning a cache on builds it as configured.
    fixed = FIXED_KEYS if gateway.cache_built else {}
    restart = [f"{section}.{key}" for section, key in _differences(old, config) if not _live(section, key, fixed)]
    applied = _applied(old, config, fixed)
    changed = [name for name in LIVE if getattr(old, name) != getattr(applied, name)]
    try:
        stages = await gateway.prepare_stages(applied)
    except Exception as exc:  # e.g. a spaCy model that does not load: the old engine keeps serving
        log.exception("building the reloaded stages failed")
        return _refused(f"the new [pii] or [cache] settings could not be built: {exc}")
    # One synchronous swap: a request sees the old objects or the new ones, never a mix.
    gateway.prices.reload(applied.pricing, {p.name for p in registry.usable() if p.local})
    gateway.registry = registry
    gateway.router = Router(table, gateway.prices, gateway.metrics)
    gateway.install(applied, stages)
    gateway.forget_models()
    if "limits" in changed and gateway.limits is not None:
        await gateway.limits.reconfigure(applied.limits)
    message = "config reloaded: " + (", ".join(f"[{n}]" for n in changed) + " changed" if changed else "no change")
    if restart:
        keys = ", ".join("[{}] {}".format(*name.split(".", 1)) for name in restart)
        message += f"; not applied, as a running server cannot change them: {keys} (restart Helix to apply)"
    log.info("%s", message)
    return Outcome(True, message, changed, restart)


def _refused(reason: str) -> Outcome:
    message = f"{RELOAD_REFUSED}: {reason}"
    log.error("%s", message)
    return Outcome(False, message)


def _live(section: str, key: str, fixed: dict[str, tuple[str, ...]]) -> bool:
    return section in LIVE and key not in fixed.get(section, ())


def _applied(old: Config, new: Config, fixed: dict[str, tuple[str, ...]]) -> Config:
    """The config the server runs after the reload: `new`'s live settings, `old`'s for everything else."""
    cache = msgspec.structs.replace(new.cache, **{k: getattr(old.cache, k) for k in fixed.get("cache", ())})
    live: dict[str, Any] = {name: getattr(new, name) for name in LIVE}
    return msgspec.structs.replace(old, **{**live, "cache": cache})


def _differences(old: Config, new: Config) -> list[tuple[str, str]]:
    """(section, key) of every top-level setting that differs; a named section ([models.x]) counts whole."""
    found: list[tuple[str, str]] = []
    for section in Config.__struct_fields__:
        before, after = getattr(old, section), getattr(new, section)
        if before == after:
            continue
        if isinstance(before, msgspec.Struct):
            found += [(section, k) for k in before.__struct_fields__ if getattr(before, k) != getattr(after, k)]
        else:
            found.append((section, "*"))
    return found


def _client(gateway: Gateway) -> httpx.AsyncClient:
    assert gateway.client is not None, "Gateway.start() was not awaited"
    return gateway.client

"""Live config reload (SIGHUP, `helix reload`, POST /admin/reload): re-read helix.toml, apply what can
change in a running server, keep serving the old config if the file is invalid.

Applied at once, without dropping requests in flight (they finish on the objects they started with):
[providers], [models] (deployments, fallbacks), [routing] and [pricing]. A deployment whose settings
did not change keeps its health and latency history. Other sections are read but need a restart;
the result names them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import msgspec

from helix.config import RELOAD_REFUSED, Config, ConfigError
from helix.gateway import Gateway
from helix.pipeline.router import Router
from helix.providers.registry import Registry
from helix.routing.table import RoutingTable

log = logging.getLogger("helix")

LIVE = ("providers", "models", "routing", "pricing")
Loader = Callable[[], Config]


@dataclass
class Outcome:
    ok: bool
    message: str
    changed: list[str] = field(default_factory=list)
    restart_needed: list[str] = field(default_factory=list)


async def reload(gateway: Gateway, loader: Loader) -> Outcome:
    try:
        config = await asyncio.to_thread(loader)
        registry = Registry(config, _client(gateway), gateway.env)
        table = RoutingTable(config, registry, previous=gateway.router.table if gateway.router else None)
    except (ConfigError, ValueError) as exc:
        message = f"{RELOAD_REFUSED}: {exc}"
        log.error("%s", message)
        return Outcome(False, message)
    old = gateway.config
    changed = [name for name in LIVE if getattr(old, name) != getattr(config, name)]
    restart = [
        name for name in Config.__struct_fields__ if name not in LIVE and getattr(old, name) != getattr(config, name)
    ]
    # One synchronous swap: a request sees the old objects or the new ones, never a mix.
    gateway.prices.reload(config.pricing, {p.name for p in registry.usable() if p.local})
    gateway.registry = registry
    gateway.router = Router(table, gateway.prices, gateway.metrics)
    gateway.config = msgspec.structs.replace(old, **{name: getattr(config, name) for name in LIVE})
    gateway.forget_models()
    message = "config reloaded: " + (", ".join(f"[{n}]" for n in changed) + " changed" if changed else "no change")
    if restart:
        message += "; " + ", ".join(f"[{n}]" for n in restart) + " changed too and take effect after a restart"
    log.info("%s", message)
    return Outcome(True, message, changed, restart)


def _client(gateway: Gateway) -> httpx.AsyncClient:
    assert gateway.client is not None, "Gateway.start() was not awaited"
    return gateway.client

"""Serving the dashboard beside the Litestar app, in one ASGI app.

Requests under /dashboard (pages, NiceGUI's assets and its socket) pass the guard, then go to NiceGUI's
FastAPI host with their path intact; everything else goes to Litestar untouched. Litestar's own mounts
strip the prefix, which breaks NiceGUI's asset URLs, hence this dispatcher. NiceGUI's lifespan runs
inside Litestar's (the dashboard's lifespan is one of the app's), after the gateway has started.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, cast

from litestar import Litestar

from helix.config import Config
from helix.durations import parse_duration
from helix.routing.status import deployment_states
from helix.web import login
from helix.web.actions import Actions
from helix.web.asgi import SCOPE_KEY, ASGIApp, Receive, Scope, Send
from helix.web.feed import Feed
from helix.web.guard import (
    CLOSED_MESSAGE,
    CROSS_SITE_MESSAGE,
    LOGIN,
    LOGOUT,
    PREFIX,
    Guard,
    Sessions,
    access,
    same_origin,
)
from helix.web.host import host_app, running
from helix.web.site import Site

if TYPE_CHECKING:
    from helix.gateway import Gateway


class Dashboard:
    """One app's dashboard: who may see it, and the feed its pages read."""

    def __init__(self, config: Config, gateway: Gateway) -> None:
        self.access = access(config)
        self._gateway = gateway
        self.actions = Actions(gateway)
        sessions = Sessions(gateway.db_path, parse_duration(config.dashboard.session_ttl))
        self.guard = Guard(config.auth.admin_key, sessions) if config.auth.admin_key else None
        self.feed = Feed(gateway.db_path, config.dashboard.refresh_seconds)
        if self.access != "closed":
            # Load NiceGUI now, before the gateway's start-up freezes what is loaded out of the garbage
            # collector's reach: left unfrozen, its objects lengthen every full collection (p99 at c=10).
            host_app()

    def deployments(self) -> dict[str, dict[str, Any]]:
        router = self._gateway.router  # looked up each time: a reload swaps the router
        return deployment_states(router.table) if router is not None else {}

    @asynccontextmanager
    async def lifespan(self, _: Litestar) -> AsyncIterator[None]:
        if self.access == "closed":
            yield
            return
        async with running():
            yield

    async def handle(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        path = scope["path"]
        if len(path) > len(PREFIX) and path[len(PREFIX)] != "/":
            await app(scope, receive, send)  # /dashboardx is not the dashboard's
        elif self.access == "closed":
            await login.forbid(scope, receive, send, CLOSED_MESSAGE)
        elif _changes_state(scope) and not same_origin(scope["headers"]):
            await login.forbid(scope, receive, send, CROSS_SITE_MESSAGE)
        elif self.guard is not None and path == LOGIN:
            await login.login(scope, receive, send, self.guard)
        elif self.guard is not None and path == LOGOUT:
            await login.logout(scope, send, self.guard)
        elif self.guard is not None and not await self.guard.allows(scope["headers"]):
            await login.refuse(scope, receive, send)
        else:
            site: Site = self  # what the pages see of it (checked here, where both are known)
            scope[SCOPE_KEY] = site
            await host_app()(scope, receive, send)


def _changes_state(scope: Scope) -> bool:
    """A socket (NiceGUI's actions travel on it) or any request but a plain read."""
    return scope["type"] == "websocket" or scope.get("method") not in ("GET", "HEAD", "OPTIONS")


class Dispatcher:
    def __init__(self, app: ASGIApp, dashboard: Dashboard) -> None:
        self.app = app
        self.dashboard = dashboard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # All a /v1 request pays for the dashboard: one startswith (lifespan scopes have no path).
        if scope.get("path", "").startswith(PREFIX):
            await self.dashboard.handle(scope, receive, send, self.app)
        else:
            await self.app(scope, receive, send)


def front(app: Litestar) -> ASGIApp:
    """What the server runs: the app, behind the dashboard's dispatcher when the dashboard is on."""
    dashboard: Dashboard | None = app.state.get("dashboard")
    asgi = cast(ASGIApp, app)  # Litestar types its scopes as TypedDicts; it is a plain ASGI app all the same
    return asgi if dashboard is None else Dispatcher(asgi, dashboard)

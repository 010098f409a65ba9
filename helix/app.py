"""create_app(config): the Litestar app, its lifespan (database, upstream client, dashboard) and error handlers.

The server runs `served(app)`: in laptop mode, requests from web pages of other sites refused first
(helix/api/local_only.py), then CORS for the pages that may call Helix (helix/api/cors.py), then chat
completions answered in front of everything (helix/api/chat_route.py),
then the dashboard's dispatcher when it is on, then the app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig

from helix import __version__
from helix.api import admin, anthropic, health, metrics, openai, reload, responses_api
from helix.api.chat_route import ChatRoute
from helix.api.cors import with_cors
from helix.api.local_only import LocalOnly
from helix.api.responses import on_helix_error, on_http_error, on_unexpected
from helix.config import Config
from helix.errors import HelixError
from helix.gateway import Gateway
from helix.pipeline.auth import laptop_mode
from helix.web.asgi import ASGIApp
from helix.web.mount import Dashboard, front


def create_app(
    config: Config, *, env: dict[str, str] | None = None, loader: Callable[[], Config] | None = None
) -> Litestar:
    """`loader` re-reads the config for a live reload (SIGHUP, `helix reload`); without it there is none."""
    gateway = Gateway(config, env=env)
    gateway.loader = loader
    dashboard = Dashboard(config, gateway) if config.dashboard.enabled else None
    max_body = config.server.max_body_bytes

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        try:
            await gateway.start()
        except BaseException:
            await gateway.close()  # what did start (the writer's thread, the HTTP client) must not outlive it
            raise
        try:
            yield
        finally:
            await gateway.close()

    app = Litestar(
        route_handlers=[
            *openai.routes,
            *anthropic.routes,
            *responses_api.routes,
            *health.routes,
            *admin.routes,
            *metrics.routes,
            *reload.routes,
        ],
        lifespan=[lifespan] if dashboard is None else [lifespan, dashboard.lifespan],
        exception_handlers={
            HelixError: on_helix_error,
            HTTPException: on_http_error,
            Exception: on_unexpected,
        },
        request_max_body_size=max_body,
        # The schema lists /admin: only the admin key sees it, or anyone when only this machine can connect.
        openapi_config=OpenAPIConfig(
            title="Helix",
            version=__version__,
            openapi_router=Router(path="/openapi", route_handlers=[], guards=[admin.admin_or_laptop]),
        ),
        # Logging is the host's to configure (`helix serve` does, in helix.logs); Litestar's default
        # would put the root logger at INFO and print a line per upstream request.
        logging_config=None,
        debug=False,
    )
    app.state.gateway = gateway
    app.state.dashboard = dashboard
    app.state.max_body = max_body
    return app


def served(app: Litestar) -> ASGIApp:
    """What the server runs for `app` (see the module's docstring)."""
    gateway: Gateway = app.state.gateway
    origins = gateway.config.server.cors_origins
    chat = ChatRoute(front(app), gateway, app.state.max_body)
    return LocalOnly(with_cors(chat, origins, local=laptop_mode(gateway.config)), gateway, origins)

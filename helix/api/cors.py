"""CORS: web pages of the origins in `[server] cors_origins` may call Helix from a browser and read its answers.

In laptop mode, pages served from this machine (`http://localhost:3000`) may too: they are served already
(helix/api/local_only.py), and without CORS a browser shows them no answer. Starlette's middleware answers the
preflight and marks the answer; a request without an `Origin` (every client that is not a browser) goes past it
untouched, so the hot path pays one look at the headers. With no origin to allow, this layer is absent.
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.middleware.cors import CORSMiddleware

from helix.api.local_only import local_origin
from helix.api.responses import Receive, Scope, Send
from helix.web.asgi import ASGIApp


class _Policy(CORSMiddleware):
    def __init__(self, app: ASGIApp, origins: Collection[str], *, local: bool) -> None:
        super().__init__(
            app,  # type: ignore[arg-type]
            allow_origins=origins,
            allow_methods=["*"],
            allow_headers=["*"],  # the key (Authorization, x-api-key), x-helix-*, OpenAI's x-stainless-*
            expose_headers=["*"],  # x-helix-*, x-ratelimit-*, retry-after: no cookies are asked, so "*" holds
            allow_private_network=True,  # a listed site's page calling a Helix on its user's machine (Chrome)
        )
        self._local = local

    def is_allowed_origin(self, origin: str) -> bool:
        return (self._local and local_origin(origin)) or super().is_allowed_origin(origin)


class Cors:
    __slots__ = ("_app", "_policy")

    def __init__(self, app: ASGIApp, origins: Collection[str], *, local: bool) -> None:
        self._app = app
        self._policy = _Policy(app, origins, local=local)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, _ in scope["headers"]:
                if name == b"origin":
                    await self._policy(scope, receive, send)  # type: ignore[arg-type]
                    return
        await self._app(scope, receive, send)


def with_cors(app: ASGIApp, origins: Collection[str], *, local: bool) -> ASGIApp:
    """`app` behind CORS when some origin may call it from a browser, else `app` itself."""
    return Cors(app, origins, local=local) if origins or local else app

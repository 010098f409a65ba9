"""In laptop mode, requests a web page made are refused.

Laptop mode needs no key because only this machine can connect. But any web page open in this machine's browser can
send a request to 127.0.0.1 (a POST whose body is `text/plain` needs no CORS preflight, and Helix reads it as JSON),
and a page whose name was rebound to 127.0.0.1 reaches the dashboard as its own origin. So, in laptop mode only,
a request whose `Host` names another machine (DNS rebinding) or whose `Origin` is a page of another machine (a
cross-site request) is a 403 in OpenAI's shape, a WebSocket's handshake refused. Clients that are no browser send no
`Origin`; a browser page served from this machine (`http://localhost:3000`) or of an origin `[server] cors_origins`
lists may call Helix; /health answers anyone.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from helix.api.responses import Receive, Scope, Send, error_answer
from helix.config import Config
from helix.errors import Forbidden
from helix.gateway import Gateway
from helix.pipeline.auth import is_loopback, laptop_mode
from helix.web.asgi import ASGIApp

_MAX_REMEMBERED = 256  # hosts and origins judged (a client may vary them; the usual ones are few)


def _host_name(authority: str) -> str:
    """The name in a `Host` header's value: "localhost:4000" -> "localhost", "[::1]:4000" -> "::1"."""
    if authority.startswith("["):
        return authority[1 : authority.find("]")] if "]" in authority else authority
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority


def _local(name: str) -> bool:
    name = name.lower().rstrip(".")
    # 0.0.0.0 reaches this machine's loopback too (a browser's address bar may say so); no site has that name
    return is_loopback(name) or name.endswith(".localhost") or name in ("0.0.0.0", "::")


def local_origin(origin: str) -> bool:
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.hostname is not None and _local(parts.hostname)


class LocalOnly:
    __slots__ = ("_app", "_config", "_gateway", "_judged", "_listed", "_open")

    def __init__(self, app: ASGIApp, gateway: Gateway, listed: Collection[str] = ()) -> None:
        """`listed`: origins `[server] cors_origins` names, whose pages are served as this machine's are."""
        self._app = app
        self._gateway = gateway
        self._listed = frozenset(listed)
        self._config: Config | None = None
        self._open = False
        self._judged: dict[tuple[bytes, bytes], str | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not scope["path"].startswith("/health") and self._laptop():
            host = origin = b""
            for name, value in scope["headers"]:
                if name == b"host":
                    host = value
                elif name == b"origin":
                    origin = value
            if host or origin:
                problem = self._judge(host, origin)
                if problem is not None:
                    if scope["type"] == "websocket":
                        await receive()  # websocket.connect
                        await send({"type": "websocket.close", "code": 1008})  # policy violation
                    else:
                        await error_answer(Forbidden(problem, code="foreign_origin"), None)(scope, receive, send)
                    return
        await self._app(scope, receive, send)

    def _laptop(self) -> bool:
        config = self._gateway.config  # replaced as a whole on a live reload
        if config is not self._config:
            self._config, self._open = config, laptop_mode(config)
        return self._open

    def _judge(self, host: bytes, origin: bytes) -> str | None:
        key = (host, origin)
        if key not in self._judged:
            if len(self._judged) >= _MAX_REMEMBERED:
                self._judged.clear()
            self._judged[key] = _problem(host.decode("latin-1"), origin.decode("latin-1"), self._listed)
        return self._judged[key]


def _problem(host: str, origin: str, listed: frozenset[str]) -> str | None:
    if host and not _local(_host_name(host)):
        return (
            "Helix is in laptop mode (bound to this machine, [auth] require_keys off): a request for another host"
            " name is refused; set [auth] require_keys, or bind [server] host to serve other machines"
        )
    if origin and not local_origin(origin) and origin not in listed:
        return (
            "Helix is in laptop mode (bound to this machine, [auth] require_keys off): a request from a web page of"
            " another site is refused, with a key or not; list its origin in [server] cors_origins to serve it without"
            " a key, or set [auth] require_keys to serve browsers with keys"
        )
    return None

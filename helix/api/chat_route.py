"""`POST /v1/chat/completions`, the proxy's hottest route, answered in front of Litestar.

Litestar's routing, its exception middleware, the Request object and the handler's signature model cost
~10% of an exact cache hit; this route needs none of them. It runs the same `run_call` as the Litestar
route (helix/api/openai.py, which still serves the path when Litestar routes it and lists it in the
schema) and answers errors as Litestar's handlers do: OpenAI's shape, the request id, a 413 for a body
over `[server] max_body_mb`. Every other request goes to the app behind, untouched, but a WebSocket outside the
dashboard, which has no route, is refused here in OpenAI's shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from helix.api.openai import run_call
from helix.api.responses import (
    Receive,
    Scope,
    Send,
    body_not_sent,
    error_answer,
    refuse_websocket,
    respond,
    unexpected,
)
from helix.errors import ClientGone, HelixError, body_too_large
from helix.gateway import Gateway, new_request_id
from helix.web.guard import PREFIX as DASHBOARD

PATH = "/v1/chat/completions"
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ChatRoute:
    __slots__ = ("_app", "_gateway", "_max_body")

    def __init__(self, app: ASGIApp, gateway: Gateway, max_body: int) -> None:
        self._app = app
        self._gateway = gateway
        self._max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            if scope["type"] == "websocket" and not scope["path"].startswith(DASHBOARD):
                await refuse_websocket(scope, receive, send)  # the dashboard's are its own
            else:
                await self._app(scope, receive, send)
            return
        request_id = new_request_id()

        async def body() -> bytes:
            return await read_body(scope, receive, self._max_body)

        try:
            answer = await respond(*await run_call(self._gateway, "chat", headers(scope), body, request_id, receive))
        except ClientGone:
            return  # logged; there is no one to answer
        except HelixError as exc:
            answer = error_answer(exc, request_id)
        except Exception as exc:
            answer = error_answer(unexpected(exc, PATH), request_id)
        await answer(scope, receive, send)


def headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name (the first of repeated ones), as Litestar's `Headers.get`."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        key = name.decode("latin-1").lower()
        if key not in found:
            found[key] = value.decode("latin-1")
    return found


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body; a 413 as soon as it (or its declared length) passes `limit`."""
    for name, value in scope["headers"]:
        if name.lower() == b"content-length" and value.isdigit() and int(value) > limit:
            raise body_too_large()
    pieces: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise body_not_sent(scope)
        piece = message.get("body", b"")
        size += len(piece)
        if size > limit:
            raise body_too_large()
        if not message.get("more_body", False):
            return b"".join(pieces) + piece if pieces else piece
        pieces.append(piece)

"""The few raw ASGI pieces the dispatcher needs before anything reaches NiceGUI: small answers and forms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any
from urllib.parse import parse_qs

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = Sequence[tuple[bytes, bytes]]

SCOPE_KEY = "helix.dashboard"  # where the dispatcher hands a page its dashboard
TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"


async def respond(send: Send, status: int, body: str, content_type: str = TEXT, headers: Headers = ()) -> None:
    data = body.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(data)).encode()),
                (b"cache-control", b"no-store"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def close_websocket(receive: Receive, send: Send) -> None:
    """Refuse a websocket before accepting it (the client sees a 403)."""
    await receive()  # websocket.connect
    await send({"type": "websocket.close", "code": 1008})


async def read_form(receive: Receive, limit: int = 4096) -> dict[str, str] | None:
    """An urlencoded form body; None if the client left or sent more than `limit` bytes."""
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        if not message.get("more_body"):
            break
    return {name: values[0] for name, values in parse_qs(body.decode("utf-8", "replace")).items()}


def header(scope: Scope, name: bytes) -> str:
    return next((value.decode("latin-1") for key, value in scope["headers"] if key == name), "")

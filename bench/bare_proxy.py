"""This stack's own ceiling for a proxy: the same server and upstream client as Helix, and nothing else.

An ASGI app on uvicorn (httptools, uvloop, access log off, as `helix serve` runs) that forwards every POST to the
fake upstream through Helix's upstream transport (`helix.providers.transport.UpstreamTransport`: the httpx API on
aiohttp's pool) and sends the answer back: a whole body as one, a stream piece by piece as it arrives. No parsing,
PII firewall, cache, limits, log or metrics. `bench/hot_path.py --ceiling` measures it beside Helix in the same
run: what Helix costs beyond this is its own work.

    python bench/bare_proxy.py --upstream http://127.0.0.1:8001 --port 8002
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helix.providers.transport import UpstreamTransport

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
TIMEOUT = {"connect": 5.0, "read": 60.0, "write": 60.0, "pool": 5.0}


class BareProxy:
    def __init__(self, upstream: str) -> None:
        self._upstream = httpx.URL(upstream)
        self._transport = UpstreamTransport(limits=httpx.Limits(max_connections=100, max_keepalive_connections=100))

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # close the upstream pool on shutdown
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await self._transport.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        url = self._upstream.copy_with(path=scope["path"])
        headers = [
            (b"host", url.netloc),
            (b"content-type", b"application/json"),
            (b"authorization", b"Bearer sk-bench"),
            (b"content-length", str(len(body)).encode()),
        ]
        request = httpx.Request(
            scope["method"], url, headers=headers, stream=httpx.ByteStream(body), extensions={"timeout": TIMEOUT}
        )
        response = await self._transport.handle_async_request(request)
        try:
            content_type = response.headers.get("content-type", "application/json").encode()
            if content_type.startswith(b"text/event-stream"):
                head = [(b"content-type", content_type)]
                await send({"type": "http.response.start", "status": response.status_code, "headers": head})
                async for piece in response.aiter_raw():
                    await send({"type": "http.response.body", "body": piece, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
                return
            answer = await response.aread()
            length = str(len(answer)).encode()
            head = [(b"content-type", content_type), (b"content-length", length)]
            await send({"type": "http.response.start", "status": response.status_code, "headers": head})
            await send({"type": "http.response.body", "body": answer})
        finally:
            await response.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True, help="the fake upstream's base URL")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = BareProxy(args.upstream)
    options: dict[str, Any] = {"access_log": False, "log_level": "warning", "loop": "uvloop", "http": "httptools"}
    uvicorn.run(app, host="127.0.0.1", port=args.port, **options)


if __name__ == "__main__":
    main()

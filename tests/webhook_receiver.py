"""A tiny webhook receiver on 127.0.0.1 for alert tests: records JSON POSTs, can fail or be slow."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from tests.fake_upstream import read_body, serve_lifespan


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    status: int


@dataclass
class WebhookReceiver:
    """Answers 500 to the first `fail_first` POSTs, then 200; waits `delay` seconds before answering."""

    fail_first: int = 0
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)

    @property
    def delivered(self) -> list[Any]:
        return [r.body for r in self.received if r.status == 200]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return await serve_lifespan(receive, send)
        raw = await read_body(receive)
        await asyncio.sleep(self.delay)
        status = 500 if len(self.received) < self.fail_first else 200
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append(Received(scope["path"], headers, json.loads(raw) if raw else None, status))
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok" if status == 200 else b"boom"})

"""The Gateway: one object shared by the API, the CLI, the dashboard and the tests.

It owns the database writer, the upstream HTTP client, the provider registry and the pipeline.

The pipeline, in order (each stage may answer without calling the next):
  1. log      record every request (success, error, cache hit) with its cost: outermost, so it sees all
  2. route    hand the call to the provider its model resolved to (last)

Model routing (`provider/model`, alias or bare name) happens while the request is parsed, before any
stage runs, because later stages (limits, cache keys) depend on the resolved model.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

import httpx

from helix.config import Config
from helix.errors import HelixError
from helix.pipeline.call import Call, Endpoint, Next, Reply
from helix.pipeline.log import LogStage
from helix.pipeline.parse import new_request_id, parse_call
from helix.pipeline.route import send_to_provider
from helix.pricing import PriceBook
from helix.providers.http import make_client
from helix.providers.registry import Registry
from helix.store.db import connect
from helix.store.request_log import INSERT, rejected_row
from helix.store.writer import Writer

log = logging.getLogger("helix")

Stage = Callable[[Call, Next], Awaitable[Reply]]
MODELS_TTL_SECONDS = 60.0


def compose(stages: list[Stage], last: Callable[[Call], Awaitable[Reply]]) -> Next:
    handler: Next = last
    for stage in reversed(stages):
        handler = partial(stage, next=handler)
    return handler


class Gateway:
    def __init__(self, config: Config, *, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.db_path = config.db_path()
        self._env = env
        self.writer = Writer(self.db_path)
        self.client: httpx.AsyncClient | None = None
        self.registry: Registry | None = None
        self.prices = PriceBook(config.pricing)
        self._handler: Next | None = None
        self._models: tuple[float, list[dict[str, Any]]] | None = None

    async def start(self) -> None:
        # Create/migrate the schema once, synchronously, before any async connection opens.
        await asyncio.to_thread(lambda: connect(self.db_path).close())
        await self.writer.start()
        self.client = make_client(self.config.upstream)
        self.registry = Registry(self.config, self.client, self._env)
        self.prices = PriceBook(self.config.pricing, {p.name for p in self.registry.usable() if p.local})
        stages: list[Stage] = [LogStage(self.writer, self.prices)]
        self._handler = compose(stages, send_to_provider)

    async def close(self) -> None:
        await self.writer.close()
        if self.client is not None:
            await self.client.aclose()

    def parse(self, endpoint: Endpoint, raw: bytes, headers: Mapping[str, str], request_id: str) -> Call:
        assert self.registry is not None, "Gateway.start() was not awaited"
        started, ts = time.perf_counter(), time.time()
        try:
            return parse_call(endpoint, raw, headers, self.registry.resolve, request_id)
        except HelixError as exc:
            latency = time.perf_counter() - started
            user = headers.get("x-helix-user")
            self.writer.submit(
                INSERT, rejected_row(request_id, ts, endpoint, exc.status, exc.code, latency, user)
            )
            raise

    async def handle(self, call: Call) -> Reply:
        assert self._handler is not None, "Gateway.start() was not awaited"
        return await self._handler(call)

    async def models(self) -> list[dict[str, Any]]:
        """Aliases plus every reachable provider's models, as `provider/model`; cached for a minute."""
        assert self.registry is not None
        now = time.monotonic()
        if self._models and now - self._models[0] < MODELS_TTL_SECONDS:
            return self._models[1]
        providers = self.registry.usable()
        results = await asyncio.gather(*(p.list_models() for p in providers), return_exceptions=True)
        listed: list[dict[str, Any]] = [
            {"id": alias, "object": "model", "created": 0, "owned_by": f"helix alias for {target}"}
            for alias, target in self.registry.aliases.items()
        ]
        for provider, result in zip(providers, results, strict=True):
            if isinstance(result, BaseException):
                log.info("listing models of %s failed: %s", provider.name, result)
                continue
            for item in result:
                listed.append({**item, "id": f"{provider.name}/{item['id']}", "object": "model"})
        self._models = (now, listed)
        return listed


__all__ = ["Gateway", "compose", "new_request_id"]

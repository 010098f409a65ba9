"""Log and cost stage: every request, success or error, becomes one row of the request log.

It sits outside every other stage, so cache hits, budget refusals and upstream errors are all
recorded. Streams are watched chunk by chunk (never buffered): time to first token, the usage chunk,
and how the stream ended (completed, upstream error, or the client going away: status 499).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from helix.call import Call, Next, Reply, Streamed, Target, Usage
from helix.errors import HelixError, ServerStopping, cut_by_server
from helix.pricing import PriceBook
from helix.quota import estimate
from helix.store import request_log
from helix.store.request_log import INSERT
from helix.store.writer import Writer
from helix.virtual_keys import KeyRecord

CLIENT_CLOSED = 499
DURABLE_WAIT_SECONDS = 10.0
log = logging.getLogger("helix")


def _cut(exc: BaseException) -> tuple[int, str | None]:
    """How a request cut before its end is logged: by the server stopping, or by its client leaving."""
    return (ServerStopping.status, ServerStopping.code) if cut_by_server(exc) else (CLIENT_CLOSED, "client_closed")


class LogStage:
    def __init__(self, writer: Writer, prices: PriceBook, output_tokens_estimate: Callable[[], int]) -> None:
        """`output_tokens_estimate`: the current `[limits] output_tokens_estimate` (a reload may change it)."""
        self._writer = writer
        self._prices = prices
        self._output_tokens_estimate = output_tokens_estimate

    async def __call__(self, call: Call, next: Next) -> Reply:
        call.price_of = self._prices.price
        try:
            reply = await next(call)
        except HelixError as exc:
            self._finish(call, exc.status, exc.code or exc.type)
            raise
        except Exception:
            self._finish(call, 500, "internal_error")
            raise
        except asyncio.CancelledError as exc:  # the client left before the answer, or the server cut the request
            self._finish(call, *_cut(exc))
            raise
        if isinstance(reply, Streamed):
            return Streamed(self._watch(call, reply.chunks))
        if call.usage is None:
            call.usage = Usage.from_openai(reply.body.get("usage"))
        self._finish(call, 200, None)
        if call.durable:
            await self._commit(call)  # the spend is on disk before the client sees the answer
        return reply

    async def _watch(self, call: Call, chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
        status, code = 200, None
        finished = False
        try:
            async for chunk in chunks:
                if call.ttft is None:
                    call.ttft = call.elapsed()
                usage = chunk.get("usage") or ("response" in chunk and _response_usage(chunk))
                if usage:  # a later chunk's garbage does not undo an earlier count
                    call.usage = Usage.from_openai(usage) or call.usage
                yield chunk
            finished = True
            self._finish(call, status, code)
            if call.durable:
                await self._commit(call)  # before the stream's terminator reaches the client
        except HelixError as exc:
            status, code = exc.status, exc.code or exc.type
            raise
        except (asyncio.CancelledError, GeneratorExit) as exc:
            status, code = _cut(exc)
            raise
        except Exception:
            status, code = 500, "internal_error"
            raise
        finally:
            # Record first: under a cancelled scope the await below may itself be interrupted.
            if not finished:
                self._finish(call, status, code)
            await _close(chunks)

    async def _commit(self, call: Call) -> None:
        # A database locked by another process must not hang answers: past this wait the row stays queued
        # (the writer keeps retrying it) and the answer goes out.
        if not await self._writer.flush(DURABLE_WAIT_SECONDS):
            log.warning("request %s answered before its log row could be committed (database busy)", call.id)

    def _finish(self, call: Call, status: int, code: str | None) -> None:
        call.finished = call.elapsed()
        call.status, call.error_code = status, code
        if call.usage is not None and not estimate.believable(call, call.usage):
            call.usage = None  # then unmetered: charged its estimate
        if call.cost is None and call.usage is not None:
            call.cost = self._prices.cost(call.target.provider.name, call.target.model, call.usage, call.price_of)
        elif call.cost is None and estimate.unmetered(call):
            # billed by the provider though it said nothing of it: charged its estimate, as a budget charges it, so the
            # log's spend (the dashboard, `helix spend`) counts it with a key or without
            call.cost = self._estimate(call)
        for target in call.cut_answers:  # answers a provider broke off: billed, whatever served the call after them
            cut = self._estimate(call, target)
            if cut is not None:
                call.cost = (call.cost or 0.0) + cut
        for settle in call.on_finish:
            settle(call)
        self._writer.submit(INSERT, request_log.call_row(call))

    def _estimate(self, call: Call, target: Target | None = None) -> float | None:
        """What an answer to the call is estimated to cost at `target` (the call's), None when it has no price."""
        target = target or call.target
        price = (call.price_of or self._prices.price)(target.provider.name, target.model)
        if price is None:
            return None
        prompt, output = estimate.prompt_tokens(call), estimate.max_output_tokens(call)
        return estimate.costs(call, prompt, output, price, self._output_tokens_estimate())[1]

    def reject(
        self,
        request_id: str,
        endpoint: str,
        error: HelixError,
        *,
        ts: float,
        latency: float = 0.0,
        user: str | None = None,
        key: KeyRecord | None = None,
    ) -> None:
        """Log a request refused before it became a call (auth, a body that does not parse or route)."""
        known = {
            "id": request_id,
            "ts": ts,
            "endpoint": endpoint,
            "key_id": key.id if key is not None else None,
            "user": user,
            "stream": 0,
            "status": error.status,
            "error_code": error.code,
            "latency_ms": request_log.ms(latency),
            "overhead_ms": request_log.ms(latency),
        }
        self._writer.submit(INSERT, request_log.row(known))


def _response_usage(event: dict[str, Any]) -> Any:
    """The usage a Responses stream reports in its last event (`response.completed`), inside the response."""
    response = event.get("response")
    return response.get("usage") if isinstance(response, dict) else None


async def _close(chunks: AsyncIterator[dict[str, Any]]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()

"""Turning a pipeline reply or an error into HTTP: JSON bodies, SSE streams and Helix's headers."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from typing import Any, Protocol, TypeVar

import msgspec
from litestar import HttpMethod, Request, Response, route
from litestar.exceptions import HTTPException
from litestar.handlers import HTTPRouteHandler
from litestar.types import ASGIApp

from helix.call import Call, Chunk, Completed, Reply
from helix.errors import (
    ANTHROPIC_API,
    ClientGone,
    DatabaseUnavailable,
    HelixError,
    ServerStopping,
    answer_server_cut,
    body_too_large,
    cut_by_server,
)
from helix.pii.scrub import quoted
from helix.pipeline.parse import new_request_id
from helix.providers.http import unreadable
from helix.server import TIMED_OUT
from helix.store.db import is_locked
from helix.store.pg import ConnectionLost
from helix.translate.parts import Untranslatable

_encode = msgspec.json.encode
T = TypeVar("T")
INTERNAL = HelixError("Helix hit an internal error; it is logged on the server. Please report it.")
RETRY_AFTER_SECONDS = 1
WATCH_AFTER_SECONDS = 0.02
JSON = "application/json"
REQUEST_ID = "x-helix-request-id"
# The ASGI callables' loose types: Litestar's TypedDict messages are more than these answers need.
Scope = Any
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]


def get_route(path: str, **options: Any) -> HTTPRouteHandler:
    """A GET route that answers HEAD too, without the body (RFC 9110: uptime checkers and load balancers probe with
    HEAD, which was a 405)."""
    return route(path, http_method=[HttpMethod.GET, HttpMethod.HEAD], **options)


def helix_headers(call: Call) -> dict[str, str]:
    headers = {
        **call.upstream_headers,
        REQUEST_ID: call.id,
        "x-helix-provider": call.target.provider.name,
        **call.response_headers,
    }
    if call.endpoint in ("messages", "count_tokens") and "x-request-id" in headers:
        headers.setdefault("request-id", headers["x-request-id"])  # where the Anthropic SDK looks for it
    if call.cache:
        headers["x-helix-cache"] = call.cache
    if not call.stream:
        if call.cost is not None:
            headers["x-helix-cost-usd"] = f"{call.cost:.8f}".rstrip("0").rstrip(".") or "0"
        overhead = call.overhead_seconds
        if overhead is not None:
            headers["x-helix-overhead-ms"] = f"{overhead * 1000:.3f}"
    return headers


class JsonAnswer:
    """A JSON answer as a bare ASGI app: no Response object built (that took a tenth of a cache hit's time)."""

    __slots__ = ("_body", "_headers", "_status")

    def __init__(self, body: bytes, headers: dict[str, str], status: int = 200) -> None:
        self._body = body
        self._headers = headers
        self._status = status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self._body
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        headers += _encoded(self._headers)
        await send({"type": "http.response.start", "status": self._status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


class EventStream:
    """A server-sent-event answer as a bare ASGI app (Litestar's Stream, with its task group, costs more per
    event). When the client goes away mid-stream, the stream is cancelled and its events closed, which
    ends the upstream request and logs the request as cut."""

    __slots__ = ("_events", "_headers")

    def __init__(self, headers: dict[str, str], events: AsyncIterator[bytes]) -> None:
        self._headers = [(b"content-type", b"text/event-stream; charset=utf-8"), *_encoded(headers)]
        self._events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self._headers})
        task = asyncio.current_task()
        assert task is not None
        watcher = asyncio.get_running_loop().create_task(_cancel_on_disconnect(receive, task))
        try:
            async for data in self._events:
                await send({"type": "http.response.body", "body": data, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError as exc:
            if watcher.done() and not watcher.cancelled() and watcher.result():
                task.uncancel()  # the client left: nothing more to send
            elif cut_by_server(exc):  # cut while sending: the events end with the error that says so
                last = await self._events.athrow(exc)  # type: ignore[attr-defined]
                await send({"type": "http.response.body", "body": last, "more_body": False})
            else:
                raise
        finally:
            watcher.cancel()
            await self._events.aclose()  # type: ignore[attr-defined]


async def unless_client_leaves(work: Awaitable[T], receive: Receive) -> T:
    """`work` (the pipeline, its body read), cancelled if the client disconnects before it is done: its upstream
    call is not left to run for no one, and the log stage records the call as cut (499), not as answered.

    The watcher starts only once the work has taken `WATCH_AFTER_SECONDS`: a cache hit, answered well within it,
    costs a timer instead of a task (~4% of an exact hit's instructions), and a client gone before then is noticed
    then."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    watchers: list[asyncio.Task[bool]] = []
    timer = loop.call_later(
        WATCH_AFTER_SECONDS, lambda: watchers.append(loop.create_task(_cancel_on_disconnect(receive, task)))
    )
    try:
        return await work
    except asyncio.CancelledError as exc:
        if any(w.done() and not w.cancelled() and w.result() for w in watchers):
            task.uncancel()
            raise ClientGone("the client disconnected before its answer was ready") from None
        answer_server_cut(exc)
        raise
    finally:
        timer.cancel()
        for watcher in watchers:
            watcher.cancel()


async def _cancel_on_disconnect(receive: Receive, task: asyncio.Task[Any]) -> bool:
    while (await receive())["type"] != "http.disconnect":
        pass
    task.cancel()
    return True


async def respond(call: Call, reply: Reply) -> ASGIApp:
    """The answer to an OpenAI-shaped request (chat, completions, embeddings) as an ASGI app."""
    if isinstance(reply, Completed):
        return JsonAnswer(reply.raw if reply.raw is not None else _encode(reply.body), helix_headers(call))
    return await stream_response(call, reply.chunks, _ChatEvents(call.client_wants_usage))


class EventEncoder(Protocol):
    """Turns the pipeline's chunks into the bytes of a client's SSE stream, in its API's format."""

    def encode(self, chunk: dict[str, Any]) -> bytes: ...

    def end(self) -> bytes: ...

    def error(self, exc: HelixError) -> bytes: ...


async def stream_response(call: Call, chunks: AsyncIterator[dict[str, Any]], encoder: EventEncoder) -> ASGIApp:
    # Pull the first chunk before answering: an upstream error that arrives first still gets its own
    # status code and a JSON body instead of a 200 stream that dies.
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        first = None
    except asyncio.CancelledError as exc:
        answer_server_cut(exc)
        raise
    headers = {**helix_headers(call), "cache-control": "no-cache", "x-accel-buffering": "no"}
    return EventStream(headers, _sse(call, first, chunks, encoder))


class _ChatEvents:
    """OpenAI's `data: {chunk}` lines and `[DONE]`. Helix asks every stream for usage (to cost it); a
    client that did not ask sees neither the usage chunk nor the `"usage": null` the others carry."""

    def __init__(self, wants_usage: bool) -> None:
        self._wants_usage = wants_usage

    def encode(self, chunk: dict[str, Any]) -> bytes:
        raw = chunk.raw if type(chunk) is Chunk else None
        if not self._wants_usage and "usage" in chunk:
            if not chunk.get("choices") and chunk["usage"]:
                return b""
            # a null one is cut from the bytes; one a server put on a chunk with choices (the finish) means encoding
            # that chunk again without it
            raw = _without_null_usage(raw) if raw is not None and chunk["usage"] is None else None
            if raw is None:
                chunk = {k: v for k, v in chunk.items() if k != "usage"}
        return b"data: " + (raw if raw is not None else _encode(chunk)) + b"\n\n"

    def end(self) -> bytes:
        return b"data: [DONE]\n\n"

    def error(self, exc: HelixError) -> bytes:
        # Headers are gone; OpenAI's SDKs raise on an `error` event inside the stream.
        return b"data: " + _encode(exc.body()) + b"\n\n"


# `"usage": null` as the last member of a chunk's JSON object: what a client that did not ask for usage must
# not see. The object's closing brace right after `null` puts the member at the top level.
_NULL_USAGE = re.compile(rb',\s*"usage"\s*:\s*null\s*}\s*$')
_NULL_USAGE_REACH = 64


def _without_null_usage(raw: bytes) -> bytes | None:
    """The chunk's JSON without its trailing `"usage": null` (None: it is not last; re-encode instead)."""
    # Only the end can match: searching from the start would try every comma of the chunk. A match that
    # starts further back (a long run of spaces) is not found, and the chunk is encoded again instead.
    match = _NULL_USAGE.search(raw, max(0, len(raw) - _NULL_USAGE_REACH))
    return raw[: match.start()] + b"}" if match else None


async def _sse(
    call: Call, first: dict[str, Any] | None, chunks: AsyncIterator[dict[str, Any]], encoder: EventEncoder
) -> AsyncIterator[bytes]:
    """The stream's bytes; events that arrived from upstream in one network read go out in one write."""
    held: list[bytes] = []

    def add(chunk: dict[str, Any]) -> bytes | None:
        """Hold the chunk's bytes; all held, once no more events of the same network read follow."""
        try:
            data = encoder.encode(chunk)
        except Untranslatable as exc:
            raise unreadable(call.target.provider.name, "a stream event", "upstream_bad_stream", str(exc)) from None
        if data:
            held.append(data)
        if not held or (type(chunk) is Chunk and chunk.more):
            return None
        out = b"".join(held)
        held.clear()
        return out

    try:
        if first is not None:
            if (out := add(first)) is not None:
                yield out
            async for chunk in chunks:
                if (out := add(chunk)) is not None:
                    yield out
        held.append(encoder.end())
        yield b"".join(held)
    except HelixError as exc:
        # one of the encoder's (a chunk it cannot translate) is logged as the pipeline's own; one the pipeline raised
        # has ended its stream already
        await _fail(chunks, exc)
        yield b"".join(held) + encoder.error(exc)
    except asyncio.CancelledError as exc:
        try:
            answer_server_cut(exc)
        except ServerStopping as stopping:
            await _fail(chunks, stopping)  # logged as the server's cut, if the pipeline was not the one cut
            yield b"".join(held) + encoder.error(stopping)
            return
        raise
    except Exception as exc:
        error = unexpected(exc, f"a stream of {call.id}")
        await _fail(chunks, exc)
        # Still end the stream properly (an error event, then a clean end), never a cut connection.
        yield b"".join(held) + encoder.error(error)
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]


async def _fail(chunks: AsyncIterator[dict[str, Any]], exc: Exception) -> None:
    """Raise `exc` inside the pipeline's stream, where the log stage records it as Helix's own failure: only
    closed, the stream would be logged as cut by the client."""
    with suppress(Exception):
        await chunks.athrow(exc)  # type: ignore[attr-defined]


def error_headers(exc: HelixError, request_id: str | None) -> dict[str, str]:
    headers = dict(exc.headers)
    if request_id:
        headers[REQUEST_ID] = request_id
    if exc.provider:
        headers["x-helix-provider"] = exc.provider
    return headers


def error_response(exc: HelixError, request_id: str | None) -> Response[Any]:
    headers = error_headers(exc, request_id)
    return Response(_encode(exc.body()), status_code=exc.status, media_type=JSON, headers=headers)


def error_answer(exc: HelixError, request_id: str | None) -> JsonAnswer:
    """`error_response` as a bare ASGI app, for what answers outside Litestar (helix/api/chat_route.py)."""
    return JsonAnswer(_encode(exc.body()), error_headers(exc, request_id), exc.status)


_HTTP_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def on_helix_error(request: Request[Any, Any, Any], exc: HelixError) -> Response[Any]:
    return error_response(exc, request_id_of(request))


def request_id_of(request: Request[Any, Any, Any]) -> str:
    """The request's id, or a new one for a request refused before it was given one (an unknown route, a wrong
    method): every answer carries one, for a user to quote."""
    return request.scope.get("state", {}).get("request_id") or new_request_id()


def body_not_sent(scope: Scope) -> ClientGone:
    """Why a request's body never arrived: the server hung up on a client that stalled (408), or it left (499)."""
    if scope.get(TIMED_OUT):
        return ClientGone(
            "the request was not sent in time ([server] client_read_timeout)", status=408, code="request_timeout"
        )
    return ClientGone("the client disconnected before its request body arrived")


def http_error(status: int, message: str) -> HelixError:
    return HelixError(
        message,
        status=status,
        type=_HTTP_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error"),
        code=str(status),
    )


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's own errors (unknown route, wrong method, body too large) in OpenAI's shape."""
    allowed = {k.lower(): v for k, v in (exc.headers or {}).items()}.get("allow")
    if exc.status_code == 404:
        error = http_error(
            404,
            f"no route for {request.method} {quoted(request.url.path, 100)}: Helix serves /v1/chat/completions, "
            "/v1/embeddings, /v1/responses, /v1/completions, /v1/messages and /v1/models",
        )
    elif exc.status_code == 405 and allowed:  # it said "Method Not Allowed", not which one to send
        takes = " or ".join(m for m in sorted(allowed.replace(",", " ").split()) if m not in ("HEAD", "OPTIONS"))
        path, method = quoted(request.url.path, 100), quoted(request.method, 20)
        error = http_error(405, f"{path} takes {takes or allowed}, not {method}")
    else:
        error = from_http_exception(exc)
    error.headers = dict(exc.headers or {})
    request_id = request_id_of(request)
    if request.url.path.startswith(ANTHROPIC_API):  # Anthropic's SDK reads only its own error shape
        headers = error_headers(error, request_id)
        return Response(_encode(error.anthropic_body()), status_code=error.status, media_type=JSON, headers=headers)
    return error_response(error, request_id)


def from_http_exception(exc: HTTPException) -> HelixError:
    """One of Litestar's own errors (a body past [server] max_body_mb, a wrong method...) as a HelixError."""
    return body_too_large() if exc.status_code == 413 else http_error(exc.status_code, exc.detail or "request failed")


async def refuse_websocket(scope: Scope, receive: Receive, send: Send) -> None:
    """A WebSocket Helix has no route for (OpenAI's Realtime API is one): a 404 in OpenAI's shape, where the server
    can answer a handshake so; Litestar closed it, which the server sends as a 403 with no body."""
    await receive()  # websocket.connect
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008})
        return
    error = http_error(
        404, f"no WebSocket route for {quoted(scope['path'], 100)}: Helix serves HTTP APIs only (no Realtime API)"
    )
    body = _encode(error.body())
    headers = [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "websocket.http.response.start", "status": 404, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return error_response(unexpected(exc, request.url.path), request_id_of(request))


def unexpected(exc: Exception, where: str) -> HelixError:
    """What the client is told of an exception that is no `HelixError`: the database out of reach (or locked by
    another process past the busy timeout) is a 503 to try again after (it recovers on its own); anything else a 500,
    with its traceback in the server's log."""
    if isinstance(exc, ConnectionLost) or is_locked(exc):  # out of reach, or held by another process's long write
        logging.getLogger("helix").warning("%s: %s", where, exc)
        return DatabaseUnavailable(
            "Helix cannot reach its database right now; try again in a few seconds",
            headers={"retry-after": str(RETRY_AFTER_SECONDS)},
        )
    logging.getLogger("helix").exception("unexpected error on %s", where)
    return INTERNAL

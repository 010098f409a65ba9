"""Turning a pipeline reply or an error into HTTP: JSON bodies, SSE streams and Helix's headers."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Stream

from helix.call import Call, Chunk, Completed, Reply
from helix.errors import HelixError

_encode = msgspec.json.encode
_INTERNAL = HelixError("Helix hit an internal error; it is logged on the server. Please report it.")
JSON = "application/json"
REQUEST_ID = "x-helix-request-id"


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


class Answer:
    """A whole answer as a bare ASGI app, with the headers `respond` gives it (no Response object built)."""

    __slots__ = ("_call", "_reply")

    def __init__(self, call: Call, reply: Completed) -> None:
        self._call = call
        self._reply = reply

    async def __call__(self, scope: Any, receive: Any, send: Callable[[Any], Awaitable[None]]) -> None:
        reply = self._reply
        body = reply.raw if reply.raw is not None else _encode(reply.body)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in helix_headers(self._call).items()]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def respond(call: Call, reply: Reply) -> Response[Any]:
    if isinstance(reply, Completed):
        raw = reply.raw if reply.raw is not None else _encode(reply.body)
        return Response(raw, media_type=JSON, headers=helix_headers(call))
    return await stream_response(call, reply.chunks, _ChatEvents(call.client_wants_usage))


class EventEncoder(Protocol):
    """Turns the pipeline's chunks into the bytes of a client's SSE stream, in its API's format."""

    def encode(self, chunk: dict[str, Any]) -> bytes: ...

    def end(self) -> bytes: ...

    def error(self, exc: HelixError) -> bytes: ...


async def stream_response(call: Call, chunks: AsyncIterator[dict[str, Any]], encoder: EventEncoder) -> Response[Any]:
    # Pull the first chunk before answering: an upstream error that arrives first still gets its own
    # status code and a JSON body instead of a 200 stream that dies.
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        first = None
    return Stream(
        _sse(call, first, chunks, encoder),
        media_type="text/event-stream",
        headers={**helix_headers(call), "cache-control": "no-cache", "x-accel-buffering": "no"},
    )


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
            if raw is not None and chunk["usage"] is None:
                raw = _without_null_usage(raw)
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


def _without_null_usage(raw: bytes) -> bytes | None:
    """The chunk's JSON without its trailing `"usage": null` (None: it is not last; re-encode instead)."""
    match = _NULL_USAGE.search(raw)
    return raw[: match.start()] + b"}" if match else None


async def _sse(
    call: Call, first: dict[str, Any] | None, chunks: AsyncIterator[dict[str, Any]], encoder: EventEncoder
) -> AsyncIterator[bytes]:
    """The stream's bytes; events that arrived from upstream in one network read go out in one write."""
    held: list[bytes] = []
    try:
        if first is not None:
            async for chunk in _prepend(first, chunks):
                data = encoder.encode(chunk)
                if data:
                    held.append(data)
                if held and not (type(chunk) is Chunk and chunk.more):
                    yield b"".join(held)
                    held.clear()
        held.append(encoder.end())
        yield b"".join(held)
    except HelixError as exc:
        yield b"".join(held) + encoder.error(exc)
    except Exception:
        # Still end the stream properly (an error event, then a clean end), never a cut connection.
        logging.getLogger("helix").exception("a stream failed on %s", call.id)
        yield b"".join(held) + encoder.error(_INTERNAL)
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]


async def _prepend(first: dict[str, Any], rest: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    yield first
    async for chunk in rest:
        yield chunk


def error_response(exc: HelixError, request_id: str | None) -> Response[Any]:
    headers = dict(exc.headers)
    if request_id:
        headers[REQUEST_ID] = request_id
    if exc.provider:
        headers["x-helix-provider"] = exc.provider
    return Response(_encode(exc.body()), status_code=exc.status, media_type=JSON, headers=headers)


_HTTP_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def on_helix_error(request: Request[Any, Any, Any], exc: HelixError) -> Response[Any]:
    return error_response(exc, request.scope.get("state", {}).get("request_id"))


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's own errors (unknown route, wrong method, body too large) in OpenAI's shape."""
    status = exc.status_code
    message = exc.detail or "request failed"
    if status == 413:
        message = "the request body is too large: raise [server] max_body_mb if this is intended"
    elif status == 404:
        message = (
            f"no route for {request.method} {request.url.path}: Helix serves /v1/chat/completions, "
            "/v1/embeddings, /v1/responses, /v1/completions, /v1/messages and /v1/models"
        )
    error = HelixError(
        message,
        status=status,
        type=_HTTP_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error"),
        code=str(status),
    )
    error.headers = dict(exc.headers or {})
    return error_response(error, None)


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logging.getLogger("helix").exception("unexpected error on %s", request.url.path)
    return error_response(_INTERNAL, None)

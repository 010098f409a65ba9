"""/v1/messages: Anthropic's Messages API, for the Anthropic SDK and the tools built on it (Claude Code with
ANTHROPIC_BASE_URL pointing here). Thin: authenticate (x-api-key or Bearer), parse, run the pipeline,
answer in Anthropic's shapes: a `message`, its event stream, and errors as `{"type": "error", ...}`."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, post
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp

from helix.api.openai import run_pipeline
from helix.api.responses import REQUEST_ID, JsonAnswer, from_http_exception, helix_headers, stream_response, unexpected
from helix.call import Call, Completed, Endpoint, Reply
from helix.errors import HelixError
from helix.translate.messages_reply import MessageEvents, to_message

_encode = msgspec.json.encode


async def _run(request: Request[Any, Any, Any], endpoint: Endpoint) -> ASGIApp:
    try:
        return await _respond(*await run_pipeline(request, endpoint))
    except HelixError as exc:
        return _error_answer(request, exc)
    except HTTPException as exc:  # Litestar's own, as reading the body raises: 413 past [server] max_body_mb
        return _error_answer(request, from_http_exception(exc))
    except Exception as exc:  # Anthropic's SDK reads only its own error shape, so not the app's OpenAI-shaped one
        return _error_answer(request, unexpected(exc, request.url.path))


def _error_answer(request: Request[Any, Any, Any], exc: HelixError) -> JsonAnswer:
    error_headers = dict(exc.headers)
    if request_id := request.scope.get("state", {}).get("request_id"):
        error_headers[REQUEST_ID] = request_id
    return JsonAnswer(_encode(exc.anthropic_body()), error_headers, exc.status)


async def _respond(call: Call, reply: Reply) -> ASGIApp:
    if isinstance(reply, Completed):
        provider = call.target.provider.name
        body = reply.body if call.endpoint == "count_tokens" else to_message(reply.body, call.requested_model, provider)
        return JsonAnswer(_encode(body), helix_headers(call))
    return await stream_response(call, reply.chunks, _AnthropicEvents(call.requested_model, call.target.provider.name))


class _AnthropicEvents:
    def __init__(self, model: str, provider: str) -> None:
        self._events = MessageEvents(model, provider)

    def encode(self, chunk: dict[str, Any]) -> bytes:
        return _sse(self._events.feed(chunk))

    def end(self) -> bytes:
        return _sse(self._events.finish())

    def error(self, exc: HelixError) -> bytes:
        return _sse([("error", exc.anthropic_body())])


def _sse(events: list[tuple[str, dict[str, Any]]]) -> bytes:
    return b"".join(b"event: " + name.encode() + b"\ndata: " + _encode(data) + b"\n\n" for name, data in events)


@post("/v1/messages", status_code=200)
async def messages(request: Request[Any, Any, Any]) -> ASGIApp:
    return await _run(request, "messages")


@post("/v1/messages/count_tokens", status_code=200)
async def count_tokens(request: Request[Any, Any, Any]) -> ASGIApp:
    return await _run(request, "count_tokens")


routes = [messages, count_tokens]

"""/v1/responses: OpenAI's Responses API. Passed through to OpenAI-kind providers (their answer and
events go back as they came); for other providers the pipeline's chat answer is turned into a
`response` and its typed event stream here."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, post
from litestar.types import ASGIApp

from helix.api.openai import run_pipeline
from helix.api.responses import JsonAnswer, helix_headers, stream_response
from helix.call import Call, Completed, Reply
from helix.errors import HelixError
from helix.translate.responses_reply import ResponseEvents, to_response

_encode = msgspec.json.encode


def _is_chat(body: dict[str, Any]) -> bool:
    return str(body.get("object", "")).startswith("chat.completion")


async def respond_responses(call: Call, reply: Reply) -> ASGIApp:
    if isinstance(reply, Completed):
        body = to_response(reply.body, call.body, call.requested_model) if _is_chat(reply.body) else reply.body
        return JsonAnswer(_encode(body), helix_headers(call))
    return await stream_response(call, reply.chunks, _ResponseEvents(call))


class _ResponseEvents:
    """Typed events as `event: TYPE` + `data: {...}`: translated from chat chunks, or as the provider sent them."""

    def __init__(self, call: Call) -> None:
        self._call = call
        self._translate: ResponseEvents | None = None
        self._sequence = 0

    def encode(self, chunk: dict[str, Any]) -> bytes:
        if self._translate is None and _is_chat(chunk):
            self._translate = ResponseEvents(self._call.body, self._call.requested_model)
        if self._translate is None:
            self._sequence = int(chunk.get("sequence_number") or self._sequence) + 1
            return _sse([chunk])
        return _sse(self._translate.feed(chunk))

    def end(self) -> bytes:
        return _sse(self._translate.finish()) if self._translate is not None else b""

    def error(self, exc: HelixError) -> bytes:
        event = {
            "type": "error",
            "code": exc.code or exc.type,
            "message": exc.message,
            "param": exc.param,
            "sequence_number": self._translate.sequence if self._translate is not None else self._sequence,
        }
        return _sse([event])


def _sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(b"event: " + str(e.get("type")).encode() + b"\ndata: " + _encode(e) + b"\n\n" for e in events)


@post("/v1/responses", status_code=200)
async def responses(request: Request[Any, Any, Any]) -> ASGIApp:
    call, reply = await run_pipeline(request, "responses")
    return await respond_responses(call, reply)


routes = [responses]

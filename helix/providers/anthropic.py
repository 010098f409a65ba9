"""Anthropic's Messages API behind the chat-completions interface.

The request/response/stream translation lives in `anthropic_translate`; this module only talks HTTP.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import msgspec

from helix.call import Call, Completed, Reply, Streamed
from helix.errors import InvalidRequest, NotForThisProvider, UpstreamError
from helix.providers.anthropic_translate import (
    StreamTranslator,
    TranslationError,
    UpstreamStreamError,
    answers_in_json,
    from_messages_response,
    to_messages_request,
    translate_error,
)
from helix.providers.http import (
    HttpAdapter,
    carried_error,
    decode_event,
    error_from_body,
    iter_sse,
    read_json,
    stream_ended,
    unreadable,
)
from helix.providers.shapes import ANSWER_PROBLEMS, EVENT_PROBLEMS
from helix.translate.completion_chunks import completion_to_chunks

API_VERSION = "2023-06-01"
_decode = msgspec.json.decode
log = logging.getLogger("helix.providers")
# What translating a message or event of the wrong shape raises (a number where blocks belong, a string for
# an object): the provider's fault, a 502 like any garbled answer, never a 500.
_WRONG_SHAPE = (AttributeError, TypeError, KeyError, IndexError, ValueError)


def _wrong_shape(provider: str, what: str, code: str, exc: Exception) -> UpstreamError:
    # The provider's fault, not a failure of Helix: one line saying what could not be read, no traceback
    # (that only at debug level, for whoever reads the translation's code).
    log.warning("%s sent %s Helix cannot read (%s: %s)", provider, what, type(exc).__name__, str(exc)[:200])
    log.debug("where the translation of %s's answer failed", provider, exc_info=exc)
    return unreadable(provider, what, code)


class AnthropicProvider(HttpAdapter):
    kind = "anthropic"
    local = False

    def __init__(
        self,
        name: str,
        base_url: str,
        api_key: str | None,
        client: httpx.AsyncClient,
        *,
        headers: dict[str, str] | None = None,
        forward: list[str] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        base = base_url.rstrip("/")
        defaults = {"content-type": "application/json", "anthropic-version": API_VERSION, **(headers or {})}
        if api_key:
            defaults["x-api-key"] = api_key
        super().__init__(
            name, base if base.endswith("/v1") else base + "/v1", client, defaults, translate_error, forward, timeout
        )

    async def chat(self, call: Call) -> Reply:
        try:
            body = to_messages_request(call.body, call.target.model)
        except TranslationError as exc:
            raise NotForThisProvider(f"{self.name}: {exc}", param=exc.param, provider=self.name) from None
        return await self._send(call, body, answers_in_json(body))

    async def messages(self, call: Call) -> Reply:
        """A /v1/messages call as the client sent it (after the pipeline's redaction): no request
        translation. The answer comes back in the pipeline's chat shape, like `chat`'s."""
        return await self._send(call, {**call.body, "model": call.target.model}, json_answer=False)

    async def count_tokens(self, call: Call) -> Reply:
        body = {**call.body, "model": call.target.model}
        async with self._open(call, "/messages/count_tokens", body) as response:
            result = await read_json(response, self.name, call)
        count = result.get("input_tokens") if isinstance(result, dict) else None
        if type(count) is not int or count < 0:
            carried = carried_error(self.name, result, translate_error)
            raise carried or unreadable(self.name, "an answer", "upstream_bad_answer", "no input_tokens count")
        return Completed(result)

    async def _send(self, call: Call, body: dict[str, Any], json_answer: bool) -> Reply:
        """`json_answer`: the translated request forced the answer tool of a response_format."""
        if call.stream:
            return Streamed(self._stream(call, body, json_answer))
        async with self._open(call, "/messages", body) as response:
            return Completed(await self._whole(call, response, json_answer))

    async def _whole(self, call: Call, response: httpx.Response, json_answer: bool) -> dict[str, Any]:
        """A whole answer, in the pipeline's chat shape."""
        result = await read_json(response, self.name, call)
        try:
            answer = from_messages_response(result, call.requested_model, json_answer)
        except _WRONG_SHAPE as exc:
            carried = carried_error(self.name, result, translate_error)
            raise carried or _wrong_shape(self.name, "an answer", "upstream_bad_answer", exc) from None
        # What translated without an error can still carry the wrong types through (a text block's text a number).
        if problem := ANSWER_PROBLEMS["/chat/completions"](answer):
            raise unreadable(self.name, "an answer", "upstream_bad_answer", problem)
        return answer

    async def embeddings(self, call: Call) -> Reply:
        raise InvalidRequest(
            f"{self.name}: Anthropic has no embeddings API; route embeddings to another provider",
            param="model",
            code="unsupported_endpoint",
        )

    async def list_models(self) -> list[dict[str, Any]]:
        async with self._open(None, "/models", None) as response:
            body = await read_json(response, self.name, None)
        return [
            {"id": item["id"], "object": "model", "created": 0, "owned_by": "anthropic"}
            for item in (body.get("data") or [] if isinstance(body, dict) else [])
            if isinstance(item, dict) and "id" in item
        ]

    async def _stream(self, call: Call, body: dict[str, Any], json_answer: bool) -> AsyncIterator[dict[str, Any]]:
        # The upstream always reports usage; the translator only emits the usage chunk if asked, so ask
        # for it here and let the API layer hide it from clients that did not.
        translator = StreamTranslator(call.requested_model, include_usage=True, json_answer=json_answer)
        async with AsyncExitStack() as stack:
            response = await stack.enter_async_context(self._open(call, "/messages", body))
            if response.headers.get("content-type", "").startswith("application/json"):
                # A whole answer (or its error) to a streaming request, as from an OpenAI-compatible server that does
                # not stream (openai_compat.py): passed on as the chunks it amounts to, never a 502 saying the stream
                # ended early, which lost the provider's own error.
                for chunk in completion_to_chunks(await self._whole(call, response, json_answer)):
                    yield chunk
                return
            waiting, first = time.perf_counter(), True
            events = iter_sse(response, self.name, lambda: translator.finished)
            async for event, data, _more in events:
                if first:
                    call.upstream_seconds += time.perf_counter() - waiting
                    first = False
                payload = decode_event(self.name, data)
                try:
                    chunks = translator.feed(event, payload)
                except UpstreamStreamError as error:  # the provider's error event, read as its error bodies are
                    raise error_from_body(self.name, error.status, payload, translate_error) from None
                except _WRONG_SHAPE as exc:
                    raise _wrong_shape(self.name, "a stream event", "upstream_bad_stream", exc) from None
                for chunk in chunks:
                    if problem := EVENT_PROBLEMS["/chat/completions"](chunk):
                        raise unreadable(self.name, "a stream event", "upstream_bad_stream", problem)
                    yield chunk
            if not translator.finished:
                raise stream_ended(self.name, response, not first)
            for chunk in translator.close():  # a stream cut after its stop reason: the answer whole, its usage owed
                yield chunk

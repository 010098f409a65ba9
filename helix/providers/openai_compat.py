"""Any OpenAI-compatible API: OpenAI, Groq, Mistral, Together, OpenRouter, DeepSeek, Ollama, vLLM..."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import msgspec

from helix.call import Call, Chunk, Completed, Reply, Streamed
from helix.errors import HelixError
from helix.providers.http import (
    LF,
    HttpAdapter,
    carried_error,
    decode_event,
    error_from_body,
    given,
    iter_sse,
    read_json,
    read_json_raw,
    read_openai_error,
    stream_ended,
    unreadable,
)
from helix.providers.shapes import ANSWER_PROBLEMS, EVENT_PROBLEMS, embeddings_mismatch
from helix.translate.chunk_assembly import ChunkAssembler
from helix.translate.completion_chunks import completion_to_chunks

log = logging.getLogger("helix")


class OpenAICompatProvider(HttpAdapter):
    kind = "openai"

    def __init__(
        self,
        name: str,
        base_url: str,
        api_key: str | None,
        client: httpx.AsyncClient,
        *,
        headers: dict[str, str] | None = None,
        local: bool = False,
        forward: list[str] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        defaults = {"content-type": "application/json", **(headers or {})}
        if api_key:
            defaults["authorization"] = f"Bearer {api_key}"
        super().__init__(name, base_url.rstrip("/"), client, defaults, read_openai_error, forward, timeout)
        self.local = local
        # Streams ask for usage (`stream_options`) until the server refuses the parameter (older Azure api-versions,
        # LM Studio, TGI, llama.cpp builds): then they are costed by estimate, as a server that reports none is.
        self.asks_stream_usage = True

    async def chat(self, call: Call) -> Reply:
        return await self._send(call, "/chat/completions", usage_option=True)

    async def completions(self, call: Call) -> Reply:
        """Legacy text completions, passed through."""
        return await self._send(call, "/completions", usage_option=True)

    async def responses(self, call: Call) -> Reply:
        """The Responses API, passed through (its stream always ends with the usage)."""
        return await self._send(call, "/responses", usage_option=False)

    async def _send(self, call: Call, path: str, *, usage_option: bool) -> Reply:
        body = {**call.body, "model": call.target.model}
        if call.stream:
            if usage_option and not call.client_wants_usage and self.asks_stream_usage:
                # Helix costs every request, so it asks for usage; the API layer hides it from this client.
                body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
                return Streamed(self._stream(call, body, path, asked_usage=True))
            return Streamed(self._stream(call, body, path))
        return Completed(*await self._post_json(call, path, body))

    async def embeddings(self, call: Call) -> Reply:
        body = {**call.body, "model": call.target.model}
        result, raw = await self._post_json(call, "/embeddings", body)
        if problem := embeddings_mismatch(body, result):
            raise unreadable(self.name, "an answer", "upstream_bad_answer", problem)
        return Completed(result, raw)

    async def list_models(self) -> list[dict[str, Any]]:
        async with self._open(None, "/models", None) as response:
            body = await read_json(response, self.name, None)
        data = body.get("data") if isinstance(body, dict) else None
        return [item for item in data or [] if isinstance(item, dict) and "id" in item]

    async def _post_json(self, call: Call, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        """The answer and its bytes as received (sent on as they are when no stage changes the answer)."""
        async with self._open(call, path, body) as response:
            return await self._whole(call, path, response)

    async def _whole(self, call: Call, path: str, response: httpx.Response) -> tuple[dict[str, Any], bytes]:
        if path != "/completions" and response.headers.get("content-type", "").startswith("text/event-stream"):
            result = await self._assembled(call, path, response)
            return result, msgspec.json.encode(result)
        result, raw = await read_json_raw(response, self.name, call)
        if not isinstance(result, dict):
            raise unreadable(self.name, "an answer", "upstream_bad_answer", "not a JSON object")
        if path == "/responses" and result.get("status") == "failed":
            raise _failure(self.name, _response_error(result))
        if problem := ANSWER_PROBLEMS[path](result):
            carried = carried_error(self.name, result, read_openai_error)
            raise carried or unreadable(self.name, "an answer", "upstream_bad_answer", problem)
        return result, raw

    async def _assembled(self, call: Call, path: str, response: httpx.Response) -> dict[str, Any]:
        """The whole answer a server sent as events though none were asked for (some streaming-only servers and
        proxies do): read as a stream is, checked and costed as the answer it amounts to (a 502 before, after
        the provider had billed it, and retried)."""
        assembler, completed = ChunkAssembler(), None
        async for chunk in self._stream(call, call.body, path, opened=response):
            if path == "/chat/completions":
                assembler.feed(chunk)
            elif chunk.get("type") in _RESPONSES_END:
                completed = chunk.get("response")
        result = assembler.completion() if path == "/chat/completions" else completed
        if not isinstance(result, dict):
            raise unreadable(self.name, "an answer", "upstream_bad_answer", "events that end in no answer")
        if problem := ANSWER_PROBLEMS[path](result):
            raise unreadable(self.name, "an answer", "upstream_bad_answer", problem)
        return result

    async def _stream(
        self,
        call: Call,
        body: dict[str, Any],
        path: str,
        *,
        asked_usage: bool = False,
        opened: httpx.Response | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """`asked_usage`: Helix added `stream_options`; a server that refuses it is asked again without it.
        `opened`: the events of an answer already opened (whole, but sent as events)."""
        async with AsyncExitStack() as stack:
            if opened is not None:
                response = opened
            else:
                try:
                    response = await stack.enter_async_context(self._open(call, path, body))
                except HelixError as exc:
                    if not (asked_usage and exc.status == 400 and "stream_options" in exc.message):
                        raise
                    self.asks_stream_usage = False
                    log.warning("%s refuses stream_options: its streams are no longer asked for usage", self.name)
                    body = {k: v for k, v in body.items() if k != "stream_options"}
                    response = await stack.enter_async_context(self._open(call, path, body))
            if response.headers.get("content-type", "").startswith("application/json"):
                # A server that does not stream (some local ones ignore `stream: true`) answered with the whole
                # answer (or its error): a completion is passed on as the chunks it amounts to, as a cached answer is
                # replayed (a legacy completion is its own one chunk); a Responses answer is a 502 saying so, not
                # one saying the stream ended early.
                whole, _ = await self._whole(call, path, response)
                if path == "/responses":
                    raise unreadable(self.name, "a stream", "upstream_bad_stream", "a whole answer, not events")
                for chunk in completion_to_chunks(whole) if path == "/chat/completions" else [whole]:
                    yield Chunk(chunk, None)
                return
            waiting = time.perf_counter()
            first, finished, answered = True, False, False
            check = EVENT_PROBLEMS[path]
            choices, ended = body.get("n") or 1, set[int]()  # with n > 1, every choice ends the answer
            events = iter_sse(response, self.name, lambda: finished)
            async for event, data, more in events:
                if first:
                    call.upstream_seconds += time.perf_counter() - waiting
                    first = False
                if data == b"[DONE]":
                    if answered:  # the end, with or without a finish_reason before it: passed on as it came
                        return
                    break  # `[DONE]` before any chunk: no answer at all, a truncated stream
                chunk = decode_event(self.name, data)
                if "error" in chunk and given(chunk["error"]):
                    # with choices too (a finish_reason "error", as some routers send): OpenAI's SDKs raise on the
                    # chunk, so it is the provider's error, never an answer logged and cached as whole
                    raise error_from_body(self.name, 502, chunk, read_openai_error)
                if event == "error":  # an SSE error event whose data is the error itself ({"message": ...})
                    raise error_from_body(self.name, 502, {"error": chunk}, read_openai_error)
                kind = chunk.get("type")
                if kind == "error":  # a Responses stream's error event: the provider's error, as above
                    raise _failure(self.name, chunk)
                if kind == "response.failed":
                    raise _failure(self.name, _response_error(chunk.get("response")))
                if problem := check(chunk):
                    raise unreadable(self.name, "a stream event", "upstream_bad_stream", problem)
                if not finished:
                    finished = _is_last(chunk, choices, ended)
                # a chunk of usage alone (no choices) answers nothing: a stream of only that is a truncated one
                answered = answered or kind is not None or bool(chunk.get("choices"))
                # An event's data over several lines (as SSE allows) is one JSON text: passed on as sent, its second
                # line would lack its `data:` and cut the client's JSON
                yield Chunk(chunk, data if LF not in data else None, more)
            if not finished:
                raise stream_ended(self.name, response, not first)


_RESPONSES_END = frozenset({"response.completed", "response.incomplete"})


def _response_error(response: Any) -> Any:
    """The `error` of a Responses answer that failed (`{"code", "message"}`), if it has one."""
    return response.get("error") if isinstance(response, dict) else None


def _failure(provider: str, error: Any) -> HelixError:
    """A Responses answer or stream that failed (an error event, `response.failed`, a whole answer whose status is
    "failed"): the provider's error, its message scrubbed, like any error body; never an answer passed on as one."""
    error = error if isinstance(error, dict) else {}
    body = {"error": {"type": error.get("code"), "message": error.get("message")}}
    return error_from_body(provider, 502, body, read_openai_error)


def _is_last(chunk: dict[str, Any], choices: int, ended: set[int]) -> bool:
    """A chunk that ends an answer: the finish_reason of its last of `choices` to end (chat, completions; `ended` holds
    the indexes of those that have) or a Responses end event."""
    kind = chunk.get("type")
    if kind is not None and isinstance(kind, str) and kind in _RESPONSES_END:
        return True
    # A loop, not any(): its generator cost more than the test, which every chunk of every stream takes
    for choice in chunk.get("choices") or ():
        if type(choice) is dict and choice.get("finish_reason"):
            if choices == 1:
                return True
            index = choice.get("index")
            ended.add(index if type(index) is int else 0)
    return len(ended) >= choices

"""A small fake of the OpenAI and Anthropic HTTP APIs for tests and benchmarks, on 127.0.0.1.

A raw ASGI app served by uvicorn in a background thread. It records every request it receives, so
tests can count upstream calls and check exactly what a provider would have seen.

Behaviour is chosen by the requested model name:
  fail-500 / fail-429 / fail-401   answer that HTTP error in the provider's error shape (429 and 503
                                   carry Retry-After: 7; a 401 echoes the key it was sent, as some do);
                                   fail-<status>-<seconds>: after that wait
  slow-<seconds>                   wait before answering (timeouts)
  drop-stream                      send two chunks, then cut the connection
  drop-answer                      send half of a whole answer, then cut the connection
  no-stream-options                a 400 for a request with stream_options (older Azure api-versions, LM Studio)
  echo-in-<field>                  the echo, and an address the model wrote (MODEL_WRITTEN_PII), in the answer's
                                   reasoning_content, reasoning, refusal or function_call (chat), or its reasoning
                                   summary or refusal (Responses): `echo_in`
  always-stream                    chat and Responses answers as events even when no stream was asked (with
                                   usage), as some streaming-only servers and proxies do
  slow-stream                      stream with 0.2 s between chunks (clients that leave mid-stream)
  length                           finish_reason "length"
  finish-<reason>                  finish_reason <reason> ("error": OpenRouter's broken generation, "abort": vLLM's)
  empty-answer                     finish_reason "stop" and no answer (content null; a stream of no text)
  writes-pii                       the echo plus PII the model "wrote" itself (MODEL_WRITTEN_PII)
  garbled-first / garbled-later    a stream whose first (or third) event is not JSON
  big-<bytes>                      an answer of about that many bytes
  flaky-<n>-<status>[-<ms>]        the first n requests for this exact name (since the test began) fail
                                   with <status>; a 429 says Retry-After: <ms>/1000 s, a 503
                                   retry-after-ms: <ms> (when given); later requests are answered
  hang                             accept the request and never answer
  keeps-open                       a whole stream, finish_reason and usage, then no [DONE] (Anthropic: no
                                   message_stop): kept open KEPT_OPEN_SECONDS before it ends
  keeps-pinging                    (Anthropic) the same, pinging every 0.5 s meanwhile
  trickle                          a 200 whose body (a stream: pings before any event) comes a few bytes every
                                   0.2 s for 10 s: no read waits long, the answer never arrives
  keepalive-stall                  a stream that sends its first chunk, then only ": ping" comments every 0.2 s
                                   for 10 s
  reset                            send the headers and part of the body, then cut the connection
  truncated-sse                    a stream that ends cleanly after two chunks, with no finish or [DONE] (with
                                   n > 1: after the first choice's finish and the second's first chunk)
  invalid-json                     a 200 whose body is not JSON
  content-filter                   a 400 whose code says the provider's content policy refused it
  o1 / o3-mini / gpt-5... (chat)   refuse `max_tokens` as OpenAI's reasoning models do (a 400 that says to
                                   use max_completion_tokens)
  no-usage                         an answer that says nothing of its usage (Anthropic's too)
  garbage-usage / huge-usage       an answer whose usage is not numbers (or absurd ones: 10**30, 1e308);
                                   streams send it in a last chunk even unasked (Anthropic: garbage-usage)
  absurd-usage / overlong-usage    numbers, but two billion prompt tokens, or 100,000 output tokens
  reasoning-usage                  6,000 output tokens, 5,990 of them reasoning (DeepSeek's reasoner)
  output-only-usage                usage that counts the answer but not the prompt (Anthropic's too)
  prompt-only-usage                usage that counts the prompt but not the answer, and no total (Anthropic's too)
  start-usage-only                 (Anthropic) a stream whose message_delta has no usage: only message_start's,
                                   whose output count is a placeholder (1); a whole message without usage
  bad-gzip                         a 200 that says it is gzip and is not
  redirect                         a 302 to elsewhere
  shape-choices / -choice /         choices that are not a list, a choice that is not an object, a message
    -message / -content            (or delta) that is not one, content that is a number (WRONG_CHOICES)
  wrong-shape (Anthropic)          a message whose content is a number; a stream with an event of the
                                   wrong shape (WRONG_SHAPE_EVENTS; also error-string, wrong-text)
  shape-* on /v1/embeddings and    an answer of the wrong shape (WRONG_EMBEDDINGS, WRONG_RESPONSES; a
    /v1/responses                  Responses stream sends a number delta, then that answer)
  anything else                    answer "echo: <last user text>"
FakeState.broken maps a model name to a status every request for it fails with, until removed.
Also /v1/responses, /v1/completions and /v1/messages/count_tokens (tests/fake_openai_extra.py); every
answer carries the provider's request id (x-request-id, or request-id for Anthropic's paths).
Run standalone for benchmarks: `python -m tests.fake_upstream --port 8001`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn

try:
    from tests import fake_openai_extra as extra
    from tests.fake_anthropic import fake_messages_response, fake_messages_stream
except ImportError:  # run as a script from the tests folder
    import fake_openai_extra as extra  # type: ignore[no-redef]
    from fake_anthropic import fake_messages_response, fake_messages_stream  # type: ignore[no-redef]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeState:
    requests: list[Recorded] = field(default_factory=list)
    record: bool = True
    broken: dict[str, int] = field(default_factory=dict)

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    def models(self) -> list[str]:
        """The model of every request received, in order."""
        return [str((r.body or {}).get("model")) for r in self.requests if isinstance(r.body, dict)]


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _usage(prompt: str, answer: str) -> dict[str, Any]:
    prompt_tokens, completion_tokens = max(1, len(prompt.split())) + 8, max(1, len(answer.split()))
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


KEPT_OPEN_SECONDS = 8
# What a broken provider has been seen to put in `usage`: it must neither fail the request nor poison spend.
BAD_USAGE: dict[str, dict[str, Any]] = {
    "garbage-usage": {"prompt_tokens": "lots", "completion_tokens": -5, "prompt_tokens_details": 7},
    "huge-usage": {"prompt_tokens": 10**30, "completion_tokens": 1e308, "total_tokens": 10**30},
    "absurd-usage": {"prompt_tokens": 2_000_000_000, "completion_tokens": 5, "total_tokens": 2_000_000_005},
    "overlong-usage": {"prompt_tokens": 12, "completion_tokens": 100_000, "total_tokens": 100_012},
    # DeepSeek's reasoner: thinking beyond max_tokens, reported as reasoning tokens
    "reasoning-usage": {
        "prompt_tokens": 20,
        "completion_tokens": 6000,
        "total_tokens": 6020,
        "completion_tokens_details": {"reasoning_tokens": 5990},
    },
    "output-only-usage": {"completion_tokens": 5, "total_tokens": 5},
    "prompt-only-usage": {"prompt_tokens": 12},
}


# OpenAI choices of the wrong shape, for an answer ("message") and a stream chunk ("delta") alike.
WRONG_CHOICES: dict[str, Any] = {
    "shape-choices": 5,
    "shape-choice": [5],
    "shape-message": [{"index": 0, "message": "hello", "delta": "hello", "finish_reason": None}],
    "shape-content": [{"index": 0, "message": {"content": 42}, "delta": {"content": 42}, "finish_reason": None}],
    "shape-parts": [{"index": 0, "message": {"content": [1, "x"]}, "delta": {"content": [1]}, "finish_reason": None}],
    "shape-finish": [{"index": 0, "message": {"content": "x"}, "delta": {"content": "x"}, "finish_reason": 7}],
    "shape-index": [{"index": "a", "message": {"content": "x"}, "delta": {"content": "x"}, "finish_reason": None}],
    "shape-tool-args": [
        {
            "index": 0,
            "message": {"content": None, "tool_calls": [{"id": "t", "function": {"name": "f", "arguments": {"a": 1}}}]},
            "delta": {"tool_calls": [{"index": 0, "id": "t", "function": {"name": "f", "arguments": 5}}]},
            "finish_reason": None,
        }
    ],
    "shape-tool-function": [
        {
            "index": 0,
            "message": {"content": None, "tool_calls": [{"id": "t", "function": "f"}]},
            "delta": {"tool_calls": [{"index": 0, "function": "f"}]},
            "finish_reason": None,
        }
    ],
}
# Embeddings answers of the wrong shape (the whole answer).
WRONG_EMBEDDINGS: dict[str, dict[str, Any]] = {
    "shape-no-data": {"object": "list", "model": "m"},
    "shape-data": {"object": "list", "data": "nope", "model": "m"},
    "shape-item": {"object": "list", "data": ["x"], "model": "m"},
    "shape-vector": {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1, "x"]}]},
}
# Responses answers (and a stream's last event's response) of the wrong shape; shape-text's stream first sends a
# number delta.
WRONG_RESPONSES: dict[str, list[Any]] = {
    "shape-output": ["nope"],
    "shape-item": [1],
    "shape-content": [{"type": "message", "role": "assistant", "content": "str"}],
    "shape-text": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": 5}]}],
}
# Anthropic events in place of a stream's second: of the wrong shape (a block whose delta is a string; an error that is
# only a string), or a rate limit's error before any text.
WRONG_SHAPE_EVENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "wrong-shape": ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": "x"}),
    "error-string": ("error", {"type": "error", "error": "the model is overloaded"}),
    "rate-limit-event": (
        "error",
        {"type": "error", "error": {"type": "rate_limit_error", "message": "over your tokens per minute"}},
    ),
    "wrong-text": (
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": 5}},
    ),
}


# Answers that are not (only) text, by model: a legacy function call, spoken audio, text with a web search's citations.
# Streamed, each comes in pieces as OpenAI sends it (`_part_pieces`).
OTHER_PARTS: dict[str, dict[str, Any]] = {
    "function-call": {"function_call": {"name": "get_weather", "arguments": '{"city": "Paris", "unit": "celsius"}'}},
    "audio-answer": {
        "audio": {"id": "audio_abc", "data": "UklGRiQAAABXQVZF", "transcript": "It is sunny.", "expires_at": 1}
    },
    "reasoner": {"reasoning_content": "First I think it over, then I answer."},  # DeepSeek's
    "reasoned": {"reasoning": "Weigh both sides; pick one."},  # OpenRouter's, Groq's, vLLM's
    "cited": {
        "annotations": [
            {
                "type": "url_citation",
                "url_citation": {"start_index": 0, "end_index": 5, "url": "https://example.org/a", "title": "A"},
            }
        ]
    },
}


def _part_pieces(parts: dict[str, Any]) -> list[dict[str, Any]]:
    """The deltas a stream carries `parts` in: a function call's name, then its arguments in pieces; audio's id, then
    its data and transcript in pieces, then its expiry; citations whole; reasoning in pieces."""
    deltas: list[dict[str, Any]] = []
    if call := parts.get("function_call"):
        deltas.append({"function_call": {"name": call["name"], "arguments": ""}})
        deltas += [{"function_call": {"arguments": piece}} for piece in _pieces(call["arguments"], 7)]
    if audio := parts.get("audio"):
        deltas.append({"audio": {"id": audio["id"]}})
        deltas += [{"audio": {"data": piece}} for piece in _pieces(audio["data"], 8)]
        deltas += [{"audio": {"transcript": piece}} for piece in _pieces(audio["transcript"])]
        deltas.append({"audio": {"expires_at": audio["expires_at"]}})
    if "annotations" in parts:
        deltas.append({"annotations": parts["annotations"]})
    for name in (REASONING_PARTS | {"refusal"}) & parts.keys():
        deltas += [{name: piece} for piece in _pieces(parts[name])]
    return deltas


ECHO_FIELDS = ("reasoning_content", "reasoning", "refusal", "function_call")


def echo_in(body: dict[str, Any], prompt: str) -> tuple[str, str] | None:
    """For a model `echo-in-<field>`: the field, and what the model writes in it (the echo, and an address)."""
    field = str(body.get("model", "")).removeprefix("echo-in-")
    if field == body.get("model"):
        return None
    return field, f"echo: {prompt} (written to {MODEL_WRITTEN_PII[0]}) " + "More text. " * 40


def _parts(body: dict[str, Any], prompt: str) -> dict[str, Any]:
    """What the answer carries besides (or instead of) its text."""
    echoed = echo_in(body, prompt)
    if echoed is None or echoed[0] not in ECHO_FIELDS:
        return OTHER_PARTS.get(str(body.get("model")), {})
    field, text = echoed
    if field == "function_call":
        return {"function_call": {"name": "save", "arguments": json.dumps({"note": text})}}
    return {field: text}


# Parts that come with the answer's text, not instead of it.
REASONING_PARTS = {"reasoning_content", "reasoning"}
WITH_TEXT = {"annotations", *REASONING_PARTS}


REASONING_MODEL = re.compile(r"o\d+(?:-|$)|gpt-5")  # OpenAI's models that refuse max_tokens
MODEL_WRITTEN_PII = ("model.wrote@leakmail.io", "4111 1111 1111 1111")


def _answer_text(body: dict[str, Any], prompt: str) -> str:
    if body.get("model") == "empty-answer":
        return ""
    if body.get("model") == "json-echo":  # an answer asked for as JSON, quoting the prompt in a JSON string
        return json.dumps({"echo": prompt})
    if body.get("model") == "writes-pii":
        email, card = MODEL_WRITTEN_PII
        return f"echo: {prompt} The owner is {email} and they paid with card {card}. " + "More text. " * 40
    return f"echo: {prompt}"


def _completion(body: dict[str, Any]) -> dict[str, Any]:
    prompt = _last_user_text(body.get("messages", []))
    answer = _answer_text(body, prompt)
    finish = _finish_reason(body.get("model", ""))
    completion = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer or None}, "finish_reason": finish}],
        "usage": BAD_USAGE.get(str(body.get("model"))) or _usage(prompt, answer),
    }
    if parts := _parts(body, prompt):
        completion["choices"][0]["message"] |= parts if parts.keys() & WITH_TEXT else {"content": None, **parts}
        completion["choices"][0]["finish_reason"] = "function_call" if "function_call" in parts else finish
    if body.get("model") == "no-usage":
        del completion["usage"]
    return completion


def _pieces(text: str, size: int = 4) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _finish_reason(model: str) -> str:
    return "length" if model == "length" else model.removeprefix("finish-") if model.startswith("finish-") else "stop"


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _truncated_events(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A stream's first two chunks; with n > 1, the first choice whole and the start of the second."""
    if (body.get("n") or 1) == 1:
        return _stream_events(body)[:2]
    second = _chunk(body.get("model", ""), {"role": "assistant", "content": "half"})
    second["choices"][0]["index"] = 1
    return [*_stream_events(body), second]


# Streamed tool calls, by model: a sentence, then the call (Claude through a translating proxy); parallel calls all at
# index 0, told apart by id alone (providers that send no index).
TOOL_STREAMS: dict[str, list[dict[str, Any]]] = {
    "text-then-tool": [
        {"content": "Let me check the weather. "},
        {"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather"}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]},
    ],
    "tools-at-zero": [
        {"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "get_weather", "arguments": '{"city": '}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]},
        {"tool_calls": [{"index": 0, "id": "call_2", "function": {"name": "get_time", "arguments": '{"tz": '}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"UTC"}'}}]},
    ],
}


def _azure_preamble(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Azure OpenAI's first chunk: the prompt's content-filter results, no choices, an empty object."""
    preamble = {"id": "", "object": "", "created": 0, "model": "", "choices": [], "prompt_filter_results": []}
    return [preamble, *events]


def _one_chunk(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The whole text in the finish chunk (vLLM and llama.cpp send the last text with the finish_reason)."""
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])
    finish = next(e for e in events if e["choices"] and e["choices"][0]["finish_reason"])
    finish["choices"][0]["delta"] = {"content": text}
    return [events[0], finish, *[e for e in events if not e["choices"]]]


def _usage_on_finish(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The usage (asked for) on the finish chunk, not a chunk of its own, as some OpenAI-compatible servers send it."""
    usage = next((e["usage"] for e in events if not e["choices"] and e.get("usage")), None)
    finish = next(e for e in events if e["choices"] and e["choices"][0]["finish_reason"])
    finish["usage"] = usage
    return [e for e in events if e["choices"]]


def _running_usage(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The usage so far on every chunk, the last one's the whole answer's (vLLM's `continuous_usage_stats`)."""
    usage = next(e["usage"] for e in events if not e["choices"] and e.get("usage"))
    chunks = [e for e in events if e["choices"]]
    for i, chunk in enumerate(chunks):
        written = usage["completion_tokens"] * i // (len(chunks) - 1)
        chunk["usage"] = {**usage, "completion_tokens": written, "total_tokens": usage["prompt_tokens"] + written}
    return chunks


def _empty_content(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`"content": ""` in every delta that has no text of its own (beside each piece of reasoning, as DeepSeek's)."""
    for event in events:
        for choice in event["choices"]:
            choice["delta"].setdefault("content", "")
    return events


# A stream in the shape another server sends it: model "gpt-4o-mini@azure" answers as "gpt-4o-mini" does, so shaped.
STREAM_SHAPES = {
    "empty-content": _empty_content,
    "azure": _azure_preamble,
    "one-chunk": _one_chunk,
    "usage-on-finish": _usage_on_finish,
    "running-usage": _running_usage,
}


def _stream_events(body: dict[str, Any]) -> list[dict[str, Any]]:
    model, _, shape = body.get("model", "").partition("@")
    if shape:
        return STREAM_SHAPES[shape](_stream_events({**body, "model": model}))
    prompt = _last_user_text(body.get("messages", []))
    answer = _answer_text(body, prompt)
    events = [_chunk(model, {"role": "assistant", "content": ""})]
    parts = _parts(body, prompt)
    if model in TOOL_STREAMS:
        events += [_chunk(model, delta) for delta in TOOL_STREAMS[model]]
    elif not parts or parts.keys() & WITH_TEXT:
        events += [_chunk(model, {"content": piece}) for piece in _pieces(answer)]
    events += [_chunk(model, delta) for delta in _part_pieces(parts)]
    finish = (
        "function_call"
        if "function_call" in parts
        else "tool_calls"
        if model in TOOL_STREAMS
        else _finish_reason(model)
    )
    events.append(_chunk(model, {}, finish))
    if model in BAD_USAGE:
        events.append({**_chunk(model, {}), "choices": [], "usage": BAD_USAGE[model]})
    elif (body.get("stream_options") or {}).get("include_usage") or model == "always-stream":
        events.append({**_chunk(model, {}), "choices": [], "usage": _usage(prompt, answer)})
    return events


def _embedding(text: str, dim: int = 8) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [b / 255 for b in digest[:dim]]


def _error(status: int, anthropic: bool, headers: dict[str, str]) -> dict[str, Any]:
    message = f"fake upstream failure {status}"
    if status == 401:
        sent = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        message = f"Incorrect API key provided: {sent}. You can find your API key at the dashboard."
    if anthropic:
        return {"type": "error", "error": {"type": "api_error", "message": message}}
    kinds = {401: "invalid_request_error", 429: "rate_limit_error"}
    return {
        "error": {
            "message": message,
            "type": kinds.get(status, "server_error"),
            "param": None,
            "code": f"fake_{status}",
        }
    }


async def serve_lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(receive: Any) -> bytes:
    raw = b""
    while True:
        message = await receive()
        raw += message.get("body", b"")
        if not message.get("more_body"):
            return raw


class FakeUpstream:
    def __init__(self, state: FakeState | None = None) -> None:
        self.state = state or FakeState()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return await serve_lifespan(receive, send)
        raw = await read_body(receive)
        body = json.loads(raw) if raw else None
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        path = scope["path"]
        if self.state.record:
            self.state.requests.append(Recorded(scope["method"], path, headers, body))
        await self._answer(path, body, send, headers)

    async def _answer(self, path: str, body: Any, send: Any, headers: dict[str, str]) -> None:
        anthropic = path == "/v1/messages"
        model = str((body or {}).get("model", ""))
        if model in self.state.broken:
            return await _json(send, self.state.broken[model], _error(self.state.broken[model], anthropic, headers))
        if model.startswith("flaky-"):
            _, count, status, *wait = model.split("-")
            if self.state.models().count(model) <= int(count):
                waits = _retry_headers(int(status), int(wait[0])) if wait else []
                return await _json(send, int(status), _error(int(status), anthropic, headers), waits)
        if model == "hang":
            await asyncio.sleep(3600)
        if model == "reset":
            return await _reset(send)
        if model == "trickle":
            return await _trickle(send, bool((body or {}).get("stream")))
        if model == "keepalive-stall":
            return await _trickle(send, True, first=_stream_events(body)[0])
        if model == "invalid-json":
            return await _raw(send, 200, b"<html>not json</html>")
        if model == "bad-gzip":
            return await _raw(send, 200, b"this is not gzip", [(b"content-encoding", b"gzip")])
        if model == "redirect":
            return await _raw(send, 302, b"", [(b"location", b"http://127.0.0.1:9/elsewhere")])
        if model == "error-echo":  # a provider that echoes the request into its error's type and code
            echoed = {"message": "bad request", "type": "zq.echo@leakmail.io", "code": "Ann Lee 4539148803436467"}
            return await _json(send, 400, {"error": echoed})
        if model == "too-long":  # Anthropic's way of saying it: no code, only the words
            too_long = {
                "type": "invalid_request_error",
                "message": "prompt is too long: 250123 tokens > 200000 maximum",
            }
            return await _json(send, 400, {"type": "error", "error": too_long})
        if model == "content-filter":
            refusal = {
                "message": "flagged by the content policy",
                "type": "invalid_request_error",
                "code": "content_filter",
            }
            return await _json(send, 400, {"error": {**refusal, "param": None}})
        if path == "/v1/chat/completions" and REASONING_MODEL.match(model) and "max_tokens" in (body or {}):
            unsupported = {
                "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                "type": "invalid_request_error",
                "param": "max_tokens",
                "code": "unsupported_parameter",
            }
            return await _json(send, 400, {"error": unsupported})
        if model == "no-stream-options" and "stream_options" in (body or {}):
            unknown = {
                "message": "Unrecognized request argument supplied: stream_options",
                "type": "invalid_request_error",
            }
            return await _json(send, 400, {"error": {**unknown, "param": None, "code": None}})
        if model.startswith("fail-"):
            status, *wait = model.split("-")[1:]
            await asyncio.sleep(float(wait[0]) if wait else 0)
            status = int(status)
            retry = [(b"retry-after", b"7")] if status in (429, 503) else []
            return await _json(send, status, _error(status, anthropic, headers), retry)
        if model.startswith("big-"):
            answer = "x" * int(model.split("-")[1])
            completion = _completion(body)
            completion["choices"][0]["message"]["content"] = answer
            return await _json(send, 200, completion)
        if model == "drop-answer":
            data = json.dumps(_completion(body)).encode()
            head = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": head})
            await send({"type": "http.response.body", "body": data[: len(data) // 2], "more_body": True})
            raise ConnectionResetError("fake upstream drops the answer")
        if model.startswith("slow-") and model != "slow-stream":
            await asyncio.sleep(float(model.split("-")[1]))
        if path == "/v1/models":
            data = [
                {"id": name, "object": "model", "created": 0, "owned_by": "fake"} for name in ("gpt-4o-mini", "gpt-4o")
            ]
            return await _json(send, 200, {"object": "list", "data": data})
        if path == "/v1/embeddings":
            if model in WRONG_EMBEDDINGS:
                return await _json(send, 200, WRONG_EMBEDDINGS[model])
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            data = [{"object": "embedding", "index": i, "embedding": _embedding(str(t))} for i, t in enumerate(inputs)]
            tokens = sum(len(str(t).split()) for t in inputs)
            return await _json(
                send,
                200,
                {
                    "object": "list",
                    "data": data,
                    "model": model,
                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                },
            )
        if path == "/v1/chat/completions":
            if model in WRONG_CHOICES:  # the answer's choices, or a stream's second chunk's
                if not body.get("stream"):
                    return await _json(send, 200, {**_completion(body), "choices": WRONG_CHOICES[model]})
                events = _stream_events(body)
                events[1] = {**events[1], "choices": WRONG_CHOICES[model]}
                return await _sse(send, [("", e) for e in events], False, True, 0)
            if body.get("stream") or model == "always-stream":
                if model == "truncated-sse":
                    return await _sse(send, [("", e) for e in _truncated_events(body)], False, False, 0)
                if model.startswith("garbled-"):
                    return await _garbled(send, _stream_events(body), 0 if model == "garbled-first" else 2)
                events = [("", extra.decorate_chat(body, e)) for e in _stream_events(body)]
                if model == "keeps-open":
                    return await _sse(send, events, False, False, 0, linger=KEPT_OPEN_SECONDS)
                return await _sse(send, events, model == "drop-stream", True, 0.2 if model == "slow-stream" else 0)
            return await _json(send, 200, extra.decorate_chat(body, _completion(body)))
        if path == "/v1/responses":
            written = _answer_text(body, extra.input_text(body))
            other = echo_in(body, extra.input_text(body))
            if model in WRONG_RESPONSES:
                wrong = {**extra.response_object(body, written), "output": WRONG_RESPONSES[model]}
                if not body.get("stream"):
                    return await _json(send, 200, wrong)
                events = extra.response_events(body, written)[:1]  # response.created, then the wrong parts
                if model == "shape-text":
                    events.append(("response.output_text.delta", {"type": "response.output_text.delta", "delta": 5}))
                events.append(("response.completed", {"type": "response.completed", "response": wrong}))
                return await _sse(send, events, False, False, 0)
            if body.get("stream") or model == "always-stream":
                return await _sse(send, extra.response_events(body, written, other), False, False, 0)
            return await _json(send, 200, extra.response_object(body, written, other))
        if path == "/v1/completions":
            prompt = body.get("prompt")
            written = (
                _answer_text(body, prompt) if body.get("model") == "writes-pii" and isinstance(prompt, str) else None
            )
            if body.get("stream"):
                chunks = extra.text_completion_chunks(body, written)
                return await _sse(send, [("", c) for c in chunks], False, True, 0)
            return await _json(send, 200, extra.text_completion(body, written))
        if path == "/v1/messages/count_tokens":
            return await _json(send, 200, extra.count_tokens(body), [(b"request-id", b"req_fake_anthropic")])
        if anthropic:
            if body.get("stream"):
                events = fake_messages_stream(body)
                if model in WRONG_SHAPE_EVENTS:  # the second event (the first block's start) replaced
                    events = [events[0], WRONG_SHAPE_EVENTS[model], *events[2:]]
                if model in _ANTHROPIC_BAD_USAGE:
                    events = [(name, _anthropic_usage_of(model, data)) for name, data in events]
                if model in ("keeps-open", "keeps-pinging"):  # no message_stop (pings meanwhile)
                    pings = 0.5 if model == "keeps-pinging" else 0
                    return await _sse(send, events[:-1], False, False, 0, b"request-id", KEPT_OPEN_SECONDS, pings)
                return await _sse(send, events, False, False, 0, b"request-id")
            message = fake_messages_response(body)
            if model in _ANTHROPIC_BAD_USAGE:
                message = _anthropic_usage_of(model, message)
            if model == "wrong-shape":
                message["content"] = 5
            return await _json(send, 200, message, [(b"request-id", b"req_fake_anthropic")])
        await _json(send, 404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}})


_ANTHROPIC_BAD_USAGE = ("no-usage", "garbage-usage", "output-only-usage", "prompt-only-usage", "start-usage-only")


def _anthropic_usage_of(model: str, data: dict[str, Any]) -> dict[str, Any]:
    """An Anthropic message or stream event with no usage (no-usage), usage of no numbers (garbage-usage) or with no
    input count (output-only-usage)."""
    garbage = {"input_tokens": "lots", "output_tokens": -5}
    if model == "start-usage-only":  # a message or message_delta without usage; message_start's placeholder kept
        return {k: v for k, v in data.items() if k != "usage"} if "message" not in data else data
    if "usage" in data:  # a message, or message_delta
        usage = data["usage"]
        data = {k: v for k, v in data.items() if k != "usage"}
        if model == "garbage-usage":
            data |= {"usage": garbage}
        elif model in ("output-only-usage", "prompt-only-usage"):
            dropped = "input_tokens" if model == "output-only-usage" else "output_tokens"
            data |= {"usage": {k: v for k, v in usage.items() if k != dropped}}
    if isinstance(data.get("message"), dict):  # message_start
        data = {**data, "message": _anthropic_usage_of(model, data["message"])}
    return data


async def _json(send: Any, status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    data = json.dumps(payload).encode()
    headers = headers or []
    if status < 400 and not headers:
        headers = [(b"x-request-id", b"req_fake_openai")]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def _retry_headers(status: int, ms: int) -> list[tuple[bytes, bytes]]:
    if status == 429:
        return [(b"retry-after", f"{ms / 1000:g}".encode())]
    return [(b"retry-after-ms", str(ms).encode())]


async def _raw(send: Any, status: int, data: bytes, extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    headers += extra_headers or []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def _reset(send: Any) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"1000")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"id": "chatcmpl-fake", "choi', "more_body": True})
    raise ConnectionResetError("fake upstream cuts the connection")


async def _trickle(send: Any, stream: bool, first: dict[str, Any] | None = None) -> None:
    headers = [(b"content-type", b"text/event-stream")] if stream else [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if first is not None:
        await send(
            {"type": "http.response.body", "body": b"data: " + json.dumps(first).encode() + b"\n\n", "more_body": True}
        )
    for _ in range(50):
        await send({"type": "http.response.body", "body": b": ping\n\n" if stream else b" ", "more_body": True})
        await asyncio.sleep(0.2)
    await send({"type": "http.response.body", "body": b"" if stream else b"{}", "more_body": False})


async def _garbled(send: Any, events: list[dict[str, Any]], at: int) -> None:
    """A stream whose event number `at` is cut-off JSON; it goes on normally after it."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    for i, event in enumerate(events):
        data = b'{"id": "chatcmpl-fake", "choi' if i == at else json.dumps(event).encode()
        await send({"type": "http.response.body", "body": b"data: " + data + b"\n\n", "more_body": True})
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})


async def _sse(
    send: Any,
    events: list[tuple[str, dict[str, Any]]],
    drop: bool,
    done_marker: bool,
    pause: float,
    id_header: bytes = b"x-request-id",
    linger: float = 0,
    ping_every: float = 0,
) -> None:
    """`linger`: seconds the stream is kept open after its last event, before it ends (an Anthropic ping sent every
    `ping_every` seconds meanwhile)."""
    headers = [(b"content-type", b"text/event-stream"), (id_header, b"req_fake_stream")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for i, (name, data) in enumerate(events):
        if drop and i == 2:
            raise ConnectionResetError("fake upstream drops the stream")
        prefix = f"event: {name}\n".encode() if name else b""
        await send(
            {
                "type": "http.response.body",
                "body": prefix + b"data: " + json.dumps(data).encode() + b"\n\n",
                "more_body": True,
            }
        )
        await asyncio.sleep(pause)
    until = time.monotonic() + linger
    while ping_every and time.monotonic() < until:
        ping = b'event: ping\ndata: {"type": "ping"}\n\n'
        await send({"type": "http.response.body", "body": ping, "more_body": True})
        await asyncio.sleep(ping_every)
    await asyncio.sleep(max(0.0, until - time.monotonic()))
    tail = b"data: [DONE]\n\n" if done_marker else b""
    await send({"type": "http.response.body", "body": tail, "more_body": False})


class ServerThread:
    """Run an ASGI app with uvicorn on 127.0.0.1 in a daemon thread; stop() shuts it down."""

    def __init__(self, app: Any, port: int = 0, **options: Any) -> None:
        self.config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on", **options
        )
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self.loop: asyncio.AbstractEventLoop | None = None

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        await self.server.serve()

    @property
    def port(self) -> int:
        return self.server.servers[0].sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def run(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the server's event loop (e.g. flush the database writer)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    uvicorn.run(
        FakeUpstream(FakeState(record=False)),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()

"""A provider's answer of the wrong shape, through the real server (a raw socket upstream): never a 500, never an
answer cached that no client can read, never an SSE stream a provider can write lines into."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from helix.translate.parts import Untranslatable
from helix.translate.responses_reply import ResponseEvents, to_response
from tests.conftest import Helix, start_helix
from tests.fake_upstream import FakeState
from tests.test_upstream_faults import _answer, raw_upstream

_USER = {"role": "user", "content": "tell me a long story"}
_USAGE = {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}
SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"


@contextmanager
def answered_with(tmp_path: Path, answer: bytes) -> Iterator[Helix]:
    """A Helix whose OpenAI provider answers every request with `answer`, and is never retried."""
    with raw_upstream(answer) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            yield instance
        finally:
            instance.server.stop()


def _sse(*events: Any, done: bool = True) -> bytes:
    body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    return SSE_HEAD + body + (b"data: [DONE]\n\n" if done else b"")


def _chunk(delta: Any, finish: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [choice]}


def _completion(message: Any) -> dict[str, Any]:
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    return {"id": "x", "object": "chat.completion", "created": 1, "model": "m", "choices": [choice]}


def _request(path: str, stream: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "gpt-4o-mini", "stream": stream}
    if path == "/v1/responses":
        return {**body, "input": "x"}
    return {**body, "max_tokens": 20, "messages": [{"role": "user", "content": "x"}]}


WITHOUT_A_MESSAGE = {
    "message null": _completion(None),
    "no message": {**_completion(None), "choices": [{"index": 0, "finish_reason": "stop"}]},
    "no choices": {**_completion(None), "choices": []},
}


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
@pytest.mark.parametrize("answer", WITHOUT_A_MESSAGE.values(), ids=WITHOUT_A_MESSAGE.keys())
def test_a_whole_answer_without_a_message_is_a_502_and_never_cached(
    tmp_path: Path, path: str, answer: dict[str, Any]
) -> None:
    """It was a 200 (to an Anthropic client, a message with no content) and cached: every later ask of the same
    question got the empty answer back from the cache."""
    with answered_with(tmp_path, _answer(200, json.dumps(answer).encode())) as instance:
        for _ in range(2):
            response = httpx.post(f"{instance.url}{path}", json=_request(path), timeout=30)
            assert response.status_code == 502, response.text
            assert "unexpected shape" in response.text
        rows = instance.rows("SELECT status, error_code, cache FROM requests")
        assert [(r["status"], r["error_code"], r["cache"]) for r in rows] == [(502, "upstream_bad_answer", "MISS")] * 2
        assert instance.rows("SELECT count(*) AS n FROM cache_entries")[0]["n"] == 0


_CREATED = {"type": "response.created", "sequence_number": 0, "response": {"id": "r", "status": "in_progress"}}
_INJECTED = 'response.output_text.delta\ndata: {"injected": true}\n\nevent: x'
BAD_RESPONSES_EVENTS = {
    "type with line breaks": {"type": _INJECTED, "delta": "hi"},
    "no type": {"delta": "hi"},
    "type a list": {"type": ["x"], "delta": "hi"},
    "sequence_number text": {"type": "response.output_text.delta", "delta": "hi", "sequence_number": "x"},
    "sequence_number a list": {"type": "response.output_text.delta", "delta": "hi", "sequence_number": [1]},
    "the end without its response": {"type": "response.completed", "sequence_number": 1},
}


@pytest.mark.parametrize("event", BAD_RESPONSES_EVENTS.values(), ids=BAD_RESPONSES_EVENTS.keys())
def test_a_responses_stream_event_without_a_usable_type_or_number_ends_the_stream_with_an_error(
    tmp_path: Path, event: dict[str, Any]
) -> None:
    """The event's `type` becomes the SSE `event:` line passed on: with line breaks it wrote lines of the
    provider's choosing into the client's stream; missing, `event: None`. A sequence_number that is no number
    was an internal error mid-stream, logged as the client having left (499)."""
    with answered_with(tmp_path, _sse(_CREATED, event, done=False)) as instance:
        response = httpx.post(f"{instance.url}/v1/responses", json=_request("/v1/responses", True), timeout=30)
        assert response.status_code == 200
        names = [line for line in response.text.split("\n") if line and not line.startswith("data: ")]
        assert names == ["event: response.created", "event: error"], response.text
        error = json.loads(response.text.rstrip("\n").rsplit("\n", 1)[-1].removeprefix("data: "))
        assert error["code"] == "upstream_bad_stream" and "unexpected shape" in error["message"]
        (row,) = instance.rows("SELECT status, error_code FROM requests")
        assert (row["status"], row["error_code"]) == (502, "upstream_bad_stream")


ODD_THINKING = {"not a list": {"a": 1}, "items not objects": [5, "x"], "index text": [{"index": "a", "thinking": "t"}]}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("blocks", ODD_THINKING.values(), ids=ODD_THINKING.keys())
def test_thinking_blocks_of_the_wrong_shape_do_not_break_an_anthropic_clients_answer(
    tmp_path: Path, blocks: Any, stream: bool
) -> None:
    """An OpenAI-kind provider's `thinking_blocks` (passed on as they came to a chat client) translated for
    /v1/messages: a 500 (logged as a 200) or an internal error mid-stream (logged as 499); now what cannot be
    read is left out and the text arrives."""
    if stream:
        answer = _sse(_chunk({"role": "assistant", "thinking_blocks": blocks}), _chunk({"content": "hi"}, "stop"))
    else:
        answer = _answer(
            200, json.dumps(_completion({"role": "assistant", "content": "hi", "thinking_blocks": blocks})).encode()
        )
    with answered_with(tmp_path, answer) as instance:
        response = httpx.post(f"{instance.url}/v1/messages", json=_request("/v1/messages", stream), timeout=30)
        assert response.status_code == 200, response.text
        assert "internal error" not in response.text and '"hi"' in response.text
        (row,) = instance.rows("SELECT status FROM requests")
        assert row["status"] == 200


@pytest.mark.parametrize("stream", [False, True])
def test_content_in_parts_reaches_an_anthropic_client_as_text(tmp_path: Path, stream: bool) -> None:
    """Some OpenAI-compatible providers answer `content` as a list of parts: an Anthropic client got that list as
    its text block's `text` (or text_delta), which its SDK cannot read."""
    parts = [{"type": "text", "text": "hel"}, {"type": "reasoning", "summary": []}, {"type": "text", "text": "lo"}]
    if stream:
        answer = _sse(_chunk({"role": "assistant", "content": parts}), _chunk({}, "stop"))
    else:
        answer = _answer(200, json.dumps(_completion({"role": "assistant", "content": parts})).encode())
    with answered_with(tmp_path, answer) as instance:
        response = httpx.post(f"{instance.url}/v1/messages", json=_request("/v1/messages", stream), timeout=30)
        assert response.status_code == 200, response.text
        if stream:
            deltas = [json.loads(line[6:]) for line in response.text.split("\n") if "text_delta" in line]
            assert [d["delta"]["text"] for d in deltas] == ["hello"]
        else:
            assert response.json()["content"] == [{"type": "text", "text": "hello"}]


@pytest.mark.parametrize("stream", [False, True])
def test_an_anthropic_answer_helix_cannot_read_is_one_warning_without_a_traceback(
    helix: Helix, fake: FakeState, caplog: pytest.LogCaptureFixture, stream: bool
) -> None:
    """The provider's garbage is no crash of Helix: the log says what could not be read, in one line (each try),
    where it printed a traceback into the server's output."""
    body = {"model": "anthropic/wrong-shape", "max_tokens": 20, "stream": stream, "messages": [_USER]}
    with caplog.at_level(logging.INFO, logger="helix"):
        response = httpx.post(f"{helix.url}/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 502 if not stream else "upstream_bad_stream" in response.text
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and "cannot read" in r.getMessage()]
    assert warnings and all("Error: " in w.getMessage() for w in warnings), caplog.text  # one a try
    assert not any(r.exc_info for r in caplog.records if r.levelno >= logging.INFO), caplog.text


def test_an_error_event_in_a_responses_stream_is_the_providers_error_scrubbed_and_logged(tmp_path: Path) -> None:
    """It was passed on as it came (a key in its message too), then followed by a second error event of Helix's
    own, and logged as a stream cut short rather than as the provider's error."""
    leaked = "sk-proj-Abc123def456GHI789jkl012MNO345"
    event = {"type": "error", "code": "server_error", "message": f"boom (key {leaked})", "sequence_number": 1}
    with answered_with(tmp_path, _sse(_CREATED, event, done=False)) as instance:
        response = httpx.post(f"{instance.url}/v1/responses", json=_request("/v1/responses", True), timeout=30)
        assert response.status_code == 200
        assert leaked not in response.text and leaked[:12] not in response.text
        errors = [
            json.loads(line[6:]) for line in response.text.split("\n") if line.startswith('data: {"type":"error"')
        ]
        assert len(errors) == 1 and errors[0]["code"] == "server_error" and "boom" in errors[0]["message"], errors
        (row,) = instance.rows("SELECT status, error_code FROM requests")
        assert (row["status"], row["error_code"]) == (502, "server_error")


_LEAKED = "sk-proj-Abc123def456GHI789jkl012MNO345"
_CRASHED = {"code": "server_error", "message": f"the model crashed (key {_LEAKED})"}
_FAILED = {"id": "r", "object": "response", "status": "failed", "output": [], "error": _CRASHED}


def test_a_whole_responses_answer_that_failed_is_the_providers_error_and_never_cached(tmp_path: Path) -> None:
    """A 200 whose Responses `status` is "failed" was passed on as an answer (its error message unscrubbed), logged
    200 and cached, and replayed."""
    with answered_with(tmp_path, _answer(200, json.dumps(_FAILED).encode())) as instance:
        for _ in range(2):
            response = httpx.post(f"{instance.url}/v1/responses", json=_request("/v1/responses"), timeout=30)
            assert response.status_code == 502, response.text
            assert _LEAKED[:12] not in response.text and "the model crashed" in response.text
        rows = instance.rows("SELECT status, error_code FROM requests")
        assert [(r["status"], r["error_code"]) for r in rows] == [(502, "server_error")] * 2
        assert instance.rows("SELECT count(*) AS n FROM cache_entries")[0]["n"] == 0


def test_a_responses_stream_that_failed_ends_with_the_providers_error_scrubbed_and_logged(tmp_path: Path) -> None:
    failed = {"type": "response.failed", "sequence_number": 1, "response": _FAILED}
    with answered_with(tmp_path, _sse(_CREATED, failed, done=False)) as instance:
        response = httpx.post(f"{instance.url}/v1/responses", json=_request("/v1/responses", True), timeout=30)
        assert response.status_code == 200
        assert _LEAKED[:12] not in response.text
        errors = [
            json.loads(line[6:]) for line in response.text.split("\n") if line.startswith('data: {"type":"error"')
        ]
        assert len(errors) == 1 and errors[0]["code"] == "server_error", response.text
        assert "the model crashed" in errors[0]["message"]
        (row,) = instance.rows("SELECT status, error_code FROM requests")
        assert (row["status"], row["error_code"]) == (502, "server_error")


def test_a_provider_that_answers_a_streaming_request_whole_is_streamed_to_the_client(tmp_path: Path) -> None:
    """Some OpenAI-compatible servers ignore `stream: true`: the whole completion was a 502 (a stream cut short); it
    reaches a streaming client as the chunks it amounts to, logged and cached like any streamed answer."""
    whole = {**_completion({"role": "assistant", "content": "Paris is the capital."}), "usage": _USAGE}
    with answered_with(tmp_path, _answer(200, json.dumps(whole).encode())) as instance:
        client = openai.OpenAI(base_url=f"{instance.url}/v1", api_key="x", max_retries=0)
        for cache in ("MISS", "HIT-EXACT"):
            stream = client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini", messages=[_USER], stream=True, stream_options={"include_usage": True}
            )
            assert stream.headers["x-helix-cache"] == cache
            chunks = list(stream.parse())
            assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Paris is the capital."
            assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
            assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
        rows = instance.rows("SELECT status, stream, completion_tokens FROM requests")
        assert [(r["status"], r["stream"], r["completion_tokens"]) for r in rows] == [(200, 1, 5)] * 2


_VECTOR = {"object": "embedding", "index": 0, "embedding": [0.5, -1]}
_BASE64 = {**_VECTOR, "embedding": "AAAAPwAAgL8="}
_EMBEDDING_USAGE = {"prompt_tokens": 1, "total_tokens": 1}


def _embeddings(item: dict[str, Any], usage: Any = _EMBEDDING_USAGE) -> bytes:
    return json.dumps({"object": "list", "data": [item], "model": "e", "usage": usage}).encode()


EMBEDDINGS_NOT_ASKED_FOR = {
    "base64, no format asked": ({}, _embeddings(_BASE64)),
    "base64, floats asked": ({"encoding_format": "float"}, _embeddings(_BASE64)),
    "index text": ({}, _embeddings({**_VECTOR, "index": "0"})),
    "index a float": ({}, _embeddings({**_VECTOR, "index": 0.0})),
    "index past the inputs": ({}, _embeddings({**_VECTOR, "index": 1})),
    "index negative": ({}, _embeddings({**_VECTOR, "index": -1})),
    "two at one index": (
        {"input": ["a", "b"]},
        json.dumps({"object": "list", "data": [_VECTOR, _VECTOR], "model": "e", "usage": _EMBEDDING_USAGE}).encode(),
    ),
    "usage text": ({}, _embeddings(_VECTOR, "7 tokens")),
    "usage a list": ({}, _embeddings(_VECTOR, [1])),
    "usage counts text": ({}, _embeddings(_VECTOR, {"prompt_tokens": "1", "total_tokens": 1})),
    "usage counts negative": ({}, _embeddings(_VECTOR, {"prompt_tokens": 1, "total_tokens": -1})),
}


@pytest.mark.parametrize(("asked", "answer"), EMBEDDINGS_NOT_ASKED_FOR.values(), ids=EMBEDDINGS_NOT_ASKED_FOR.keys())
def test_embeddings_that_break_their_contract_are_a_502(tmp_path: Path, asked: dict[str, Any], answer: bytes) -> None:
    """Each was passed on as a 200: a base64 string where the client's SDK (which asked for numbers) hands on a
    list of floats, an index a client cannot sort by, a usage it cannot read."""
    with answered_with(tmp_path, _answer(200, answer)) as instance:
        body = {"model": "text-embedding-3-small", "input": "x", **asked}
        response = httpx.post(f"{instance.url}/v1/embeddings", json=body, timeout=30)
        assert response.status_code == 502, response.text
        error = response.json()["error"]
        assert error["code"] == "upstream_bad_answer" and "unexpected shape" in error["message"], error
        (row,) = instance.rows("SELECT status, error_code FROM requests")
        assert (row["status"], row["error_code"]) == (502, "upstream_bad_answer")


EMBEDDINGS_AS_ASKED = {
    "floats": ({}, _embeddings(_VECTOR)),
    "floats, floats asked": ({"encoding_format": "float"}, _embeddings(_VECTOR)),
    "base64 asked": ({"encoding_format": "base64"}, _embeddings(_BASE64)),
    "floats where base64 asked": ({"encoding_format": "base64"}, _embeddings(_VECTOR)),
    "no usage": ({}, _embeddings(_VECTOR, None)),
    "usage without counts": ({}, _embeddings(_VECTOR, {})),
}


@pytest.mark.parametrize(("asked", "answer"), EMBEDDINGS_AS_ASKED.values(), ids=EMBEDDINGS_AS_ASKED.keys())
def test_embeddings_as_asked_for_are_passed_on_byte_for_byte(
    tmp_path: Path, asked: dict[str, Any], answer: bytes
) -> None:
    with answered_with(tmp_path, _answer(200, answer)) as instance:
        body = {"model": "text-embedding-3-small", "input": "x", **asked}
        response = httpx.post(f"{instance.url}/v1/embeddings", json=body, timeout=30)
        assert response.status_code == 200, response.text
        assert response.content == answer


_LEGACY = {"model": "gpt-4o-mini", "prompt": "x", "max_tokens": 5, "stream": True}


def test_a_chat_stream_sent_to_a_legacy_completions_client_ends_with_an_error(tmp_path: Path) -> None:
    """Chat chunks (`delta`, no `text`) were passed on to /v1/completions as a 200: the client's SDK read no text
    from any of them, an empty answer, logged and cached as a good one."""
    answer = _sse(_chunk({"role": "assistant", "content": "hi"}), _chunk({}, "stop"))
    with answered_with(tmp_path, answer) as instance:
        for _ in range(2):
            response = httpx.post(f"{instance.url}/v1/completions", json=_LEGACY, timeout=30)
            assert response.status_code == 502, response.text
            error = response.json()["error"]
            assert error["code"] == "upstream_bad_stream" and "a choice has no text" in error["message"], error
        rows = instance.rows("SELECT status, error_code FROM requests")
        assert [(r["status"], r["error_code"]) for r in rows] == [(502, "upstream_bad_stream")] * 2
        assert instance.rows("SELECT count(*) AS n FROM cache_entries")[0]["n"] == 0


def test_a_legacy_completions_stream_whose_last_chunk_has_no_text_is_passed_on(tmp_path: Path) -> None:
    """What the check above must not refuse: a usage-only chunk (no choices) and a choice of text and no more."""
    text = {"id": "c", "object": "text_completion", "created": 1, "model": "m"}
    first = {**text, "choices": [{"index": 0, "text": "hi", "finish_reason": None}]}
    last = {**text, "choices": [{"index": 0, "text": "", "finish_reason": "stop"}]}
    answer = _sse(first, last, {**text, "choices": [], "usage": _USAGE})
    with answered_with(tmp_path, answer) as instance:
        stream = instance.client().completions.create(model="gpt-4o-mini", prompt="x", max_tokens=5, stream=True)
        assert "".join(c.choices[0].text for c in stream if c.choices) == "hi"


def _anthropic_sse(*blocks: tuple[str, dict[str, Any]]) -> bytes:
    start = {"type": "message_start", "message": {"id": "msg_1", "usage": {"input_tokens": 3, "output_tokens": 1}}}
    end = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}}
    events = [("message_start", start), *blocks, ("message_delta", end), ("message_stop", {"type": "message_stop"})]
    body = b"".join(b"event: %s\ndata: %s\n\n" % (name.encode(), json.dumps(data).encode()) for name, data in events)
    return SSE_HEAD + body


def _block(kind: str, index: Any, **fields: Any) -> tuple[str, dict[str, Any]]:
    return kind, {"type": kind, "index": index, **fields}


_TEXT_BLOCK = {"type": "text", "text": ""}
_TEXT = {"type": "text_delta", "text": "hi"}
BLOCKS_OUT_OF_PLACE = {
    "index text": [_block("content_block_start", "0", content_block=_TEXT_BLOCK)],
    "index a float": [_block("content_block_start", 0.0, content_block=_TEXT_BLOCK)],
    "index skipped": [_block("content_block_start", 1, content_block=_TEXT_BLOCK)],
    "index negative": [_block("content_block_start", -1, content_block=_TEXT_BLOCK)],
    "started twice": [_block("content_block_start", 0, content_block=_TEXT_BLOCK)] * 2,
    "delta of no block": [_block("content_block_delta", 0, delta=_TEXT)],
    "delta past the last": [
        _block("content_block_start", 0, content_block=_TEXT_BLOCK),
        _block("content_block_delta", 7, delta=_TEXT),
    ],
    "delta after its stop": [
        _block("content_block_start", 0, content_block=_TEXT_BLOCK),
        _block("content_block_stop", 0),
        _block("content_block_delta", 0, delta=_TEXT),
    ],
    "delta index a list": [
        _block("content_block_start", 0, content_block=_TEXT_BLOCK),
        _block("content_block_delta", [0], delta=_TEXT),
    ],
}


def _stream_error(response: httpx.Response) -> str:
    """The message of the error a stream ended with (or of the 502 it was before it began)."""
    if response.status_code != 200:
        assert response.status_code == 502, response.text
        return str(response.json()["error"]["message"])
    last = json.loads([line for line in response.text.split("\n") if line.startswith("data: ")][-1][6:])
    assert last.get("type") == "error" or "error" in last, response.text
    assert "message_stop" not in response.text and "response.completed" not in response.text, response.text
    return str(last.get("error", last)["message"])


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/v1/responses"])
@pytest.mark.parametrize("blocks", BLOCKS_OUT_OF_PLACE.values(), ids=BLOCKS_OUT_OF_PLACE.keys())
def test_an_anthropic_stream_whose_blocks_are_out_of_place_ends_with_an_error(
    tmp_path: Path, path: str, blocks: list[tuple[str, dict[str, Any]]]
) -> None:
    """Each was translated into a 200 whose text was lost (a delta of a block never started), repeated, or put in the
    wrong place, and logged as a good answer; a list for an index was a 500."""
    with answered_with(tmp_path, _anthropic_sse(*blocks)) as instance:
        body = {**_request(path, stream=True), "model": "anthropic/claude-haiku-4-5"}
        response = httpx.post(f"{instance.url}{path}", json=body, timeout=30)
        assert "unexpected shape" in _stream_error(response)
        (row,) = instance.rows("SELECT status, error_code FROM requests")
        assert (row["status"], row["error_code"]) == (502, "upstream_bad_stream")


def test_an_anthropic_stream_cut_after_its_stop_reason_keeps_its_usage(tmp_path: Path) -> None:
    """A stream that ended after message_delta but before message_stop: the answer was whole, but its usage never
    reached the client or the log (tokens and cost null: free against any budget)."""
    whole = _anthropic_sse(
        _block("content_block_start", 0, content_block=_TEXT_BLOCK), _block("content_block_delta", 0, delta=_TEXT)
    )
    cut = whole.split(b"event: message_stop")[0]
    with answered_with(tmp_path, cut) as instance:
        stream = instance.client().chat.completions.create(
            model="anthropic/claude-haiku-4-5", messages=[_USER], stream=True, stream_options={"include_usage": True}
        )
        chunks = list(stream)
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "hi"
        usage = chunks[-1].usage
        assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (3, 2)
        (row,) = instance.rows("SELECT status, prompt_tokens, completion_tokens, cost_usd FROM requests")
        assert (row["status"], row["prompt_tokens"], row["completion_tokens"]) == (200, 3, 2) and row["cost_usd"] > 0


def test_an_anthropic_stream_in_order_is_translated(tmp_path: Path) -> None:
    blocks = [
        _block("content_block_start", 0, content_block=_TEXT_BLOCK),
        _block("content_block_delta", 0, delta=_TEXT),
        _block("content_block_stop", 0),
        _block("content_block_start", 1, content_block={"type": "tool_use", "id": "t", "name": "f", "input": {}}),
        _block("content_block_delta", 1, delta={"type": "input_json_delta", "partial_json": "{}"}),
        _block("content_block_stop", 1),
    ]
    with answered_with(tmp_path, _anthropic_sse(*blocks)) as instance:
        client = instance.client()
        stream = client.chat.completions.create(model="anthropic/claude-haiku-4-5", messages=[_USER], stream=True)
        deltas = [c.choices[0].delta for c in stream if c.choices]
        assert "".join(d.content or "" for d in deltas) == "hi"
        calls = [call for d in deltas for call in d.tool_calls or []]
        assert [(c.index, c.function and c.function.arguments) for c in calls] == [(0, ""), (0, "{}")]


def _tool(index: int, arguments: str, name: str | None = None) -> dict[str, Any]:
    return {"index": index, "id": name and f"call_{name}", "type": "function", "function": {"arguments": arguments}}


# Interleaved arguments of parallel tool calls (a provider may stream them so), which a Responses stream cannot take
# once an item is done; an Anthropic stream takes them: the first call streams, the others are sent whole at the end.
_INTERLEAVED = [
    _chunk({"tool_calls": [_tool(0, '{"a":', "a")]}),
    _chunk({"tool_calls": [_tool(1, '{"b":', "b")]}),
    _chunk({"tool_calls": [_tool(0, "1}")]}),
    _chunk({"tool_calls": [_tool(1, "2}")]}),
]
CHUNKS_OUT_OF_PLACE = {
    "a second choice": [_chunk({"content": "hi"}), {**_chunk({"content": "lost"}), "choices": [{"index": 1}]}],
    "a tool call's index negative": [_chunk({"tool_calls": [_tool(-1, "{}", "a")]})],
    "a tool call resumed after text": [
        _chunk({"tool_calls": [_tool(0, '{"a":', "a")]}),
        _chunk({"content": "and then"}),
        _chunk({"tool_calls": [_tool(0, "1}")]}),
    ],
}


@pytest.mark.parametrize("chunks", CHUNKS_OUT_OF_PLACE.values(), ids=CHUNKS_OUT_OF_PLACE.keys())
def test_chat_chunks_out_of_place_in_a_translated_stream_end_it_with_an_error(
    tmp_path: Path, chunks: list[dict[str, Any]]
) -> None:
    """An Anthropic client asks for one answer: a second choice's text was dropped without a word, a tool call
    resumed after its block was closed was a second tool_use block, and the answer logged as a good one."""
    answer = _sse(_chunk({"role": "assistant", "content": ""}), *chunks, _chunk({}, "tool_calls"))
    with answered_with(tmp_path, answer) as instance:
        response = httpx.post(f"{instance.url}/v1/messages", json=_request("/v1/messages", True), timeout=30)
        assert response.status_code == 200, response.text
        assert "unexpected shape" in _stream_error(response)
        (row,) = instance.rows("SELECT status, error_code FROM requests")
        assert (row["status"], row["error_code"]) == (502, "upstream_bad_stream")


PARALLEL_CALLS = {
    "interleaved": _INTERLEAVED,
    # a provider that sends no index: every call at 0, each new one with its own id (one was appended to the first)
    "one index, two ids": [
        _chunk({"tool_calls": [_tool(0, '{"a":1}', "a")]}),
        _chunk({"tool_calls": [_tool(0, '{"b":2}', "b")]}),
    ],
}


@pytest.mark.parametrize("chunks", PARALLEL_CALLS.values(), ids=PARALLEL_CALLS.keys())
def test_parallel_tool_calls_reach_an_anthropic_client_each_whole(tmp_path: Path, chunks: list[dict[str, Any]]) -> None:
    """Interleaved calls ended the stream with an error; a second call at the same index was lost in the first."""
    answer = _sse(_chunk({"role": "assistant", "content": ""}), *chunks, _chunk({}, "tool_calls"))
    with answered_with(tmp_path, answer) as instance:
        client = anthropic.Anthropic(base_url=instance.url, api_key="x", max_retries=0, timeout=30)
        with client.messages.stream(model="gpt-4o-mini", max_tokens=20, messages=[_USER]) as stream:
            message = stream.get_final_message()
        calls = [(block.id, block.input) for block in message.content if block.type == "tool_use"]
        assert calls == [("call_a", {"a": 1}), ("call_b", {"b": 2})] and message.stop_reason == "tool_use"
        (row,) = instance.rows("SELECT status FROM requests")
        assert row["status"] == 200


@pytest.mark.parametrize("arguments", ["null", " [1, 2]", "7", '"Paris"', "Paris", "[1, 2"])
def test_tool_arguments_that_are_no_object_reach_an_anthropic_client_as_one(tmp_path: Path, arguments: str) -> None:
    """`tool_use.input` is always an object: a stream passed `null` or `[1, 2]` on as they came (faults round 13),
    where a whole answer's translation wraps them as {"value": ...}, and text that is no JSON as {"arguments": ...}
    (the stream sent `{"value": Paris}`, which no client can read). Both the call streamed as it comes and one held
    to the end."""
    half = len(arguments) // 2
    chunks = [
        _chunk({"tool_calls": [_tool(0, arguments[:half], "a")]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": arguments[half:]}}]}),
        _chunk({"tool_calls": [_tool(1, arguments, "b")]}),
    ]
    answer = _sse(_chunk({"role": "assistant", "content": ""}), *chunks, _chunk({}, "tool_calls"))
    with answered_with(tmp_path, answer) as instance:
        client = anthropic.Anthropic(base_url=instance.url, api_key="x", max_retries=0, timeout=30)
        with client.messages.stream(model="gpt-4o-mini", max_tokens=20, messages=[_USER]) as stream:
            message = stream.get_final_message()
        try:
            wrapped = {"value": json.loads(arguments)}
        except json.JSONDecodeError:
            wrapped = {"arguments": arguments}
        calls = [(block.id, block.input) for block in message.content if block.type == "tool_use"]
        assert calls == [("call_a", wrapped), ("call_b", wrapped)]
        whole = client.messages.create(model="gpt-4o-mini", max_tokens=20, messages=[_USER])
        assert [block.input for block in whole.content if block.type == "tool_use"] == [wrapped, wrapped]


@pytest.mark.parametrize(
    "chunks",
    [*CHUNKS_OUT_OF_PLACE.values(), _INTERLEAVED],
    ids=[*CHUNKS_OUT_OF_PLACE.keys(), "a tool call back after another"],
)
def test_chat_chunks_out_of_place_have_no_place_in_a_responses_stream(chunks: list[dict[str, Any]]) -> None:
    """The Responses API's translation of chat chunks: arguments of a tool call resumed after its item was done."""
    events = ResponseEvents({"input": "x"}, "m")
    with pytest.raises(Untranslatable):
        for chunk in [_chunk({"role": "assistant", "content": ""}), *chunks]:
            events.feed(chunk)


def test_the_error_event_ending_a_translated_responses_stream_is_numbered_after_the_others(tmp_path: Path) -> None:
    """A Responses stream translated from an Anthropic provider's stream numbers its events; the error event that
    ended it was numbered 0 whatever came before it, out of the order a client reads them in."""
    start = _block("content_block_start", 0, content_block=_TEXT_BLOCK)
    whole = _anthropic_sse(start, _block("content_block_delta", 0, delta=_TEXT))
    cut = whole.split(b"event: message_delta")[0]  # the stream ends before its answer does
    with answered_with(tmp_path, cut) as instance:
        body = {"model": "anthropic/claude-haiku-4-5", "input": "x", "stream": True}
        response = httpx.post(f"{instance.url}/v1/responses", json=body, timeout=30)
        events = [json.loads(line[6:]) for line in response.text.split("\n") if line.startswith("data: ")]
        assert events[-1]["type"] == "error" and events[-1]["code"] == "upstream_truncated_stream", events
        assert [e["sequence_number"] for e in events] == list(range(len(events))), events


def test_a_chunk_that_carries_an_error_with_its_choices_is_the_providers_error(tmp_path: Path) -> None:
    """Some routers end a stream that failed with a chunk of both `error` and a choice (finish_reason "error"): it
    was passed on as an answer (OpenAI's SDK raises on it), logged as a 200 and cached, and replayed."""
    failed = {**_chunk({}, "error"), "error": {"message": "the model crashed", "type": "server_error"}}
    with answered_with(tmp_path, _sse(_chunk({"content": "hi"}), failed)) as instance:
        for _ in range(2):
            response = httpx.post(f"{instance.url}/v1/chat/completions", json=_request("/v1/chat/completions", True))
            assert "the model crashed" in _stream_error(response)
        rows = instance.rows("SELECT status, error_code, cache FROM requests")
        assert [(r["status"], r["error_code"], r["cache"]) for r in rows] == [(502, "server_error", "MISS")] * 2


_MESSAGE = {"id": "msg_1", "type": "message", "role": "assistant", "content": [{"type": "text", "text": "hi"}]}
_MESSAGE |= {"stop_reason": "end_turn", "usage": {"input_tokens": 3, "output_tokens": 2}}
_OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "busy right now"}}


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_an_anthropic_provider_that_answers_a_streaming_request_whole_is_streamed(tmp_path: Path, path: str) -> None:
    """As an OpenAI-compatible one's is: it was a 502 saying the stream ended before the answer was finished, and a
    whole error body (a 200 of Anthropic's error shape) lost its message to that one."""
    body = {**_request(path, True), "model": "anthropic/claude-haiku-4-5"}
    with answered_with(tmp_path, _answer(200, json.dumps(_MESSAGE).encode())) as instance:
        response = httpx.post(f"{instance.url}{path}", json=body, timeout=30)
        assert response.status_code == 200, response.text
        assert '"hi"' in response.text and response.text.rstrip().endswith(("[DONE]", '{"type":"message_stop"}'))
        (row,) = instance.rows("SELECT status, completion_tokens FROM requests")
        assert (row["status"], row["completion_tokens"]) == (200, 2)
    (tmp_path / "error").mkdir()
    with answered_with(tmp_path / "error", _answer(200, json.dumps(_OVERLOADED).encode())) as instance:
        response = httpx.post(f"{instance.url}{path}", json=body, timeout=30)
        assert response.status_code == 502 and "busy right now" in response.text, response.text


def test_a_responses_client_gets_each_streamed_call_once_with_its_own_arguments() -> None:
    """A call whose first delta carries its arguments had them twice in its output item; calls all at index 0 (told
    apart by id) were one item with both calls' arguments."""
    events = ResponseEvents({"model": "m"}, "m")
    out = []
    for call in (
        {"index": 0, "id": "call_1", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
        {"index": 0, "id": "call_2", "function": {"name": "get_time", "arguments": '{"tz": '}},
        {"index": 0, "function": {"arguments": '"UTC"}'}},
    ):
        out += events.feed(_chunk({"tool_calls": [call]}))
    out += events.feed(_chunk({}, "tool_calls")) + events.finish()
    (completed,) = [e for e in out if e["type"] == "response.completed"]
    calls = [(item["call_id"], item["name"], item["arguments"]) for item in completed["response"]["output"]]
    assert calls == [("call_1", "get_weather", '{"city": "Paris"}'), ("call_2", "get_time", '{"tz": "UTC"}')]
    done = [e["item"]["arguments"] for e in out if e["type"] == "response.output_item.done"]
    assert done == ['{"city": "Paris"}', '{"tz": "UTC"}']


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("reason", ["error", "abort"])
def test_an_answer_that_broke_off_reaches_an_anthropic_client_as_an_error_not_an_end_turn(
    tmp_path: Path, upstream: tuple[Any, FakeState], reason: str, stream: bool
) -> None:
    """OpenRouter's "error" and vLLM's "abort" end a partial answer: /v1/messages told Anthropic's clients (Claude
    Code) "end_turn", as if it had ended well (faults round 24). Chat clients see the finish reason as it came."""
    instance = start_helix(tmp_path, upstream[0].url)
    try:
        client = anthropic.Anthropic(base_url=instance.url, api_key="sk-test", max_retries=0)
        asked = {"model": f"openai/finish-{reason}", "max_tokens": 50, "messages": [_USER]}
        with pytest.raises(anthropic.APIStatusError) as raised:
            if stream:
                with client.messages.stream(**asked) as events:  # type: ignore[arg-type]
                    list(events)
            else:
                client.messages.create(**asked)  # type: ignore[arg-type]
        assert "broke off" in str(raised.value) and reason in str(raised.value)
    finally:
        instance.server.stop()


@pytest.mark.parametrize(
    ("reason", "status", "details"),
    [
        ("error", "failed", None),
        ("abort", "failed", None),
        ("content_filter", "incomplete", {"reason": "content_filter"}),
        ("length", "incomplete", {"reason": "max_output_tokens"}),
    ],
)
def test_a_translated_response_says_how_its_answer_ended(reason: str, status: str, details: Any) -> None:
    """A chat answer that broke off or was filtered became a Responses answer "completed" (faults round 24)."""
    completion = {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "partial"}, "finish_reason": reason}]
    }
    response = to_response(completion, {"input": "hi"}, "m")
    assert (response["status"], response["incomplete_details"]) == (status, details)
    assert (response["error"] is not None) == (status == "failed")
    events = ResponseEvents({"input": "hi"}, "m")
    for chunk in (
        {"choices": [{"index": 0, "delta": {"content": "partial"}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]},
    ):
        events.feed(chunk)
    assert events.finish()[-1]["type"] == f"response.{status}"

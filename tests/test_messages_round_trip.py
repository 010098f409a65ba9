"""An Anthropic answer through the pipeline's chat shape and back (what /v1/messages routed to Anthropic
does): content, thinking, tool use, stop reasons and usage come back as Anthropic sent them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from helix.providers.anthropic_translate import StreamTranslator, from_messages_response
from helix.translate.chunk_assembly import ChunkAssembler
from helix.translate.completion_chunks import completion_to_chunks
from helix.translate.messages_reply import MessageEvents, to_message
from tests.fake_anthropic import fake_messages_response, fake_messages_stream

TOOLS = [{"name": "get_weather", "input_schema": {"type": "object"}}]
REQUESTS: list[dict[str, Any]] = [
    {"model": "m", "max_tokens": 9, "messages": [{"role": "user", "content": "hello there"}]},
    {"model": "m", "max_tokens": 9, "tools": TOOLS, "messages": [{"role": "user", "content": "weather?"}]},
    {
        "model": "m",
        "max_tokens": 9,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [{"role": "user", "content": "think"}],
    },
]


def _content_and_ending(message: dict[str, Any]) -> tuple[Any, ...]:
    return message["content"], message["stop_reason"], message["usage"]


def _replayed(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The message an Anthropic client assembles from a stream of events."""
    message: dict[str, Any] = {}
    for name, data in events:
        if name == "message_start":
            message = {**data["message"], "content": []}
        elif name == "content_block_start":
            message["content"].append(dict(data["content_block"]))
        elif name == "content_block_delta":
            block, delta = message["content"][data["index"]], data["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] += delta["signature"]
            else:
                block["partial"] = block.get("partial", "") + delta["partial_json"]
        elif name == "message_delta":
            message["stop_reason"] = data["delta"]["stop_reason"]
            message["usage"] = data["usage"]
    for block in message["content"]:
        if "partial" in block:
            block["input"] = json.loads(block.pop("partial"))
    return message


@pytest.mark.parametrize("request_body", REQUESTS)
def test_a_message_comes_back_as_sent(request_body: dict[str, Any]) -> None:
    sent = fake_messages_response(request_body)
    sent["usage"].update(cache_creation_input_tokens=5, cache_read_input_tokens=7)
    message = to_message(from_messages_response(sent, "m"), "m", "anthropic")
    assert _content_and_ending(message) == _content_and_ending(sent)


@pytest.mark.parametrize("request_body", REQUESTS)
def test_a_stream_comes_back_as_sent_live_and_replayed(request_body: dict[str, Any]) -> None:
    sent = fake_messages_response(request_body)
    translator = StreamTranslator("m", include_usage=True)
    chunks = [chunk for name, data in fake_messages_stream(request_body) for chunk in translator.feed(name, data)]
    assembler = ChunkAssembler()
    for chunk in chunks:
        assembler.feed(chunk)
    for source in (chunks, completion_to_chunks(assembler.completion())):
        encoder = MessageEvents("m", "anthropic")
        events = [event for chunk in source for event in encoder.feed(chunk)] + encoder.finish()
        assert _content_and_ending(_replayed(events)) == _content_and_ending(sent)


def test_an_openai_refusal_is_anthropics_refusal_stop_reason() -> None:
    refused = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
    completion = {"id": "c", "choices": [{"index": 0, "message": refused, "finish_reason": "stop"}]}
    message = to_message(completion, "m", "anthropic")
    assert message["stop_reason"] == "refusal" and message["content"] == [{"type": "text", "text": refused["refusal"]}]
    events = MessageEvents("m", "anthropic")
    chunks = completion_to_chunks(completion)
    streamed = _replayed([event for chunk in chunks for event in events.feed(chunk)] + events.finish())
    assert streamed["stop_reason"] == "refusal" and streamed["content"] == message["content"]


def test_tool_input_beyond_ascii_reads_the_same_streamed_or_not() -> None:
    """The whole answer's arguments were ASCII-escaped ("M\\u00fcnchen"), the streamed ones as Anthropic wrote them."""
    tool_use = {"type": "tool_use", "id": "t", "name": "weather", "input": {"city": "München"}}
    answer = {"id": "msg_1", "content": [tool_use], "stop_reason": "tool_use", "usage": {"input_tokens": 1}}
    (call,) = from_messages_response(answer, "m")["choices"][0]["message"]["tool_calls"]
    translator = StreamTranslator("m", include_usage=False)
    translator.feed("message_start", {"message": {"id": "msg_1", "usage": {}}})
    _greeting, chunk = translator.feed("content_block_start", {"index": 0, "content_block": tool_use})
    (streamed,) = chunk["choices"][0]["delta"]["tool_calls"]
    assert call["function"]["arguments"] == streamed["function"]["arguments"] == '{"city": "München"}'

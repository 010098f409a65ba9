from __future__ import annotations

import json
from typing import Any

import pytest

from helix.providers.anthropic_translate import (
    JSON_ANSWER_TOOL,
    StreamTranslator,
    TranslationError,
    UpstreamStreamError,
    from_messages_response,
    to_messages_request,
    translate_error,
)
from tests.fake_anthropic import fake_messages_response, fake_messages_stream

MODEL = "claude-sonnet-4-5"

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def _request(**extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], **extra}


# ---------------------------------------------------------------- to_messages_request


def test_minimal_request_uses_default_max_tokens_and_upstream_model() -> None:
    assert to_messages_request(_request(), MODEL) == {
        "model": MODEL,
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }
    assert to_messages_request(_request(), MODEL, default_max_tokens=100)["max_tokens"] == 100


def test_system_and_developer_messages_become_top_level_system() -> None:
    body = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            {"role": "user", "content": "hello"},
        ]
    }
    out = to_messages_request(body, MODEL)
    assert out["system"] == "Be brief.\n\nAnswer in French."
    assert out["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]


def test_no_system_key_without_system_messages() -> None:
    assert "system" not in to_messages_request(_request(), MODEL)


def test_multi_turn_and_consecutive_same_role_merge() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "one"},
            {"role": "user", "content": [{"type": "text", "text": "two"}]},
            {"role": "assistant", "content": "three"},
            {"role": "assistant", "content": "four"},
            {"role": "user", "content": "five"},
        ]
    }
    assert to_messages_request(body, MODEL)["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "three"}, {"type": "text", "text": "four"}],
        },
        {"role": "user", "content": [{"type": "text", "text": "five"}]},
    ]


def test_merge_does_not_mutate_input() -> None:
    body = {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}
    snapshot = json.loads(json.dumps(body))
    to_messages_request(body, MODEL)
    assert body == snapshot


def test_empty_text_is_dropped_and_empty_turns_do_not_break_alternation() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": "b"},
        ]
    }
    assert to_messages_request(body, MODEL)["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    ]


def test_images_base64_and_url() -> None:
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "compare"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://example.com/cat.jpg", "detail": "high"},
                    },
                ],
            }
        ]
    }
    assert to_messages_request(body, MODEL)["messages"][0]["content"] == [
        {"type": "text", "text": "compare"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]


@pytest.mark.parametrize("url", ["ftp://example.com/a.png", "data:image/png,notbase64", "file:///etc/passwd"])
def test_unsupported_image_urls_are_rejected(url: str) -> None:
    body = {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]}
    with pytest.raises(TranslationError, match="image_url"):
        to_messages_request(body, MODEL)


def test_unsupported_content_part_is_rejected() -> None:
    body = {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]}
    with pytest.raises(TranslationError, match="input_audio"):
        to_messages_request(body, MODEL)


def test_tool_round_trip_history() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "24C"}]},
            {"role": "user", "content": "Which is warmer?"},
        ],
        "tools": [WEATHER_TOOL],
    }
    out = to_messages_request(body, MODEL)
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"city": "Rome"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": "24C"},
                {"type": "text", "text": "Which is warmer?"},
            ],
        },
    ]
    assert out["tools"] == [
        {
            "name": "get_weather",
            "description": "Current weather for a city",
            "input_schema": WEATHER_TOOL["function"]["parameters"],
        }
    ]
    assert "tool_choice" not in out


def test_assistant_text_and_tool_call_in_one_message() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": "Let me check.",
                "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": ""}}],
            },
        ]
    }
    assert to_messages_request(body, MODEL)["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "c", "name": "f", "input": {}},
        ],
    }


def test_tool_without_parameters_gets_empty_object_schema() -> None:
    tool = {"type": "function", "function": {"name": "now"}}
    assert to_messages_request(_request(tools=[tool]), MODEL)["tools"] == [
        {"name": "now", "input_schema": {"type": "object", "properties": {}}}
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        ({"type": "function", "function": {"name": "get_weather"}}, {"type": "tool", "name": "get_weather"}),
    ],
)
def test_tool_choice_mapping(choice: Any, expected: dict[str, Any]) -> None:
    out = to_messages_request(_request(tools=[WEATHER_TOOL], tool_choice=choice), MODEL)
    assert out["tool_choice"] == expected


def test_parallel_tool_calls_false_disables_parallel_use() -> None:
    out = to_messages_request(_request(tools=[WEATHER_TOOL], tool_choice="required", parallel_tool_calls=False), MODEL)
    assert out["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    out = to_messages_request(_request(tools=[WEATHER_TOOL], parallel_tool_calls=False), MODEL)
    assert out["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    out = to_messages_request(_request(tools=[WEATHER_TOOL], parallel_tool_calls=True), MODEL)
    assert "tool_choice" not in out


def test_tool_choice_without_tools_is_dropped() -> None:
    out = to_messages_request(_request(tool_choice="auto"), MODEL)
    assert "tool_choice" not in out and "tools" not in out


def test_invalid_tool_choice_and_non_function_tool_rejected() -> None:
    with pytest.raises(TranslationError, match="tool_choice"):
        to_messages_request(_request(tools=[WEATHER_TOOL], tool_choice="sometimes"), MODEL)
    with pytest.raises(TranslationError, match="function tools"):
        to_messages_request(_request(tools=[{"type": "web_search"}]), MODEL)


def test_invalid_tool_arguments_raise_translation_error() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{city:"},
                    }
                ],
            },
        ]
    }
    with pytest.raises(TranslationError, match=r"messages\[1\].*'get_weather'.*invalid JSON arguments"):
        to_messages_request(body, MODEL)


@pytest.mark.parametrize("arguments", ["[1]", "5", 5, [], [1], True, 1.5])
def test_non_object_tool_arguments_rejected(arguments: Any) -> None:
    """A number, a list or a boolean (not a string) was refused with Python's own words ("a bytes-like object is
    required, not 'int'"), and an empty list became no arguments (faults round 25)."""
    body = {
        "messages": [
            {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": arguments}}]}
        ]
    }
    with pytest.raises(TranslationError, match="arguments must be a JSON object") as raised:
        to_messages_request(body, MODEL)
    assert "bytes-like" not in str(raised.value)


@pytest.mark.parametrize("arguments", ["", None, "{}"])
def test_no_tool_arguments_are_an_empty_input(arguments: Any) -> None:
    body = {
        "messages": [
            {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": arguments}}]}
        ]
    }
    assert to_messages_request(body, MODEL)["messages"][0]["content"][0]["input"] == {}


def test_tool_message_requires_tool_call_id() -> None:
    body = {"messages": [{"role": "tool", "content": "x"}]}
    with pytest.raises(TranslationError, match="tool_call_id"):
        to_messages_request(body, MODEL)


def test_empty_tool_result_omits_content() -> None:
    body = {"messages": [{"role": "tool", "tool_call_id": "call_9", "content": ""}]}
    assert to_messages_request(body, MODEL)["messages"] == [
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_9"}]}
    ]


def test_sampling_and_misc_params() -> None:
    out = to_messages_request(
        _request(
            max_tokens=50,
            temperature=0.3,
            top_p=0.9,
            stop="END",
            stream=True,
            user="user-42",
            presence_penalty=0.5,
            frequency_penalty=0.5,
            logit_bias={"1": 2},
            seed=7,
            stream_options={"include_usage": True},
            n=1,
        ),
        MODEL,
    )
    assert out == {
        "model": MODEL,
        "max_tokens": 50,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "temperature": 0.3,
        "top_p": 0.9,
        "stop_sequences": ["END"],
        "stream": True,
        "metadata": {"user_id": "user-42"},
    }


_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def test_a_response_format_is_a_forced_answer_tool() -> None:
    """Anthropic has no JSON mode: response_format was dropped, and the answer was prose."""
    as_object = to_messages_request(_request(response_format={"type": "json_object"}), MODEL)
    assert as_object["tool_choice"] == {"type": "tool", "name": JSON_ANSWER_TOOL}
    assert as_object["tools"][0]["input_schema"] == {"type": "object"}
    fmt = {"type": "json_schema", "json_schema": {"name": "place", "description": "A city.", "schema": _SCHEMA}}
    (tool,) = to_messages_request(_request(response_format=fmt), MODEL)["tools"]
    assert tool["name"] == JSON_ANSWER_TOOL and tool["input_schema"] == _SCHEMA and "A city." in tool["description"]
    with pytest.raises(TranslationError, match="schema of an object"):
        to_messages_request(_request(response_format={"type": "json_schema", "json_schema": {"schema": []}}), MODEL)
    tools = [{"type": "function", "function": {"name": "f"}}]  # the request's own tools: nothing forced
    own = to_messages_request(_request(response_format={"type": "json_object"}, tools=tools), MODEL)
    assert [t["name"] for t in own["tools"]] == ["f"] and "tool_choice" not in own
    assert "tools" not in to_messages_request(_request(response_format={"type": "text"}), MODEL)


def test_the_answer_tools_input_is_the_answers_text() -> None:
    tool_use = {"type": "tool_use", "id": "t", "name": JSON_ANSWER_TOOL, "input": {"city": "Paris"}}
    answer = {"id": "msg_1", "content": [tool_use], "stop_reason": "tool_use", "usage": {}}
    choice = from_messages_response(answer, MODEL, json_answer=True)["choices"][0]
    assert choice["message"]["content"] == '{"city": "Paris"}' and "tool_calls" not in choice["message"]
    assert choice["finish_reason"] == "stop"
    assert from_messages_response(answer, MODEL)["choices"][0]["finish_reason"] == "tool_calls"  # not asked: a call


def test_max_completion_tokens_wins_and_stop_list() -> None:
    out = to_messages_request(_request(max_tokens=10, max_completion_tokens=20, stop=["a", "b"]), MODEL)
    assert out["max_tokens"] == 20
    assert out["stop_sequences"] == ["a", "b"]


def test_temperature_clamped_to_anthropic_range() -> None:
    assert to_messages_request(_request(temperature=1.7), MODEL)["temperature"] == 1.0


def test_stream_false_is_omitted() -> None:
    assert "stream" not in to_messages_request(_request(stream=False), MODEL)


def test_n_greater_than_one_rejected() -> None:
    with pytest.raises(TranslationError, match=r"Anthropic does not support n > 1"):
        to_messages_request(_request(n=2), MODEL)


@pytest.mark.parametrize("value", [0, -5, "100", 1.5])
def test_bad_max_tokens_rejected(value: Any) -> None:
    with pytest.raises(TranslationError, match="max_tokens"):
        to_messages_request(_request(max_tokens=value), MODEL)


@pytest.mark.parametrize(
    "body",
    [{}, {"messages": []}, {"messages": "hi"}, {"messages": [{"role": "function", "content": "x"}]}],
)
def test_malformed_messages_rejected(body: dict[str, Any]) -> None:
    with pytest.raises(TranslationError):
        to_messages_request(body, MODEL)


def test_translation_error_is_a_value_error() -> None:
    assert issubclass(TranslationError, ValueError)


# ------------------------------------------------------------- from_messages_response


def _anthropic_message(content: list[dict[str, Any]], stop_reason: str | None = "end_turn", **usage: int) -> dict:
    return {
        "id": "msg_01ABC",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5, **usage},
    }


def test_text_response() -> None:
    resp = _anthropic_message([{"type": "text", "text": "Hello "}, {"type": "text", "text": "world"}])
    out = from_messages_response(resp, "my-alias")
    assert isinstance(out.pop("created"), int)
    assert out == {
        "id": "chatcmpl-msg_01ABC",
        "object": "chat.completion",
        "model": "my-alias",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello world", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }


def test_tool_use_response() -> None:
    resp = _anthropic_message(
        [
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}},
        ],
        stop_reason="tool_use",
    )
    choice = from_messages_response(resp, "m")["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"] == {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "tool_calls": [
            {
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            },
            {"id": "toolu_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
        ],
    }


def test_text_plus_tool_use_keeps_text() -> None:
    resp = _anthropic_message(
        [
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}},
        ],
        stop_reason="tool_use",
    )
    message = from_messages_response(resp, "m")["choices"][0]["message"]
    assert message["content"] == "Checking."
    assert message["thinking_blocks"] == [{"type": "thinking", "thinking": "hmm", "signature": "sig"}]
    assert message["tool_calls"][0]["function"] == {"name": "f", "arguments": '{"a": 1}'}


def test_empty_content_gives_empty_string() -> None:
    message = from_messages_response(_anthropic_message([], "max_tokens"), "m")["choices"][0]["message"]
    assert message == {"role": "assistant", "content": "", "refusal": None}


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "pause_turn"),  # round 18: read as "stop", a turn to go on was cached as a whole answer
        ("model_context_window_exceeded", "length"),
        ("something_new", "something_new"),
        (None, None),
    ],
)
def test_stop_reason_mapping(stop_reason: str | None, finish_reason: str | None) -> None:
    resp = _anthropic_message([{"type": "text", "text": "x"}], stop_reason)
    assert from_messages_response(resp, "m")["choices"][0]["finish_reason"] == finish_reason


def test_usage_includes_cache_tokens_in_prompt_tokens() -> None:
    resp = _anthropic_message(
        [{"type": "text", "text": "x"}], cache_read_input_tokens=1000, cache_creation_input_tokens=200
    )
    assert from_messages_response(resp, "m")["usage"] == {
        "prompt_tokens": 1210,
        "completion_tokens": 5,
        "total_tokens": 1215,
        # cache_creation_tokens is Helix's own: /v1/messages clients get cache_creation_input_tokens back.
        "prompt_tokens_details": {"cached_tokens": 1000, "cache_creation_tokens": 200},
    }


def test_usage_tolerates_null_cache_fields() -> None:
    resp = _anthropic_message(
        [{"type": "text", "text": "x"}], cache_read_input_tokens=None, cache_creation_input_tokens=None
    )
    assert from_messages_response(resp, "m")["usage"]["prompt_tokens"] == 10


# ----------------------------------------------------------------------- streaming


def _text_and_tool_stream() -> list[tuple[str, dict[str, Any]]]:
    def block_delta(index: int, delta: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})

    return [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_stream1",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": "claude-sonnet-4-5-20250929",
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": 25,
                        "output_tokens": 1,
                        "cache_read_input_tokens": 100,
                        "cache_creation_input_tokens": 0,
                    },
                },
            },
        ),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        ("ping", {"type": "ping"}),
        block_delta(0, {"type": "text_delta", "text": "Let me "}),
        block_delta(0, {"type": "text_delta", "text": "check."}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "tool_use", "id": "toolu_A", "name": "get_weather", "input": {}},
            },
        ),
        block_delta(1, {"type": "input_json_delta", "partial_json": ""}),
        block_delta(1, {"type": "input_json_delta", "partial_json": '{"city": '}),
        block_delta(1, {"type": "input_json_delta", "partial_json": '"Paris"}'}),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 2,
                "content_block": {"type": "tool_use", "id": "toolu_B", "name": "get_time", "input": {}},
            },
        ),
        block_delta(2, {"type": "input_json_delta", "partial_json": "{}"}),
        ("content_block_stop", {"type": "content_block_stop", "index": 2}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": 42},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


def _run(translator: StreamTranslator, events: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [chunk for event, data in events for chunk in translator.feed(event, data)]


def _choice_chunk(translator: StreamTranslator, delta: dict[str, Any], finish: str | None = None) -> dict:
    return {
        "id": "chatcmpl-msg_stream1",
        "object": "chat.completion.chunk",
        "created": translator.created,
        "model": "alias",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


EXPECTED_USAGE = {
    "prompt_tokens": 125,
    "completion_tokens": 42,
    "total_tokens": 167,
    "prompt_tokens_details": {"cached_tokens": 100},
}


def test_full_stream_without_usage_chunk() -> None:
    translator = StreamTranslator("alias", include_usage=False)
    chunks = _run(translator, _text_and_tool_stream())
    tool_a = {
        "index": 0,
        "id": "toolu_A",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    tool_b = {
        "index": 1,
        "id": "toolu_B",
        "type": "function",
        "function": {"name": "get_time", "arguments": ""},
    }
    assert chunks == [
        _choice_chunk(translator, {"role": "assistant", "content": ""}),
        _choice_chunk(translator, {"content": "Let me "}),
        _choice_chunk(translator, {"content": "check."}),
        _choice_chunk(translator, {"tool_calls": [tool_a]}),
        _choice_chunk(translator, {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
        _choice_chunk(translator, {"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
        _choice_chunk(translator, {"tool_calls": [tool_b]}),
        _choice_chunk(translator, {"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]}),
        _choice_chunk(translator, {}, "tool_calls"),
    ]
    assert translator.usage == EXPECTED_USAGE


def test_full_stream_with_usage_chunk() -> None:
    translator = StreamTranslator("alias", include_usage=True)
    chunks = _run(translator, _text_and_tool_stream())
    assert all(chunk["usage"] is None for chunk in chunks[:-1])
    assert chunks[-1] == {
        "id": "chatcmpl-msg_stream1",
        "object": "chat.completion.chunk",
        "created": translator.created,
        "model": "alias",
        "choices": [],
        "usage": EXPECTED_USAGE,
    }
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert len(chunks) == 10
    assert translator.usage == EXPECTED_USAGE


def test_all_chunks_share_id_and_created() -> None:
    translator = StreamTranslator("alias", include_usage=True)
    chunks = _run(translator, _text_and_tool_stream())
    assert {c["id"] for c in chunks} == {"chatcmpl-msg_stream1"}
    assert {c["created"] for c in chunks} == {translator.created}


def test_reassembled_tool_arguments_are_valid_json() -> None:
    chunks = _run(StreamTranslator("alias", include_usage=False), _text_and_tool_stream())
    arguments: dict[int, str] = {}
    for chunk in chunks:
        for call in chunk["choices"][0]["delta"].get("tool_calls", []):
            arguments[call["index"]] = arguments.get(call["index"], "") + call["function"]["arguments"]
    assert {i: json.loads(a) for i, a in arguments.items()} == {0: {"city": "Paris"}, 1: {}}


def test_ping_and_block_stop_produce_nothing() -> None:
    translator = StreamTranslator("alias", include_usage=False)
    assert translator.feed("ping", {"type": "ping"}) == []
    assert translator.feed("some_future_event", {"type": "some_future_event"}) == []
    assert translator.usage is None
    translator.feed("message_start", {"type": "message_start", "message": {"id": "m", "usage": {}}})
    translator.feed("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {}})
    assert translator.feed("content_block_stop", {"type": "content_block_stop", "index": 0}) == []


def test_message_delta_usage_overrides_cumulative_fields() -> None:
    translator = StreamTranslator("alias", include_usage=False)
    translator.feed("message_start", {"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 5}}})
    translator.feed(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "max_tokens"},
            "usage": {"output_tokens": 9, "input_tokens": 7, "cache_read_input_tokens": None},
        },
    )
    assert translator.usage == {
        "prompt_tokens": 7,
        "completion_tokens": 9,
        "total_tokens": 16,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


def test_a_stream_stopped_without_its_stop_reason_is_not_made_to_finish() -> None:
    """Round 18: read as "stop", such a stream was cached as a whole answer."""
    translator = StreamTranslator("alias", include_usage=False)
    translator.feed("message_start", {"type": "message_start", "message": {"id": "m", "usage": {}}})
    assert translator.feed("message_stop", {"type": "message_stop"}) == []


def test_thinking_blocks_ride_along_apart_from_the_content() -> None:
    """Thinking is no chat content, but /v1/messages clients must get the signed blocks back."""
    translator = StreamTranslator("alias", include_usage=False)
    translator.feed("message_start", {"type": "message_start", "message": {"id": "m", "usage": {}}})
    start = {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}}
    signature = {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "s"}}
    deltas = [
        c["choices"][0]["delta"]
        for event in (start, delta, signature)
        for c in translator.feed(event["type"], event)  # type: ignore[arg-type]
    ]
    assert deltas == [
        {"role": "assistant", "content": ""},  # held from message_start until the answer's first piece
        {"thinking_blocks": [{"index": 0, "type": "thinking", "thinking": ""}]},
        {"thinking_blocks": [{"index": 0, "thinking": "hm"}]},
        {"thinking_blocks": [{"index": 0, "signature": "s"}]},
    ]
    assert all("content" not in d for d in deltas[1:])


def test_an_error_right_after_message_start_comes_before_any_chunk() -> None:
    """Round 18: the role's chunk went out at message_start, so an overload or a rate limit right after it (as
    Anthropic sends them) was an error inside a stream already begun (a 200), never the client's status."""
    translator = StreamTranslator("alias", include_usage=False)
    assert translator.feed("message_start", {"type": "message_start", "message": {"id": "m", "usage": {}}}) == []
    error = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
    with pytest.raises(UpstreamStreamError) as info:
        translator.feed("error", error)
    assert info.value.status == 429


def test_error_event_raises() -> None:
    translator = StreamTranslator("alias", include_usage=False)
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with pytest.raises(UpstreamStreamError) as info:
        translator.feed("error", error)
    assert info.value.message == "Overloaded"
    assert info.value.type == "overloaded_error"
    assert str(info.value) == "Overloaded"


# -------------------------------------------------------------------------- errors


def test_translate_error_anthropic_shape() -> None:
    body = {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
        "request_id": "req_1",
    }
    assert translate_error(400, body) == ("invalid_request_error", "max_tokens: Field required")


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (529, None, ("overloaded_error", "Anthropic returned HTTP 529")),
        (429, {"unexpected": True}, ("rate_limit_error", "Anthropic returned HTTP 429")),
        (401, {"message": "bad key"}, ("authentication_error", "bad key")),
        (418, {"error": "teapot"}, ("invalid_request_error", "teapot")),
        (502, {"error": {"message": "bad gateway"}}, ("api_error", "bad gateway")),
    ],
)
def test_translate_error_fallbacks(status: int, body: dict | None, expected: tuple[str, str]) -> None:
    assert translate_error(status, body) == expected


# ------------------------------------------------------------------- fake upstream


def test_fake_upstream_echo_round_trip() -> None:
    request = to_messages_request(_request(messages=[{"role": "user", "content": "hello there"}]), MODEL)
    message = from_messages_response(fake_messages_response(request), "alias")
    assert message["choices"][0]["message"]["content"] == "echo: hello there"
    assert message["choices"][0]["finish_reason"] == "stop"

    translator = StreamTranslator("alias", include_usage=True)
    chunks = _run(translator, fake_messages_stream({**request, "stream": True}))
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "echo: hello there"
    assert sum(1 for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")) > 2
    assert chunks[-1]["usage"] == message["usage"]


def test_fake_upstream_tool_call_round_trip() -> None:
    body = _request(messages=[{"role": "user", "content": "What's the weather?"}], tools=[WEATHER_TOOL])
    request = to_messages_request(body, MODEL)
    message = from_messages_response(fake_messages_response(request), "alias")["choices"][0]
    assert message["finish_reason"] == "tool_calls"
    assert message["message"]["content"] is None
    assert message["message"]["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
    }

    chunks = _run(StreamTranslator("alias", include_usage=False), fake_messages_stream(request))
    calls = [call for c in chunks for call in c["choices"][0]["delta"].get("tool_calls", [])]
    assert calls[0]["function"]["name"] == "get_weather"
    assert json.loads("".join(call["function"]["arguments"] for call in calls)) == {"city": "Paris"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("empty", ["", [], [{"type": "text", "text": ""}]], ids=["string", "no parts", "empty part"])
def test_an_empty_user_turn_is_refused_not_dropped(empty: object) -> None:
    """Dropped, it left the assistant's turn last: Anthropic continued it as a prefill, and that fragment was the
    answer, and was cached (faults round 16)."""
    body = {
        "model": "claude-x",
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "Hello! How"},
            {"role": "user", "content": empty},
        ],
    }
    with pytest.raises(TranslationError, match=r"messages\[2\]: a user message without content"):
        to_messages_request(body, "claude-x")

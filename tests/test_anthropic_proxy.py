"""Anthropic through the chat-completions interface: the openai SDK -> Helix -> a fake Messages API."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import pytest

from tests.conftest import Helix
from tests.fake_upstream import FakeState

MODEL = "anthropic/claude-3-5-haiku-latest"


def test_anthropic_round_trip(helix: Helix, fake: FakeState) -> None:
    raw = helix.client().chat.completions.with_raw_response.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "what is up"},
        ],
        max_tokens=50,
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo: what is up"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    assert raw.headers["x-helix-provider"] == "anthropic"
    (sent,) = fake.calls("/v1/messages")
    assert sent.headers["x-api-key"] == "sk-ant-test" and "authorization" not in sent.headers
    assert sent.headers["anthropic-version"]
    assert sent.body["system"] == "be brief"
    assert sent.body["model"] == "claude-3-5-haiku-latest" and sent.body["max_tokens"] == 50
    assert [m["role"] for m in sent.body["messages"]] == ["user", "assistant", "user"]
    (row,) = helix.rows("SELECT provider, model, cost_usd, prompt_tokens FROM requests")
    assert (row["provider"], row["model"]) == ("anthropic", "claude-3-5-haiku-latest")
    assert row["cost_usd"] > 0 and row["prompt_tokens"] == completion.usage.prompt_tokens


def test_anthropic_tool_call_round_trip(helix: Helix, fake: FakeState) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    completion = helix.client().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "what is the weather?"}], tools=tools
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    assert fake.calls("/v1/messages")[0].body["tools"][0]["input_schema"]["properties"] == {"city": {"type": "string"}}


def test_anthropic_streaming(helix: Helix, fake: FakeState) -> None:
    stream = helix.client().chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "stream this answer please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: stream this answer please"
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) >= 5
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    (row,) = helix.rows("SELECT stream, status, completion_tokens, cost_usd FROM requests")
    assert row["stream"] == 1 and row["status"] == 200
    assert row["completion_tokens"] == chunks[-1].usage.completion_tokens and row["cost_usd"] > 0


def test_anthropic_streaming_tool_call(helix: Helix, fake: FakeState) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    chunks = list(
        helix.client().chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "weather please"}], tools=tools, stream=True
        )
    )
    arguments = "".join(
        c.choices[0].delta.tool_calls[0].function.arguments or ""
        for c in chunks
        if c.choices and c.choices[0].delta.tool_calls
    )
    assert json.loads(arguments) == {"city": "Paris"}
    assert all(c.choices for c in chunks)


def test_anthropic_upstream_error_is_passed_on(helix: Helix, fake: FakeState) -> None:
    import httpx

    response = httpx.post(
        f"{helix.url}/v1/chat/completions",
        json={"model": "anthropic/fail-429", "messages": [{"role": "user", "content": "x"}]},
    )
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["provider"] == "anthropic" and error["type"] == "api_error"
    assert "fake upstream failure 429" in error["message"]


def test_a_json_schema_answer_from_anthropic_is_json_text_streamed_or_not(helix: Helix, fake: FakeState) -> None:
    """Anthropic has no JSON mode: the schema was dropped and the answer came back as prose. It is a forced tool
    whose input is the answer's text, whole or streamed."""
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    fmt: Any = {"type": "json_schema", "json_schema": {"name": "place", "schema": schema}}
    question = [{"role": "user", "content": "which city has the Louvre? (no cache)"}]
    completion = helix.client().chat.completions.create(model=MODEL, messages=question, response_format=fmt)
    choice = completion.choices[0]
    assert json.loads(choice.message.content or "") == {"city": "Paris"} and not choice.message.tool_calls
    assert choice.finish_reason == "stop"
    sent = fake.calls("/v1/messages")[-1].body
    assert sent["tool_choice"]["type"] == "tool" and sent["tools"][0]["input_schema"] == schema
    stream = helix.client().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "which city, streamed?"}], response_format=fmt, stream=True
    )
    chunks = [c for c in stream if c.choices]
    assert json.loads("".join(c.choices[0].delta.content or "" for c in chunks)) == {"city": "Paris"}
    assert chunks[-1].choices[0].finish_reason == "stop" and not any(c.choices[0].delta.tool_calls for c in chunks)


def test_an_anthropic_client_reaches_an_openai_reasoning_model(helix: Helix, fake: FakeState) -> None:
    """OpenAI's reasoning models refuse `max_tokens`: an Anthropic client's limit was sent under that name and every
    request to o3-mini was a 400. Other models keep the name every OpenAI-compatible server knows."""
    client = anthropic.Anthropic(base_url=helix.url, api_key="x", max_retries=0, timeout=30)
    for model, limit in (("o3-mini", "max_completion_tokens"), ("gpt-4o-mini", "max_tokens")):
        message = client.messages.create(model=model, max_tokens=20, messages=[{"role": "user", "content": "hi"}])
        assert message.content[0].type == "text" and message.content[0].text == "echo: hi"
        sent = fake.calls("/v1/chat/completions")[-1].body
        assert sent[limit] == 20 and {"max_tokens", "max_completion_tokens"} & sent.keys() == {limit}


@pytest.mark.parametrize("reason", ["pause_turn", None, "something_new"])
@pytest.mark.parametrize("stream", [False, True])
def test_an_anthropic_answer_not_stopped_at_a_turns_end_is_passed_on_as_it_stopped_and_not_cached(
    helix: Helix, fake: FakeState, reason: str | None, stream: bool
) -> None:
    """Round 18: pause_turn (the client sends the turn back to go on), no stop reason and an unknown one were read as
    "stop": each answer was cached as a whole one and given to /v1/messages clients as end_turn."""
    body = {
        "model": f"anthropic/stop-{reason or 'null'}",
        "max_tokens": 20,
        "messages": [{"role": "user", "content": f"go on {reason} {stream}"}],
        "stream": stream,
    }
    for _ in range(2):
        with httpx.stream(
            "POST", helix.url + "/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"}, timeout=30
        ) as response:
            assert response.status_code == 200 and response.headers["x-helix-cache"] == "MISS"
            text = response.read().decode()
        if stream:
            stops = [
                json.loads(line[5:])["delta"]["stop_reason"]
                for line in text.splitlines()
                if "message_delta" in line and line.startswith("data:")
            ]
        else:
            stops = [json.loads(text)["stop_reason"]]
        assert stops == [reason if reason == "pause_turn" else None if reason is None else "end_turn"]
    assert len(fake.calls("/v1/messages")) == 2

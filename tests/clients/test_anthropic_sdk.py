"""The Anthropic SDK pointed at Helix (`base_url` only changed): /v1/messages and count_tokens, routed to
Anthropic as sent, or translated for an OpenAI-compatible provider."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from tests.clients.conftest import EMAIL
from tests.conftest import Helix, add_key
from tests.fake_anthropic import THOUGHT
from tests.fake_upstream import FakeState

CLAUDE = "anthropic/claude-3-5-haiku-latest"
TOOLS: list[Any] = [
    {
        "name": "get_weather",
        "description": "Weather in a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]
PNG = base64.b64encode(Path(__file__).with_name("pixel.png").read_bytes()).decode()


def client(helix: Helix, api_key: str = "anything", **headers: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=helix.url, api_key=api_key, max_retries=0, timeout=30, default_headers=headers or None
    )


def test_plain_message_reaches_anthropic_as_sent(helix: Helix, fake: FakeState) -> None:
    system: Any = [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}]
    message = client(helix).messages.create(
        model=CLAUDE,
        max_tokens=64,
        system=system,
        extra_body={"top_k": 5},
        messages=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "what is up"},
        ],
    )
    assert message.content[0].type == "text" and message.content[0].text == "echo: what is up"
    assert message.stop_reason == "end_turn" and message.role == "assistant" and message.model == CLAUDE
    assert message.id.startswith("msg_") and message.usage.output_tokens > 0 and message.usage.input_tokens > 0
    assert message._request_id == "req_fake_anthropic"
    (sent,) = fake.calls("/v1/messages")
    # No translation: Anthropic-only fields (cache_control, top_k) arrive untouched.
    assert sent.body["system"] == system and sent.body["top_k"] == 5
    assert sent.body["model"] == "claude-3-5-haiku-latest" and sent.body["max_tokens"] == 64
    assert sent.headers["x-api-key"] == "sk-ant-test"
    (row,) = helix.rows("SELECT endpoint, provider, status, cost_usd, completion_tokens FROM requests")
    assert (row["endpoint"], row["provider"], row["status"]) == ("messages", "anthropic", 200)
    assert row["cost_usd"] > 0 and row["completion_tokens"] == message.usage.output_tokens


def test_streamed_message_has_anthropics_events(helix: Helix, fake: FakeState) -> None:
    with client(helix).messages.stream(
        model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": "stream me"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "echo: stream me"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0
    raw = httpx.post(
        f"{helix.url}/v1/messages",
        json={"model": CLAUDE, "max_tokens": 64, "stream": True, "messages": [{"role": "user", "content": "raw"}]},
        timeout=30,
    )
    events = [line.split(": ", 1)[1] for line in raw.text.splitlines() if line.startswith("event: ")]
    assert events[0] == "message_start" and events[-2:] == ["message_delta", "message_stop"]
    assert {"content_block_start", "content_block_delta", "content_block_stop"} <= set(events)
    assert "data: [DONE]" not in raw.text and '"usage":null' not in raw.text


def test_tool_use_and_tool_result_round_trip(helix: Helix, fake: FakeState) -> None:
    c = client(helix)
    first = c.messages.create(
        model=CLAUDE, max_tokens=64, tools=TOOLS, messages=[{"role": "user", "content": "what is the weather?"}]
    )
    assert first.stop_reason == "tool_use"
    (use,) = [b for b in first.content if b.type == "tool_use"]
    assert use.name == "get_weather" and use.input == {"city": "Paris"}
    with c.messages.stream(
        model=CLAUDE, max_tokens=64, tools=TOOLS, messages=[{"role": "user", "content": "weather in Paris?"}]
    ) as stream:
        streamed = stream.get_final_message()
    assert [b.type for b in streamed.content] == ["tool_use"] and streamed.content[0].input == {"city": "Paris"}
    second = c.messages.create(
        model=CLAUDE,
        max_tokens=64,
        tools=TOOLS,
        messages=[
            {"role": "user", "content": "what is the weather?"},
            {"role": "assistant", "content": [use.model_dump()]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]},
        ],
    )
    assert second.content[0].text == "echo: sunny"
    sent = fake.calls("/v1/messages")[-1].body
    assert sent["messages"][2]["content"][0] == {"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}


def test_translated_for_an_openai_provider(helix: Helix, fake: FakeState) -> None:
    c = client(helix)
    message = c.messages.create(
        model="openai/gpt-4o-mini",
        max_tokens=32,
        system="be brief",
        stop_sequences=["END"],
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                    {"type": "text", "text": "what is this"},
                ],
            }
        ],
    )
    assert message.content[0].text.endswith(" what is this") and message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message._request_id == "req_fake_openai"
    (sent,) = fake.calls("/v1/chat/completions")
    assert sent.body["messages"][0] == {"role": "system", "content": "be brief"}
    assert sent.body["messages"][1]["content"][0] == {
        "type": "image_url",
        "image_url": {"url": f"data:image/png;base64,{PNG}"},
    }
    assert sent.body["stop"] == ["END"] and sent.body["max_tokens"] == 32 and sent.body["model"] == "gpt-4o-mini"
    with c.messages.stream(
        model="openai/gpt-4o-mini", max_tokens=32, messages=[{"role": "user", "content": "stream it"}]
    ) as stream:
        assert "".join(stream.text_stream) == "echo: stream it"
        final = stream.get_final_message()
    assert final.usage.output_tokens > 0 and final.usage.input_tokens > 0
    # Helix asked the stream for usage to cost it.
    assert fake.calls("/v1/chat/completions")[-1].body["stream_options"] == {"include_usage": True}
    rows = helix.rows("SELECT endpoint, provider, prompt_tokens FROM requests ORDER BY ts")
    assert [(r["endpoint"], r["provider"]) for r in rows] == [("messages", "openai")] * 2
    assert all(r["prompt_tokens"] > 0 for r in rows)


def test_tool_results_become_tool_messages_for_openai(helix: Helix, fake: FakeState) -> None:
    client(helix).messages.create(
        model="openai/gpt-4o-mini",
        max_tokens=32,
        tools=TOOLS,
        tool_choice={"type": "any"},
        messages=[
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "checking"},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "cold"}]},
                    {"type": "text", "text": "and tomorrow?"},
                ],
            },
        ],
    )
    sent = fake.calls("/v1/chat/completions")[0].body
    assert sent["messages"][1]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"city": "Oslo"}'}
    assert sent["messages"][2] == {"role": "tool", "tool_call_id": "toolu_1", "content": "cold"}
    assert sent["messages"][3] == {"role": "user", "content": "and tomorrow?"}
    assert sent["tools"][0]["function"]["parameters"] == TOOLS[0]["input_schema"]
    assert sent["tool_choice"] == "required"


def test_cached_like_chat(helix: Helix, fake: FakeState) -> None:
    c = client(helix)
    ask: dict[str, Any] = {"model": CLAUDE, "max_tokens": 64, "messages": [{"role": "user", "content": "cache me"}]}
    first = c.messages.with_raw_response.create(**ask)
    second = c.messages.with_raw_response.create(**ask)
    assert first.headers["x-helix-cache"] == "MISS" and second.headers["x-helix-cache"] == "HIT-EXACT"
    assert second.parse().content[0].text == "echo: cache me" and len(fake.calls("/v1/messages")) == 1
    with c.messages.stream(**ask) as stream:
        assert "".join(stream.text_stream) == "echo: cache me"
        assert stream.get_final_message().usage.output_tokens > 0
    assert len(fake.calls("/v1/messages")) == 1


def test_pii_is_redacted_before_anthropic_sees_it(helix: Helix, fake: FakeState) -> None:
    client(helix).messages.create(
        model=CLAUDE,
        max_tokens=64,
        system="the user is jane.doe@example.com",
        messages=[{"role": "user", "content": [{"type": "text", "text": "mail me at jane.doe@example.com"}]}],
    )
    (sent,) = fake.calls("/v1/messages")
    assert "jane.doe@example.com" not in str(sent.body)
    assert helix.rows("SELECT entity_type FROM pii_incidents")[0]["entity_type"] == "EMAIL_ADDRESS"


def test_helix_keys_as_x_api_key_or_bearer(helix: Helix, fake: FakeState) -> None:
    secret = add_key(helix, "claude-code")
    ask: dict[str, Any] = {"model": CLAUDE, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    assert client(helix, api_key=secret).messages.create(**ask).content[0].text == "echo: hi"
    bearer = anthropic.Anthropic(base_url=helix.url, auth_token=secret, max_retries=0)
    assert bearer.messages.create(**ask).content[0].text == "echo: hi"
    with pytest.raises(anthropic.AuthenticationError) as refused:
        client(helix, api_key="sk-ant-not-a-helix-key").messages.create(**ask)
    assert refused.value.body["type"] == "error"  # type: ignore[index]
    assert refused.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    assert "sk-ant-test" not in str(fake.calls("/v1/messages")[0].headers.get("authorization"))
    with pytest.raises(anthropic.BadRequestError) as bad:
        client(helix, api_key=secret).messages.create(model=CLAUDE, max_tokens=16, messages=[])
    assert bad.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]


def test_count_tokens(helix: Helix, fake: FakeState) -> None:
    c = client(helix)
    messages: Any = [{"role": "user", "content": "count these four words"}]
    counted = c.messages.count_tokens(model=CLAUDE, system="sys", messages=messages)
    assert counted.input_tokens == 4 + 1 + 3  # the fake's count: words, system, 3
    assert fake.calls("/v1/messages/count_tokens")[0].body["model"] == "claude-3-5-haiku-latest"
    estimated = c.messages.count_tokens(model="openai/gpt-4o-mini", messages=messages)
    assert 3 <= estimated.input_tokens <= 12 and not fake.calls("/v1/chat/completions")


def test_beta_headers_are_forwarded(helix: Helix, fake: FakeState) -> None:
    c = client(helix, **{"anthropic-beta": "prompt-caching-2024-07-31"})
    c.messages.create(model=CLAUDE, max_tokens=16, messages=[{"role": "user", "content": "beta"}])
    sent = fake.calls("/v1/messages")[0].headers
    assert sent["anthropic-beta"] == "prompt-caching-2024-07-31" and sent["anthropic-version"]


def test_claude_code_style_request(helix: Helix, fake: FakeState) -> None:
    """What Claude Code sends with ANTHROPIC_BASE_URL: a bare model name (the default provider is openai
    here), `?beta=true`, betas, cached system blocks, thinking, a long metadata.user_id, a stream."""
    body = {
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 32000,
        "stream": True,
        "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "metadata": {"user_id": "user_" + "a" * 300},
        "tools": [{**TOOLS[0], "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "fix the bug"}]}],
    }
    headers = {
        "x-api-key": "sk-ant-whatever",
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "claude-code-20250219",
    }
    raw = httpx.post(f"{helix.url}/v1/messages?beta=true", json=body, headers=headers, timeout=30)
    assert raw.status_code == 200 and raw.headers["x-helix-provider"] == "anthropic"
    data = [json.loads(line[6:]) for line in raw.text.splitlines() if line.startswith("data: ")]
    assert (
        "".join(d["delta"].get("text", "") for d in data if d["type"] == "content_block_delta") == "echo: fix the bug"
    )
    (sent,) = fake.calls("/v1/messages")
    assert sent.body["thinking"] == body["thinking"] and sent.body["model"] == "claude-sonnet-4-5-20250929"
    assert sent.headers["anthropic-beta"] == "claude-code-20250219"


def test_thinking_blocks_come_back_live_and_from_the_cache(helix: Helix, fake: FakeState) -> None:
    c = client(helix)
    thinking: Any = {"type": "enabled", "budget_tokens": 1024}
    plain = c.messages.create(
        model=CLAUDE, max_tokens=2048, thinking=thinking, messages=[{"role": "user", "content": "think it over"}]
    )
    assert [block.type for block in plain.content] == ["thinking", "text"]
    assert plain.content[0].thinking == THOUGHT and plain.content[0].signature.startswith("sig_")  # type: ignore[union-attr]
    finals = []
    for expected in ("MISS", "HIT-EXACT"):  # from the provider, then replayed from the cache
        with c.messages.stream(
            model=CLAUDE, max_tokens=2048, thinking=thinking, messages=[{"role": "user", "content": "think again"}]
        ) as stream:
            assert stream.response.headers["x-helix-cache"] == expected
            finals.append(stream.get_final_message())
    assert finals[0].content == finals[1].content and [b.type for b in finals[0].content] == ["thinking", "text"]
    signature = finals[0].content[0].signature  # type: ignore[union-attr]
    assert signature.startswith("sig_") and len(fake.calls("/v1/messages")) == 2
    # The next turn sends the signed block back, as Anthropic requires with thinking on.
    c.messages.create(
        model=CLAUDE,
        max_tokens=2048,
        thinking=thinking,
        messages=[
            {"role": "user", "content": "think again"},
            {"role": "assistant", "content": [b.model_dump() for b in finals[1].content]},
            {"role": "user", "content": "and now?"},
        ],
    )
    sent = fake.calls("/v1/messages")[-1].body["messages"][1]["content"]
    assert sent[0] == {"type": "thinking", "thinking": THOUGHT, "signature": signature}


def test_chat_clients_can_send_thinking_back(helix: Helix, fake: FakeState) -> None:
    block = {"type": "thinking", "thinking": "hm", "signature": "sig_1"}
    body = {
        "model": CLAUDE,
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "a", "thinking_blocks": [block]},
            {"role": "user", "content": "q2"},
        ],
    }
    answer = httpx.post(f"{helix.url}/v1/chat/completions", json=body, timeout=30)
    assert answer.status_code == 200
    assert fake.calls("/v1/messages")[0].body["messages"][1]["content"] == [block, {"type": "text", "text": "a"}]


def test_pseudonyms_come_back_in_messages(pseudonymizing: Helix, fake: FakeState) -> None:
    c = client(pseudonymizing)
    for model in (CLAUDE, "openai/gpt-4o-mini"):
        ask: Any = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": f"to {EMAIL}"}]}
        assert c.messages.create(**ask).content[0].text == f"echo: to {EMAIL}"  # type: ignore[union-attr]
        with c.messages.stream(**{**ask, "messages": [{"role": "user", "content": f"cc {EMAIL}"}]}) as stream:
            assert "".join(stream.text_stream) == f"echo: cc {EMAIL}"
    assert fake.requests and all(EMAIL not in json.dumps(r.body) for r in fake.requests)


def test_provider_errors_in_anthropics_shape(helix: Helix, fake: FakeState) -> None:
    c = client(helix)
    ask: Any = {"max_tokens": 16, "messages": [{"role": "user", "content": "x"}]}
    with pytest.raises(anthropic.RateLimitError) as limited:
        c.messages.create(model="anthropic/fail-429", **ask)
    assert limited.value.response.headers["retry-after"] == "7"
    assert limited.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    with pytest.raises(anthropic.APIStatusError) as failed:
        c.messages.create(model="openai/fail-500", **ask)
    # a provider's 500 is its failure, not Helix's: a 502 (tests/test_upstream_faults.py)
    assert failed.value.status_code == 502 and failed.value.body["type"] == "error"  # type: ignore[index]
    # A stream that breaks after it started ends with Anthropic's error event, which the SDK raises.
    with pytest.raises(anthropic.APIStatusError), c.messages.stream(model="openai/drop-stream", **ask) as stream:
        "".join(stream.text_stream)


def test_models_for_the_anthropic_sdk(helix: Helix, fake: FakeState) -> None:
    secret = add_key(helix, "lister")
    c = client(helix, api_key=secret)
    ids = [model.id for model in c.models.list()]
    assert "openai/gpt-4o" in ids
    model = c.models.retrieve("openai/gpt-4o")
    assert (model.id, model.type) == ("openai/gpt-4o", "model")

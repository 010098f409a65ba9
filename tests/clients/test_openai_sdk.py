"""The openai SDK pointed at Helix: the Responses API, legacy completions, models.retrieve, and streams
that look the same whether they came from the provider or from the cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.clients.conftest import EMAIL
from tests.conftest import Helix, start_helix
from tests.fake_upstream import MODEL_WRITTEN_PII, FakeState, ServerThread

CLAUDE = "anthropic/claude-3-5-haiku-latest"
WEATHER: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def sse_chunks(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]


# ---------------------------------------------------------------- Responses API


def test_responses_pass_through_to_openai(helix: Helix, fake: FakeState) -> None:
    client = helix.client()
    raw = client.responses.with_raw_response.create(
        model="gpt-4o-mini", input="hello there", instructions="be brief", previous_response_id="resp_earlier"
    )
    response = raw.parse()
    assert response.output_text == "echo: hello there" and response.id == "resp_fake11"
    assert response._request_id == "req_fake_openai" and raw.headers["x-helix-request-id"].startswith("req_")
    (sent,) = fake.calls("/v1/responses")
    assert sent.body == {
        "model": "gpt-4o-mini",
        "input": "hello there",
        "instructions": "be brief",
        "previous_response_id": "resp_earlier",
    }
    assert raw.headers["x-helix-cache"] == "BYPASS"  # the provider keeps this response: never replayed
    (row,) = helix.rows("SELECT endpoint, prompt_tokens, completion_tokens, cost_usd FROM requests")
    assert row["endpoint"] == "responses" and row["prompt_tokens"] == response.usage.input_tokens  # type: ignore[union-attr]
    assert row["completion_tokens"] > 0 and row["cost_usd"] > 0


def test_responses_stream_pass_through(helix: Helix, fake: FakeState) -> None:
    stream = helix.client().responses.create(model="gpt-4o-mini", input="stream please", stream=True)
    events = list(stream)
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "echo: stream please"
    (row,) = helix.rows("SELECT stream, prompt_tokens, completion_tokens FROM requests")
    assert row["stream"] == 1 and row["prompt_tokens"] > 0 and row["completion_tokens"] > 0


def test_responses_translated_for_anthropic(helix: Helix, fake: FakeState) -> None:
    client = helix.client()
    response = client.responses.create(
        model=CLAUDE,
        instructions="be brief",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "translated"}]}],
        max_output_tokens=50,
    )
    assert response.output_text == "echo: translated" and response.status == "completed"
    assert response.usage is not None and response.usage.output_tokens > 0
    sent = fake.calls("/v1/messages")[0].body
    assert sent["system"] == "be brief" and sent["max_tokens"] == 50
    with client.responses.stream(model=CLAUDE, input="streamed translation") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "echo: streamed translation" == final.output_text
    assert final.usage is not None and final.usage.input_tokens > 0


def test_responses_function_calls_translated(helix: Helix, fake: FakeState) -> None:
    client = helix.client()
    first = client.responses.create(model=CLAUDE, input="what is the weather?", tools=[WEATHER])
    (call,) = [item for item in first.output if item.type == "function_call"]
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    with client.responses.stream(model=CLAUDE, input="weather, streamed?", tools=[WEATHER]) as stream:
        streamed = stream.get_final_response()
    assert [item.type for item in streamed.output] == ["function_call"]
    second = client.responses.create(
        model=CLAUDE,
        tools=[WEATHER],
        input=[
            {"role": "user", "content": "what is the weather?"},
            {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
        ],
    )
    assert second.output_text == "echo: sunny"
    sent = fake.calls("/v1/messages")[-1].body
    assert sent["messages"][1]["content"][0]["type"] == "tool_use"
    assert sent["messages"][2]["content"][0] == {"type": "tool_result", "tool_use_id": call.call_id, "content": "sunny"}


def test_responses_without_server_state_say_so(helix: Helix, fake: FakeState) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        helix.client().responses.create(model=CLAUDE, input="again", previous_response_id="resp_1")
    assert "previous_response_id" in refused.value.message and not fake.calls("/v1/messages")


def test_translated_responses_are_cached(helix: Helix, fake: FakeState) -> None:
    client = helix.client()
    first = client.responses.with_raw_response.create(model=CLAUDE, input="cache this")
    second = client.responses.with_raw_response.create(model=CLAUDE, input="cache this")
    assert (first.headers["x-helix-cache"], second.headers["x-helix-cache"]) == ("MISS", "HIT-EXACT")
    assert second.parse().output_text == "echo: cache this" and len(fake.calls("/v1/messages")) == 1


# ----------------------------------------------------------- completions, models


def test_legacy_completions(helix: Helix, fake: FakeState) -> None:
    client = helix.client()
    completion = client.completions.create(model="gpt-4o-mini", prompt="Say this", max_tokens=8)
    assert completion.choices[0].text == " echo: Say this" and completion._request_id == "req_fake_openai"
    chunks = list(client.completions.create(model="gpt-4o-mini", prompt="streamed", stream=True))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == " echo: streamed"
    assert all(c.usage is None for c in chunks)
    rows = helix.rows("SELECT endpoint, completion_tokens FROM requests ORDER BY ts")
    assert [r["endpoint"] for r in rows] == ["completions", "completions"] and all(r["completion_tokens"] for r in rows)
    with pytest.raises(openai.BadRequestError) as refused:
        client.completions.create(model=CLAUDE, prompt="x")
    assert "legacy completions" in refused.value.message


def test_models_retrieve(helix: Helix, fake: FakeState) -> None:
    client = helix.client()
    assert client.models.retrieve("openai/gpt-4o").id == "openai/gpt-4o"
    assert client.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"  # a bare name of the default provider
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("openai/no-such-model")


# --------------------------------------------------------- faithful streams


def test_stream_replay_is_faithful(helix: Helix, fake: FakeState) -> None:
    ask = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "replay me"}],
        "stream": True,
        "logprobs": True,
    }
    live = httpx.post(f"{helix.url}/v1/chat/completions", json=ask, timeout=30)
    replay = httpx.post(f"{helix.url}/v1/chat/completions", json=ask, timeout=30)
    assert (live.headers["x-helix-cache"], replay.headers["x-helix-cache"]) == ("MISS", "HIT-EXACT")
    assert live.headers["x-request-id"] == "req_fake_stream" and "x-request-id" not in replay.headers
    for response in (live, replay):
        chunks = sse_chunks(response.text)
        assert all("usage" not in c for c in chunks)  # the client did not ask for usage
        assert {(c["system_fingerprint"], c["service_tier"]) for c in chunks} == {("fp_fake", "default")}
        tokens = [
            t["token"] for c in chunks for ch in c["choices"] for t in (ch.get("logprobs") or {}).get("content") or []
        ]
        assert "".join(tokens) == "echo: replay me"
        assert [ch["finish_reason"] for c in chunks for ch in c["choices"] if ch["finish_reason"]] == ["stop"]
    with_usage = httpx.post(
        f"{helix.url}/v1/chat/completions", json={**ask, "stream_options": {"include_usage": True}}, timeout=30
    )
    assert sse_chunks(with_usage.text)[-1]["usage"]["completion_tokens"] > 0


def test_stream_asks_upstream_for_usage_and_hides_it(helix: Helix, fake: FakeState) -> None:
    client = helix.client()
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "no usage"}], stream=True
        )
    )
    assert all(c.usage is None for c in chunks) and fake.calls("/v1/chat/completions")[0].body["stream_options"] == {
        "include_usage": True
    }
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "id please"}]
    )
    assert raw.parse()._request_id == "req_fake_openai" and raw.headers["x-helix-request-id"].startswith("req_")


def test_provider_headers_forwarded_per_config(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], fake: FakeState
) -> None:
    headers = {"OpenAI-Beta": "assistants=v2", "OpenAI-Organization": "org-x", "OpenAI-Project": "proj-y"}
    helix = start_helix(tmp_path, upstream[0].url)
    try:
        helix.client(default_headers=headers).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "h"}]
        )
    finally:
        helix.server.stop()
    sent = fake.calls("/v1/chat/completions")[0].headers
    assert sent["openai-beta"] == "assistants=v2" and "openai-organization" not in sent and "openai-project" not in sent
    fake.requests.clear()
    toml = f"""
[providers.org]
base_url = "{upstream[0].url}/v1"
api_key = "sk-org"
forward_headers = ["openai-organization", "OpenAI-Project"]
"""
    (tmp_path / "2").mkdir()
    helix = start_helix(tmp_path / "2", upstream[0].url, toml)
    try:
        helix.client(default_headers=headers).chat.completions.create(
            model="org/gpt-4o-mini", messages=[{"role": "user", "content": "h"}]
        )
    finally:
        helix.server.stop()
    sent = fake.calls("/v1/chat/completions")[0].headers
    assert (sent["openai-organization"], sent["openai-project"]) == ("org-x", "proj-y") and "openai-beta" not in sent


def test_pseudonyms_restored_in_passed_through_answers(pseudonymizing: Helix, fake: FakeState) -> None:
    client = pseudonymizing.client()
    response = client.responses.create(model="gpt-4o-mini", input=f"mail {EMAIL}")
    assert response.output_text == f"echo: mail {EMAIL}"
    events = list(client.responses.create(model="gpt-4o-mini", input=f"write {EMAIL}", stream=True))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == f"echo: write {EMAIL}"
    (done,) = [e for e in events if e.type == "response.output_text.done"]
    assert done.text == deltas and events[-1].response.output_text == deltas  # type: ignore[union-attr]
    text = client.completions.create(model="gpt-4o-mini", prompt=f"to {EMAIL}").choices[0].text
    assert text == f" echo: to {EMAIL}"
    chunks = client.completions.create(model="gpt-4o-mini", prompt=f"cc {EMAIL}", stream=True)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == f" echo: cc {EMAIL}"
    assert all(EMAIL not in json.dumps(r.body) for r in fake.requests)
    assert "<EMAIL_ADDRESS_1>" in fake.calls("/v1/responses")[0].body["input"]


def test_pii_the_model_wrote_is_scrubbed_in_passed_through_answers(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], fake: FakeState
) -> None:
    helix = start_helix(tmp_path, upstream[0].url, '[pii]\nscan_responses = "client"\n')
    try:
        client = helix.client()
        plain = client.responses.create(model="writes-pii", input="who owns it?")
        events = list(client.responses.create(model="writes-pii", input="who owns it, streamed?", stream=True))
    finally:
        helix.server.stop()
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    (done,) = [e for e in events if e.type == "response.output_text.done"]
    for text in (plain.output_text, deltas, done.text, events[-1].response.output_text):  # type: ignore[union-attr]
        assert "The owner is" in text
        assert not any(value in text for value in MODEL_WRITTEN_PII)

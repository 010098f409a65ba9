"""The OpenAI-compatible API end to end: the official SDK -> Helix -> a fake upstream on 127.0.0.1."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.conftest import Helix
from tests.fake_upstream import FakeState


def test_chat_completion_non_streaming(helix: Helix, fake: FakeState) -> None:
    client = helix.client()
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello there"}]
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo: hello there"
    assert completion.usage is not None and completion.usage.completion_tokens == 3
    assert raw.headers["x-helix-provider"] == "openai"
    assert raw.headers["x-helix-request-id"].startswith("req_")
    assert float(raw.headers["x-helix-cost-usd"]) > 0
    assert float(raw.headers["x-helix-overhead-ms"]) >= 0
    sent = fake.calls("/v1/chat/completions")
    assert len(sent) == 1
    assert sent[0].body["model"] == "gpt-4o-mini"
    assert sent[0].headers["authorization"] == "Bearer sk-test"  # the provider key, never the client's
    (row,) = helix.rows("SELECT * FROM requests")
    assert row["id"] == raw.headers["x-helix-request-id"]
    assert (row["provider"], row["model"], row["status"]) == ("openai", "gpt-4o-mini", 200)
    assert row["prompt_tokens"] == completion.usage.prompt_tokens
    assert row["cost_usd"] == pytest.approx(float(raw.headers["x-helix-cost-usd"]))
    assert row["latency_ms"] >= row["overhead_ms"] >= 0


def test_streaming_arrives_in_chunks_and_usage_is_recorded(helix: Helix, fake: FakeState) -> None:
    client = helix.client()
    stream = client.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "stream me a longer answer"}],
        stream=True,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: stream me a longer answer"
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) >= 5
    assert all(c.choices for c in chunks), "the usage chunk must not reach a client that did not ask for it"
    assert fake.calls("/v1/chat/completions")[0].body["stream_options"] == {"include_usage": True}
    (row,) = helix.rows("SELECT * FROM requests")
    assert row["stream"] == 1 and row["status"] == 200
    assert row["completion_tokens"] == 6 and row["cost_usd"] > 0
    assert row["ttft_ms"] is not None and row["ttft_ms"] <= row["latency_ms"]


@pytest.mark.parametrize("asks", [False, True], ids=["not-asked", "asked"])
def test_usage_on_a_finish_chunk_reaches_only_a_client_that_asked(helix: Helix, asks: bool) -> None:
    """A server that puts the usage on the finish chunk: a client that did not ask for it got it all the same."""
    body = {
        "model": "openai/gpt-4o-mini@usage-on-finish",
        "messages": [{"role": "user", "content": f"usage on the finish chunk {asks}"}],
        "stream": True,
        **({"stream_options": {"include_usage": True}} if asks else {}),
    }
    answer = httpx.post(f"{helix.url}/v1/chat/completions", json=body, timeout=30)
    events = [json.loads(line[6:]) for line in answer.text.splitlines() if line.startswith("data: {")]
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])
    assert text == f"echo: usage on the finish chunk {asks}" and answer.text.rstrip().endswith("data: [DONE]")
    assert [e["usage"]["completion_tokens"] for e in events if e.get("usage")] == ([7] if asks else [])
    (row,) = helix.rows("SELECT completion_tokens FROM requests")
    assert row["completion_tokens"] == 7  # costed either way


def test_a_server_that_refuses_stream_options_still_streams(helix: Helix, fake: FakeState) -> None:
    """Helix adds `stream_options` to every stream (to cost it); a server that rejects the parameter failed every
    stream over something the client never sent (faults round 13). Refused once, it is no longer sent."""
    client = helix.client()
    for n in range(2):
        question = [{"role": "user", "content": f"stream without usage {n}"}]
        chunks = list(client.chat.completions.create(model="no-stream-options", messages=question, stream=True))
        assert (
            "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == f"echo: stream without usage {n}"
        )
    sent = [call.body for call in fake.calls("/v1/chat/completions")]
    assert ["stream_options" in body for body in sent] == [True, False, False]
    rows = helix.rows("SELECT status FROM requests")
    assert [row["status"] for row in rows] == [200, 200]


def test_streaming_usage_when_the_client_asks(helix: Helix, fake: FakeState) -> None:
    stream = helix.client().chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 2


def test_embeddings(helix: Helix, fake: FakeState) -> None:
    result = helix.client().embeddings.create(model="text-embedding-3-small", input=["one", "two"])
    assert [item.index for item in result.data] == [0, 1]
    assert len(result.data[0].embedding) == 8
    (row,) = helix.rows("SELECT endpoint, prompt_tokens, cost_usd FROM requests")
    assert row["endpoint"] == "embeddings" and row["prompt_tokens"] == 2 and row["cost_usd"] > 0


def test_models_lists_provider_models_with_prefix(helix: Helix, fake: FakeState) -> None:
    ids = {m.id for m in helix.client().models.list()}
    assert {"openai/gpt-4o-mini", "openai/gpt-4o"} <= ids


def test_health(helix: Helix) -> None:
    assert httpx.get(f"{helix.url}/health").json()["status"] == "ok"
    ready = httpx.get(f"{helix.url}/health/ready")
    assert ready.status_code == 200 and "openai" in ready.json()["checks"]["providers"]


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        (b"{not json", 400, None),
        (b"", 400, None),
        (b"[1, 2]", 400, None),
        (b'{"messages": [{"role": "user", "content": "x"}]}', 400, "model"),
        (b'{"model": 5, "messages": []}', 400, "model"),
        (b'{"model": "gpt-4o-mini", "messages": "hello"}', 400, "messages"),
        (b'{"model": "gpt-4o-mini", "messages": []}', 400, "messages"),
        (
            b'{"model": "gpt-4o-mini", "messages": [{"role": "wizard", "content": "x"}]}',
            400,
            "messages[0].role",
        ),
        (
            b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}',
            400,
            "stream",
        ),
        (b'{"model": "nosuch/gpt-4o", "messages": [{"role": "user", "content": "x"}]}', 400, "model"),
    ],
)
def test_malformed_requests_get_openai_shaped_400s(
    helix: Helix, fake: FakeState, body: bytes, status: int, param: str | None
) -> None:
    response = httpx.post(
        f"{helix.url}/v1/chat/completions", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert "Traceback" not in response.text
    assert not fake.requests, "a malformed request must not reach the provider"
    (row,) = helix.rows("SELECT status, error_code FROM requests")
    assert row["status"] == status


def test_huge_body_is_refused_with_413(helix: Helix, fake: FakeState) -> None:
    huge = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "' + b"x" * (21 * 1024 * 1024) + b'"}]}'
    response = httpx.post(f"{helix.url}/v1/chat/completions", content=huge, timeout=30)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "413"
    assert not fake.requests


def test_unknown_route_is_openai_shaped_404(helix: Helix) -> None:
    response = httpx.post(f"{helix.url}/v1/completions-nope", json={})
    assert response.status_code == 404
    assert "/v1/chat/completions" in response.json()["error"]["message"]
    assert response.headers["x-helix-request-id"].startswith("req_")  # refused before routing, quotable all the same


@pytest.mark.parametrize(
    ("model", "status", "error_type", "said"),
    [
        # a provider's 500 is its failure, not Helix's: a 502 (test_upstream_faults)
        ("fail-500", 502, "server_error", "fake upstream failure 500 (the provider answered HTTP 500)"),
        ("fail-429", 429, "rate_limit_error", "fake upstream failure 429"),
    ],
)
def test_upstream_errors_are_passed_on(
    helix: Helix, fake: FakeState, model: str, status: int, error_type: str, said: str
) -> None:
    response = httpx.post(
        f"{helix.url}/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "x"}]},
    )
    assert response.status_code == status
    error = response.json()["error"]
    assert error["type"] == error_type and error["provider"] == "openai"
    assert error["message"] == f"openai: {said}"
    assert error["code"] == model.replace("fail-", "fake_")
    (row,) = helix.rows("SELECT status, provider FROM requests")
    assert (row["status"], row["provider"]) == (status, "openai")


def test_upstream_error_on_a_stream_keeps_its_status(helix: Helix, fake: FakeState) -> None:
    with pytest.raises(openai.InternalServerError) as raised:
        list(
            helix.client().chat.completions.create(
                model="fail-503", messages=[{"role": "user", "content": "x"}], stream=True
            )
        )
    assert raised.value.status_code == 503


def test_upstream_timeout_is_a_504(helix: Helix, fake: FakeState) -> None:
    response = httpx.post(
        f"{helix.url}/v1/chat/completions",
        timeout=30,
        json={"model": "slow-5", "messages": [{"role": "user", "content": "x"}]},
    )
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"


def test_upstream_refusing_connections_is_a_502(tmp_path, upstream) -> None:
    from tests.conftest import start_helix

    dead = start_helix(tmp_path, "http://127.0.0.1:9")  # nothing listens on the discard port
    try:
        response = httpx.post(
            f"{dead.url}/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]},
        )
        assert response.status_code == 502
        assert response.json()["error"]["code"] == "upstream_unreachable"
        assert "base_url" in response.json()["error"]["message"]
    finally:
        dead.server.stop()


def test_stream_cut_by_upstream_ends_with_an_error_event(helix: Helix, fake: FakeState) -> None:
    with pytest.raises(openai.APIError):
        list(
            helix.client().chat.completions.create(
                model="drop-stream",
                messages=[{"role": "user", "content": "a long enough prompt"}],
                stream=True,
            )
        )
    (row,) = helix.rows("SELECT status FROM requests")
    assert row["status"] >= 500

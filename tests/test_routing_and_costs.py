"""Routing (aliases, presets, default provider), costs, and streams that end early."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import start_helix
from tests.fake_upstream import FakeState, ServerThread

ALIASES = """
[models.fast]
target = "groq/llama-3.1-8b-instant"

[models.cheap]
target = "openai/gpt-4o-mini"

[pricing."openai/house-model"]
input = 1.0
output = 2.0
"""


@pytest.fixture
def routed(tmp_path: Path, upstream: tuple[ServerThread, FakeState]):
    env = {"GROQ_API_KEY": "gsk-env-key", "HELIX_PROVIDERS__GROQ__BASE_URL": f"{upstream[0].url}/v1"}
    instance = start_helix(tmp_path, upstream[0].url, ALIASES, env=env)
    yield instance
    instance.server.stop()


def test_alias_routes_to_its_target_with_the_preset_key_from_the_environment(routed, fake: FakeState) -> None:
    raw = routed.client().chat.completions.with_raw_response.create(
        model="fast", messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.headers["x-helix-provider"] == "groq"
    (sent,) = fake.calls("/v1/chat/completions")
    assert sent.body["model"] == "llama-3.1-8b-instant"
    assert sent.headers["authorization"] == "Bearer gsk-env-key"
    (row,) = routed.rows("SELECT model_requested, provider, model, cost_usd FROM requests")
    assert tuple(row) == ("fast", "groq", "llama-3.1-8b-instant", pytest.approx(row["cost_usd"]))
    assert row["cost_usd"] > 0


def test_models_lists_aliases(routed, fake: FakeState) -> None:
    ids = {m.id for m in routed.client().models.list()}
    assert {"fast", "cheap", "groq/gpt-4o-mini", "openai/gpt-4o-mini"} <= ids


def test_one_model_by_its_id_and_a_clear_error_for_an_unknown_or_absurd_one(routed, fake: FakeState) -> None:
    client = routed.client()
    assert client.models.retrieve("fast").id == "fast"
    with pytest.raises(openai.NotFoundError) as unknown:
        client.models.retrieve("no-such-model")
    assert unknown.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as absurd:
        client.models.retrieve("m" * 5000)
    assert absurd.value.code == "invalid_model" and len(absurd.value.message) < 200


def test_price_override_from_config(routed, fake: FakeState) -> None:
    completion = routed.client().chat.completions.create(
        model="openai/house-model", messages=[{"role": "user", "content": "hi"}]
    )
    usage = completion.usage
    (row,) = routed.rows("SELECT cost_usd FROM requests")
    assert row["cost_usd"] == pytest.approx((usage.prompt_tokens * 1.0 + usage.completion_tokens * 2.0) / 1e6)


def test_unknown_model_price_is_null_with_one_warning(routed, fake: FakeState, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="helix.pricing")
    for i in range(3):
        raw = routed.client().chat.completions.with_raw_response.create(
            model="mystery-model-9000", messages=[{"role": "user", "content": f"question number {i}"}]
        )
        assert raw.status_code == 200 and "x-helix-cost-usd" not in raw.headers
    rows = routed.rows("SELECT cost_usd, prompt_tokens FROM requests")
    assert [r["cost_usd"] for r in rows] == [None, None, None] and rows[0]["prompt_tokens"] > 0
    warnings = [r for r in caplog.records if "mystery-model-9000" in r.getMessage()]
    assert len(warnings) == 1


def test_provider_without_a_key_says_how_to_fix_it(routed, fake: FakeState) -> None:
    response = httpx.post(
        f"{routed.url}/v1/chat/completions",
        json={"model": "mistral/mistral-small", "messages": [{"role": "user", "content": "x"}]},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "provider_not_configured" and "MISTRAL_API_KEY" in error["message"]
    assert not fake.requests


def test_user_from_header_or_field_is_recorded(routed, fake: FakeState) -> None:
    client = routed.client()
    client.chat.completions.create(model="cheap", messages=[{"role": "user", "content": "a"}], user="bob")
    client.chat.completions.create(
        model="cheap", messages=[{"role": "user", "content": "b"}], extra_headers={"x-helix-user": "carol"}
    )
    stored = sorted(r["user"] for r in routed.rows("SELECT user FROM requests"))
    assert stored == sorted([routed.gateway.users.stored("bob"), routed.gateway.users.stored("carol")])
    assert all(user.startswith("u_") for user in stored)  # keyed hashes, never the ids as sent


def test_client_leaving_mid_stream_is_recorded_as_499(routed, fake: FakeState) -> None:
    body = {
        "model": "openai/slow-stream",
        "messages": [{"role": "user", "content": "a long answer please"}],
        "stream": True,
    }
    started = time.monotonic()
    with httpx.stream("POST", f"{routed.url}/v1/chat/completions", json=body, timeout=10) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data:"):
                break  # read one event, then hang up
    deadline = time.monotonic() + 5
    rows = []
    while time.monotonic() < deadline and not rows:
        rows = routed.rows("SELECT status, error_code, ttft_ms FROM requests")
        time.sleep(0.05)
    (row,) = rows
    assert (row["status"], row["error_code"]) == (499, "client_closed")
    assert row["ttft_ms"] is not None
    assert time.monotonic() - started < 3  # the full fake stream would take ~2 s more

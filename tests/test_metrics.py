"""/metrics through the real server, parsed by prometheus_client's own parser."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Helix, add_key, start_helix
from tests.fake_upstream import FakeState, ServerThread

ADMIN = "hxa-metrics-admin-key-0123456789"


def scrape(helix: Helix, headers: dict[str, str] | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{helix.url}/metrics", headers=headers or {}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def served(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> Iterator[Helix]:
    instance = start_helix(
        tmp_path,
        upstream[0].url,
        "[routing]\nbackoff = 0.01\nretries = 1\ncooldown_failures = 1\n"
        '[models.smart]\ntarget = "openai/fail-500"\nfallbacks = ["anthropic/claude-fake"]\n'
        '[pricing."openai/gpt-4o-mini"]\ninput = 1000.0\noutput = 1000.0\n'
        "[pii]\nenabled = true\n",
    )
    yield instance
    instance.server.stop()


def test_metrics_count_requests_tokens_cost_cache_retries_and_fallbacks(served: Helix, fake: FakeState) -> None:
    client = served.client()
    hi = [{"role": "user", "content": "write to jane.doe@example.com please"}]
    for _ in range(2):  # a miss, then an exact hit
        client.chat.completions.create(model="gpt-4o-mini", messages=hi)
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "s"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "echo: s"
    assert client.chat.completions.create(model="smart", messages=hi).choices[0].message.content
    assert (
        httpx.post(
            f"{served.url}/v1/chat/completions", json={"model": "fail-400", "messages": hi}, timeout=10
        ).status_code
        == 400
    )
    served.flush()

    samples = scrape(served)
    requests = "helix_requests_total"
    assert value(samples, requests, model="gpt-4o-mini", provider="openai", status="200", cache="MISS") == 2
    assert value(samples, requests, model="gpt-4o-mini", provider="openai", status="200", cache="HIT-EXACT") == 1
    assert value(samples, requests, model="smart", provider="anthropic", status="200", cache="MISS") == 1
    assert value(samples, requests, model="fail-400", provider="openai", status="400", cache="MISS") == 1
    assert value(samples, "helix_cache_hit_ratio") == pytest.approx(1 / 5)
    assert value(samples, "helix_tokens_total", provider="openai", direction="out") > 0
    assert value(samples, "helix_cost_usd_total", provider="openai") > 0
    assert value(samples, "helix_saved_usd_total") > 0
    assert value(samples, "helix_upstream_retries_total", deployment="openai/fail-500") == 0  # cooled after 1
    assert value(samples, "helix_fallbacks_total", model="smart", fallback="anthropic/claude-fake") == 1
    assert value(samples, "helix_cooldowns_total", deployment="openai/fail-500") == 1
    assert value(samples, "helix_deployment_state", deployment="openai/fail-500", state="cooling") == 1
    assert value(samples, "helix_deployment_state", deployment="anthropic/claude-fake", state="healthy") == 1
    assert value(samples, "helix_in_flight_requests") == 0
    assert value(samples, "helix_request_duration_seconds_count", provider="openai") >= 3
    assert value(samples, "helix_time_to_first_token_seconds_count", provider="openai") == 1
    assert value(samples, "helix_overhead_seconds_count") >= 4
    assert value(samples, "helix_pii_detections", type="EMAIL_ADDRESS") >= 2
    # Nothing the client wrote becomes a label.
    assert "jane.doe" not in httpx.get(f"{served.url}/metrics").text


def test_model_labels_are_bounded(served: Helix, fake: FakeState, monkeypatch: pytest.MonkeyPatch) -> None:
    served.gateway.metrics._model._limit = 3
    for i in range(6):
        served.client().chat.completions.create(model=f"m-{i}", messages=[{"role": "user", "content": "x"}])
    samples = scrape(served)
    models = {dict(labels).get("model") for (name, labels) in samples if name == "helix_requests_total"}
    assert models == {"m-0", "m-1", "m-2", "other"}


def test_metrics_need_the_admin_key_off_the_laptop(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> None:
    helix = start_helix(
        tmp_path,
        upstream[0].url,
        f'[auth]\nrequire_keys = true\nadmin_key = "{ADMIN}"\n'
        '[pricing."openai/gpt-4o-mini"]\ninput = 1.0\noutput = 1.0\n',
    )
    try:
        assert httpx.get(f"{helix.url}/metrics").status_code == 401
        secret = add_key(helix, "team", budget=5.0)
        assert httpx.get(f"{helix.url}/metrics", headers={"authorization": f"Bearer {secret}"}).status_code == 401
        helix.client(secret).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
        helix.flush()
        samples = scrape(helix, {"authorization": f"Bearer {ADMIN}"})
        remaining = value(samples, "helix_budget_remaining_usd", key="team")
        assert 4.99 < remaining < 5.0
    finally:
        helix.server.stop()


def test_clients_gone_before_their_answer_leave_nothing_in_flight(served: Helix, fake: FakeState) -> None:
    # The upstream never answers; each client gives up after 0.3 s, before a first byte (plain) or chunk (stream).
    for stream in (False, True, False):
        body = {"model": "hang", "messages": [{"role": "user", "content": "wait"}], "stream": stream}
        with pytest.raises(httpx.TimeoutException):
            httpx.post(
                f"{served.url}/v1/chat/completions", json=body, headers={"cache-control": "no-store"}, timeout=0.3
            )
    deadline = time.monotonic() + 10
    while value(scrape(served), "helix_in_flight_requests") != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    samples = scrape(served)
    assert value(samples, "helix_in_flight_requests") == 0
    assert value(samples, "helix_requests_total", model="hang", provider="openai", status="499", cache="MISS") == 3


def test_a_fallback_passed_over_untried_is_not_counted_as_taken(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], fake: FakeState
) -> None:
    """helix_fallbacks counted every group after the first as taken, also one the request was never sent to (its
    deployments too small for the prompt): dashboards showed fallbacks to a model that served nothing (round 22)."""
    instance = start_helix(
        tmp_path,
        upstream[0].url,
        "[routing]\nretries = 0\n"
        '[models.tiny]\ndeployments = [{ target = "openai/gpt-4o", max_input_tokens = 1 }]\n'
        '[models.chain]\ntarget = "openai/fail-500"\nfallbacks = ["tiny", "openai/gpt-4o-mini"]\n',
    )
    try:
        answer = instance.client().chat.completions.with_raw_response.create(
            model="chain", messages=[{"role": "user", "content": "a question longer than one token"}]
        )
        assert answer.headers["x-helix-model"] == "gpt-4o-mini"
        samples = scrape(instance)
        assert value(samples, "helix_fallbacks_total", model="chain", fallback="openai/gpt-4o-mini") == 1
        assert value(samples, "helix_fallbacks_total", model="chain", fallback="tiny") == 0
        assert fake.models().count("gpt-4o") == 0
    finally:
        instance.server.stop()

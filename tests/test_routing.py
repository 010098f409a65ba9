"""Deployments, retries, fallbacks, cooldowns and timeouts through the real server, against a fake upstream
that fails on purpose (500, 429 with Retry-After, 503 with retry-after-ms, hangs, resets, cut streams,
invalid JSON)."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from helix.config import load_config
from helix.errors import UpstreamTimeout
from helix.reload import reload
from tests.conftest import Helix, start_helix
from tests.fake_upstream import FakeState, ServerThread

NO_CACHE = {"cache-control": "no-cache, no-store"}


@pytest.fixture
def make(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> Iterator:
    started: list[Helix] = []

    def start(toml: str) -> Helix:
        instance = start_helix(tmp_path / f"h{len(started)}", upstream[0].url, toml)
        started.append(instance)
        return instance

    (tmp_path / "h0").mkdir()
    for i in range(1, 4):
        (tmp_path / f"h{i}").mkdir()
    yield start
    for instance in started:
        instance.server.stop()


def post(helix: Helix, model: str, headers: dict[str, str] | None = None, **extra: object) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hello there"}], **extra}
    return httpx.post(
        f"{helix.url}/v1/chat/completions", json=body, headers={**NO_CACHE, **(headers or {})}, timeout=30
    )


FAST_RETRIES = "[routing]\nbackoff = 0.01\nmax_backoff = 0.05\n"
_AUDIO = {"type": "input_audio", "input_audio": {"data": "UklGRiQAAABXQVZF", "format": "wav"}}


def test_a_transient_500_is_retried_until_it_succeeds(make, fake: FakeState) -> None:
    helix = make(FAST_RETRIES)
    response = post(helix, "flaky-2-500")
    assert response.status_code == 200
    assert response.headers["x-helix-attempts"] == "3"
    assert response.headers["x-helix-model"] == "flaky-2-500"
    assert response.headers["x-helix-provider"] == "openai"
    assert fake.models() == ["flaky-2-500"] * 3


def test_retries_stop_at_the_configured_number(make, fake: FakeState) -> None:
    helix = make(FAST_RETRIES + "retries = 1\n")
    response = post(helix, "fail-502")
    assert response.status_code == 502
    assert response.headers["x-helix-attempts"] == "2"
    assert response.json()["error"]["message"].startswith("openai: fake upstream failure 502")
    assert fake.models() == ["fail-502"] * 2
    (row,) = helix.rows("SELECT status, provider, model FROM requests")
    assert tuple(row) == (502, "openai", "fail-502")


@pytest.mark.parametrize(("model", "least"), [("flaky-1-429-800", 0.8), ("flaky-1-503-400", 0.4)])
def test_retry_after_and_retry_after_ms_are_waited_for(make, fake: FakeState, model: str, least: float) -> None:
    helix = make(FAST_RETRIES)
    began = time.perf_counter()
    response = post(helix, model)
    elapsed = time.perf_counter() - began
    assert response.status_code == 200 and response.headers["x-helix-attempts"] == "2"
    assert least <= elapsed < least + 1.5


def test_a_retry_after_longer_than_max_retry_wait_is_passed_on_not_waited(make, fake: FakeState) -> None:
    helix = make(FAST_RETRIES + "max_retry_wait = 2.0\n")
    began = time.perf_counter()
    response = post(helix, "fail-429")  # Retry-After: 7
    assert time.perf_counter() - began < 2
    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    assert response.headers["x-helix-attempts"] == "1"


@pytest.mark.parametrize("status", [400, 413, 422])
def test_a_client_fault_is_never_retried_nor_sent_to_a_fallback(make, fake: FakeState, status: int) -> None:
    helix = make(FAST_RETRIES + f'[models.m]\ntarget = "openai/fail-{status}"\nfallbacks = ["openai/gpt-4o-mini"]\n')
    response = post(helix, "m")
    assert response.status_code == status
    assert response.headers["x-helix-attempts"] == "1"
    assert fake.models() == [f"fail-{status}"]


@pytest.mark.parametrize("more", [{"n": 2}, {"messages": [{"role": "user", "content": [_AUDIO]}]}], ids=["n", "audio"])
def test_a_fallback_that_cannot_take_the_request_is_passed_over(make, fake: FakeState, more: dict[str, Any]) -> None:
    """The primary failed (a 500); its Anthropic fallback cannot take `n` > 1 or an audio part: the client got a 400
    blaming its request, which was fine where it was sent, and SDKs do not retry a 400 (faults round 13). It gets the
    primary's failure; the same request to the Anthropic model alone is still a 400 saying why."""
    helix = make('[routing]\nretries = 0\n[models.m]\ntarget = "openai/fail-500"\nfallbacks = ["anthropic/claude-x"]\n')
    response = post(helix, "m", **more)
    assert response.status_code == 502, response.text
    assert response.json()["error"]["message"].startswith("openai: fake upstream failure 500")
    assert response.headers["x-helix-attempts"] == "1" and fake.models() == ["fail-500"]
    alone = post(helix, "anthropic/claude-x", **more)
    assert alone.status_code == 400 and alone.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("fault", ["reset", "invalid-json", "fail-500", "fail-503", "fail-529", "fail-401"])
def test_a_failing_deployment_falls_back_in_order(make, fake: FakeState, fault: str) -> None:
    helix = make(
        FAST_RETRIES
        + "retries = 1\n"
        + f'[models.m]\ntarget = "openai/{fault}"\nfallbacks = ["openai/fail-502", "openai/gpt-4o-mini"]\n'
    )
    response = post(helix, "m")
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "echo: hello there"
    assert response.headers["x-helix-model"] == "gpt-4o-mini"
    # A refused key (401), or a 503 asking for more than max_retry_wait (Retry-After: 7), is not retried on
    # the same deployment; the others are, once.
    tries = 1 if fault in ("fail-401", "fail-503") else 2
    assert fake.models() == [fault] * tries + ["fail-502"] * 2 + ["gpt-4o-mini"]
    assert response.headers["x-helix-attempts"] == str(tries + 3)


def test_an_openai_deployment_falls_back_to_anthropic_translated(make, fake: FakeState) -> None:
    helix = make(
        FAST_RETRIES
        + "retries = 0\n"
        + '[models.smart]\ntarget = "openai/fail-500"\nfallbacks = ["anthropic/claude-fake"]\n'
        + '[pricing."anthropic/claude-fake"]\ninput = 1000.0\noutput = 2000.0\n'
        + '[pricing."openai/fail-500"]\ninput = 1.0\noutput = 1.0\n'
    )
    client = helix.client()
    raw = client.chat.completions.with_raw_response.create(
        model="smart", messages=[{"role": "user", "content": "hi claude"}], extra_headers=NO_CACHE
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo: hi claude"
    assert raw.headers["x-helix-provider"] == "anthropic" and raw.headers["x-helix-model"] == "claude-fake"
    assert raw.headers["x-helix-attempts"] == "2"
    assert [r.path for r in fake.requests] == ["/v1/chat/completions", "/v1/messages"]
    # Charged for the call that served: Anthropic's price, Anthropic's tokens.
    usage = completion.usage
    assert usage is not None
    expected = (usage.prompt_tokens * 1000.0 + usage.completion_tokens * 2000.0) / 1_000_000
    assert float(raw.headers["x-helix-cost-usd"]) == pytest.approx(expected)
    (row,) = helix.rows("SELECT provider, model, model_requested, cost_usd FROM requests")
    assert (row["provider"], row["model"], row["model_requested"]) == ("anthropic", "claude-fake", "smart")
    assert row["cost_usd"] == pytest.approx(expected)

    fake.requests.clear()
    stream = client.chat.completions.create(
        model="smart", messages=[{"role": "user", "content": "stream it"}], stream=True, extra_headers=NO_CACHE
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "echo: stream it"


def test_no_retry_after_the_first_streamed_chunk(make, fake: FakeState) -> None:
    helix = make(FAST_RETRIES + '[models.m]\ntarget = "openai/drop-stream"\nfallbacks = ["openai/gpt-4o-mini"]\n')
    body = {"model": "m", "messages": [{"role": "user", "content": "tell me"}], "stream": True}
    with httpx.stream("POST", f"{helix.url}/v1/chat/completions", json=body, headers=NO_CACHE, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["x-helix-attempts"] == "1"
        text = response.read().decode()
    events = [line.removeprefix("data: ") for line in text.split("\n\n") if line]
    assert '"choices"' in events[0] and '"error"' in events[-1]
    assert fake.models() == ["drop-stream"]


@pytest.mark.parametrize("n", [1, 2])
def test_a_stream_cut_before_its_end_is_an_error_not_a_short_answer(make, fake: FakeState, n: int) -> None:
    """With n = 2, a stream cut after the first choice's finish was passed on as whole (a helper's find)."""
    helix = make("")
    with pytest.raises(openai.APIError, match="ended before the answer was finished"):
        for _ in helix.client().chat.completions.create(
            model="truncated-sse", messages=[{"role": "user", "content": "x"}], stream=True, n=n
        ):
            pass
    assert fake.models() == ["truncated-sse"]


def test_a_stream_that_fails_before_its_first_chunk_is_retried(make, fake: FakeState) -> None:
    helix = make(FAST_RETRIES)
    stream = helix.client().chat.completions.create(
        model="flaky-1-503", messages=[{"role": "user", "content": "again"}], stream=True, extra_headers=NO_CACHE
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "echo: again"
    assert fake.models() == ["flaky-1-503"] * 2


def test_a_hanging_deployment_times_out_and_the_next_one_serves(make, fake: FakeState) -> None:
    helix = make(
        FAST_RETRIES
        + "retries = 0\n"
        + '[models.m]\ndeployments = [{ target = "openai/hang", first_token_timeout = 0.3 }]\n'
        + 'fallbacks = ["openai/gpt-4o-mini"]\n'
    )
    began = time.perf_counter()
    stream = helix.client().chat.completions.create(
        model="m", messages=[{"role": "user", "content": "wait"}], stream=True, extra_headers=NO_CACHE
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "echo: wait"
    assert time.perf_counter() - began < 2
    assert fake.models() == ["hang", "gpt-4o-mini"]


def test_x_helix_timeout_bounds_the_request_with_a_504(make, fake: FakeState) -> None:
    helix = make(FAST_RETRIES)
    began = time.perf_counter()
    response = post(helix, "hang", headers={"x-helix-timeout": "0.5"})
    elapsed = time.perf_counter() - began
    assert response.status_code == 504 and 0.5 <= elapsed < 2
    error = response.json()["error"]
    assert error["code"] == "upstream_timeout" and error["type"] == "upstream_error"
    assert post(helix, "gpt-4o-mini", headers={"x-helix-timeout": "soon"}).status_code == 400


def test_a_request_that_spent_its_deadline_waiting_is_not_sent(make, fake: FakeState) -> None:
    """A review of faults round 26: the deadline counts from the request's arrival, and one that a budget's wait or
    the same request in flight had used up still sent an attempt with a negative time limit, whose timeout counted
    against the deployment (three of them cooled a healthy one). It is refused before anything is sent now."""
    helix = make(FAST_RETRIES + "deadline = 2.0\n")
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "late"}]}).encode()
    for i in range(4):
        call = helix.gateway.parse("chat", body, {}, f"waited-{i}")
        call.started -= 2.5  # arrived 2.5 s ago, spent waiting before it was routed
        with pytest.raises(UpstreamTimeout) as timed_out:
            helix.server.run(helix.gateway.router(call))
        assert "[routing] deadline" in timed_out.value.message
    assert fake.calls("/v1/chat/completions") == []
    assert post(helix, "gpt-4o-mini").status_code == 200  # not cooled


def test_a_deployment_that_refuses_connections_fails_over(make, fake: FakeState) -> None:
    helix = make(
        FAST_RETRIES
        + "retries = 0\n"
        + "[models.m]\ndeployments = [\n"
        + '  { target = "openai/gpt-4o-mini", base_url = "http://127.0.0.1:1/v1", weight = 1000 },\n'
        + '  { target = "openai/gpt-4o", weight = 0.001 },\n]\n'
    )
    response = post(helix, "m")
    assert response.status_code == 200 and response.headers["x-helix-model"] == "gpt-4o"
    assert response.headers["x-helix-attempts"] == "2"
    deployments = httpx.get(f"{helix.url}/health/ready").json()["deployments"]
    assert set(deployments) == {"openai/gpt-4o-mini", "openai/gpt-4o"}


def _spread(helix: Helix, model: str, n: int) -> None:
    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(8) as pool:

        def one(_: int) -> int:
            body = {"model": model, "messages": [{"role": "user", "content": "x"}]}
            return client.post(f"{helix.url}/v1/chat/completions", json=body, headers=NO_CACHE).status_code

        assert set(pool.map(one, range(n))) == {200}


def test_weighted_balancing_follows_the_weights_over_1000_requests(make, fake: FakeState) -> None:
    helix = make(
        '[models.m]\ndeployments = [{ target = "openai/w-a", weight = 3 }, { target = "openai/w-b", weight = 1 }]\n'
    )
    _spread(helix, "m", 1000)
    counts = Counter(fake.models())
    assert counts["w-a"] + counts["w-b"] == 1000
    # 750 expected; the binomial's standard deviation is ~14: 5 sigma either side.
    assert 680 <= counts["w-a"] <= 820, counts


def test_least_latency_prefers_the_faster_deployment(make, fake: FakeState) -> None:
    helix = make(
        '[routing]\nstrategy = "least-latency"\n'
        '[models.m]\ndeployments = [{ target = "openai/slow-0.15" }, { target = "openai/quick" }]\n'
    )
    for _ in range(30):
        assert post(helix, "m").status_code == 200
    counts = Counter(fake.models())
    assert counts["quick"] >= 25, counts


def test_a_failing_deployment_is_cooled_down_then_probed_back(make, fake: FakeState) -> None:
    helix = make(
        "[routing]\nretries = 0\ncooldown_failures = 2\ncooldown = 4.0\n"
        '[models.m]\ndeployments = [{ target = "openai/dep-a", weight = 1000 }, { target = "openai/dep-b" }]\n'
    )
    fake.broken["dep-a"] = 500
    try:
        began = time.monotonic()
        for _ in range(12):
            response = post(helix, "m")
            assert response.status_code == 200 and response.headers["x-helix-model"] == "dep-b"
        assert time.monotonic() - began < 4.0, "too slow to see the cooldown"
        assert fake.models().count("dep-a") == 2  # then it was left out
        state = httpx.get(f"{helix.url}/health/ready").json()["deployments"]
        assert state["openai/dep-a"]["state"] == "cooling" and state["openai/dep-b"]["state"] == "healthy"
        assert state["openai/dep-a"]["cooldowns"] == 1
    finally:
        del fake.broken["dep-a"]
    time.sleep(state["openai/dep-a"]["back_in_seconds"] + 0.1)
    served = Counter(post(helix, "m").headers["x-helix-model"] for _ in range(40))
    assert served["dep-a"] >= 35, served  # the probe succeeded: back to taking (nearly) all the traffic
    assert httpx.get(f"{helix.url}/health/ready").json()["deployments"]["openai/dep-a"]["state"] == "healthy"


def test_a_probe_that_tells_nothing_leaves_the_next_request_to_probe(make, fake: FakeState) -> None:
    """A probe answered with the client's own error (or whose client left) said nothing of the deployment, and it
    stayed out of rotation until a restart, waiting for a probe that never reported (a helper's find)."""
    helix = make(
        "[routing]\nretries = 0\ncooldown_failures = 2\ncooldown = 1.0\n"
        '[models.m]\ndeployments = [{ target = "openai/dep-a", weight = 1000 }, { target = "openai/dep-b" }]\n'
    )
    fake.broken["dep-a"] = 500
    try:
        while httpx.get(f"{helix.url}/health/ready").json()["deployments"]["openai/dep-a"]["state"] != "cooling":
            assert post(helix, "m").headers["x-helix-model"] == "dep-b"
        fake.broken["dep-a"] = 400
        state = httpx.get(f"{helix.url}/health/ready").json()["deployments"]["openai/dep-a"]
        time.sleep(state["back_in_seconds"] + 0.1)
        assert post(helix, "m").status_code == 400  # the probe: the client's fault, passed on
    finally:
        del fake.broken["dep-a"]
    served = Counter(post(helix, "m").headers["x-helix-model"] for _ in range(10))
    assert served["dep-a"] >= 8, served  # the next request probed, and it is back
    assert httpx.get(f"{helix.url}/health/ready").json()["deployments"]["openai/dep-a"]["state"] == "healthy"


def test_a_deployment_whose_streams_break_off_mid_way_is_cooled_down(make, fake: FakeState) -> None:
    """Streams that fail after their first chunk were never counted against their deployment: it stayed healthy,
    and under least-latency (its first chunk comes fast) got nearly all the streams, failing each."""
    helix = make(
        '[routing]\nretries = 0\ncooldown_failures = 2\ncooldown = 30.0\nstrategy = "least-latency"\n'
        '[models.m]\ndeployments = [{ target = "openai/drop-stream" }, { target = "openai/slow-0.15" }]\n'
    )
    body = {"model": "m", "messages": [{"role": "user", "content": "tell me"}], "stream": True}
    for i in range(12):
        body["messages"][0]["content"] = f"tell me {i}"
        with httpx.stream("POST", f"{helix.url}/v1/chat/completions", json=body, headers=NO_CACHE, timeout=30) as r:
            r.read()
    assert fake.models().count("drop-stream") <= 3, Counter(fake.models())
    state = httpx.get(f"{helix.url}/health/ready").json()["deployments"]
    assert state["openai/drop-stream"]["state"] == "cooling" and state["openai/drop-stream"]["cooldowns"] == 1
    assert state["openai/slow-0.15"]["state"] == "healthy"


def test_a_429_cools_a_deployment_for_its_retry_after(make, fake: FakeState) -> None:
    helix = make(
        "[routing]\nretries = 0\ncooldown = 0.1\n"
        '[models.m]\ndeployments = [{ target = "openai/fail-429", weight = 1000 }, { target = "openai/dep-b" }]\n'
    )
    began = time.monotonic()
    for _ in range(10):
        assert post(helix, "m").headers["x-helix-model"] == "dep-b"
    assert fake.models().count("fail-429") == 1
    state = httpx.get(f"{helix.url}/health/ready").json()["deployments"]["openai/fail-429"]
    # Cooled for its Retry-After (7 s), not [routing] cooldown (0.1 s), counted from the 429 (within `began`).
    assert state["state"] == "cooling" and 7 - (time.monotonic() - began) - 0.1 <= state["back_in_seconds"] <= 7


def test_a_prompt_too_long_for_a_deployment_goes_to_one_that_takes_it(make, fake: FakeState) -> None:
    helix = make(
        '[models.m]\ndeployments = [{ target = "openai/small", max_input_tokens = 50, weight = 1000 }]\n'
        'fallbacks = ["big"]\n[models.big]\ntarget = "openai/large"\nmax_input_tokens = 100000\n'
    )
    assert post(helix, "m").headers["x-helix-model"] == "small"
    long = post(helix, "m", messages=[{"role": "user", "content": "word " * 500}])
    assert long.status_code == 200 and long.headers["x-helix-model"] == "large"
    assert fake.models() == ["small", "large"]


def test_a_client_gone_while_helix_waits_to_retry_is_not_charged(make, fake: FakeState) -> None:
    """The only attempt failed (a 500, not billed); the client left while Helix waited to retry and was charged the
    whole estimate, as if a provider had been answering (faults round 22). Nothing was at a provider: nothing to pay."""
    priced = '[pricing."openai/fail-500"]\ninput = 1000.0\noutput = 1000.0\n'
    helix = make("[routing]\nretries = 2\nbackoff = 3\nmax_backoff = 3\n" + priced)
    body = {"model": "openai/fail-500", "messages": [{"role": "user", "content": "hello"}]}
    with pytest.raises(httpx.TimeoutException):  # the client gives up a second into the 3 s wait
        httpx.post(f"{helix.url}/v1/chat/completions", json=body, timeout=1.0)
    deadline = time.monotonic() + 10
    while not (rows := helix.rows("SELECT status, cost_usd FROM requests")) and time.monotonic() < deadline:
        time.sleep(0.1)
        helix.flush()
    assert [(r["status"], r["cost_usd"]) for r in rows] == [(499, None)]
    assert fake.models() == ["fail-500"]  # one attempt, failed, then the wait the client did not see the end of


def test_an_error_type_or_code_that_is_no_word_is_not_kept(make, fake: FakeState) -> None:
    """A provider's error type and code were stored as they came (faults round 23): one that echoed the request put an
    address, a name and a card into the log row's error code, which `helix logs` and the dashboard show."""
    helix = make(FAST_RETRIES)
    response = post(helix, "openai/error-echo")
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "upstream_error" and error["code"] is None
    helix.flush()
    (row,) = helix.rows("SELECT error_code FROM requests")
    assert row["error_code"] == "upstream_error"


def test_a_prompt_too_long_for_a_provider_that_gives_no_code_goes_to_the_fallback(make, fake: FakeState) -> None:
    """Anthropic says "prompt is too long" with no code: it went to the client as a 400, where OpenAI's
    context_length_exceeded went to the fallback (faults round 22)."""
    helix = make(FAST_RETRIES + '[models.m]\ntarget = "anthropic/too-long"\nfallbacks = ["openai/gpt-4o-mini"]\n')
    response = post(helix, "m")
    assert response.status_code == 200 and response.headers["x-helix-model"] == "gpt-4o-mini", response.text
    assert fake.models() == ["too-long", "gpt-4o-mini"]
    alone = post(helix, "anthropic/too-long")  # no fallback: the client's answer, with the code it can match
    assert alone.status_code == 400 and alone.json()["error"]["code"] == "context_length_exceeded"
    assert "prompt is too long" in alone.json()["error"]["message"]


def test_a_content_policy_refusal_goes_to_the_fallback_once(make, fake: FakeState) -> None:
    helix = make(FAST_RETRIES + '[models.m]\ntarget = "openai/content-filter"\nfallbacks = ["openai/gpt-4o-mini"]\n')
    response = post(helix, "m")
    assert response.status_code == 200 and response.headers["x-helix-model"] == "gpt-4o-mini"
    assert fake.models() == ["content-filter", "gpt-4o-mini"]
    # Without a fallback, the refusal is the client's answer, not retried.
    alone = post(helix, "content-filter")
    assert alone.status_code == 400 and alone.json()["error"]["code"] == "content_filter"
    assert fake.models().count("content-filter") == 2


def test_an_alias_deployment_s_own_key_stays_with_the_alias(make, fake: FakeState) -> None:
    # The alias sends openai/gpt-4o-mini with a key (and a timeout) of its own; a client naming openai/gpt-4o-mini
    # directly, or a fallback naming it, is sent with the provider's key and the [upstream] timeouts.
    helix = make(
        '[models.eu]\ndeployments = [{ target = "openai/gpt-4o-mini", api_key = "sk-eu-only", timeout = 30 }]\n'
        '[models.other]\ndeployments = [{ target = "openai/flaky-9-500" }]\nfallbacks = ["openai/gpt-4o-mini"]\n'
        "[routing]\nretries = 0\n"
    )

    def key_sent(model: str) -> str:
        before = len(fake.requests)
        assert post(helix, model).status_code == 200
        return fake.requests[-1].headers["authorization"] if len(fake.requests) > before else "nothing sent"

    assert key_sent("eu") == "Bearer sk-eu-only"
    assert key_sent("openai/gpt-4o-mini") == "Bearer sk-test"
    assert key_sent("gpt-4o-mini") == "Bearer sk-test"
    assert key_sent("other") == "Bearer sk-test"
    assert key_sent("eu") == "Bearer sk-eu-only"
    deployments = httpx.get(f"{helix.url}/health/ready").json()["deployments"]
    assert {"openai/gpt-4o-mini", "openai/gpt-4o-mini#2"} <= set(deployments)


def test_a_cooling_primary_is_tried_when_its_fallback_cannot_take_the_request(make, fake: FakeState) -> None:
    """The primary is cooling down, its Anthropic fallback cannot take `n` > 1: the client got a 400 blaming its
    request though nothing was tried (faults round 13). The primary is tried as a last group's would be."""
    helix = make(
        "[routing]\nretries = 0\ncooldown_failures = 1\ncooldown = 60.0\n"
        '[models.m]\ntarget = "openai/flaky-1-500"\nfallbacks = ["anthropic/claude-x"]\n'
    )
    first = post(helix, "m")  # the primary's 500 cools it; the fallback serves
    assert first.status_code == 200 and first.headers["x-helix-provider"] == "anthropic"
    state = httpx.get(f"{helix.url}/health/ready").json()["deployments"]["openai/flaky-1-500"]
    assert state["state"] == "cooling"
    response = post(helix, "m", n=2)
    assert response.status_code == 200, response.text
    assert response.headers["x-helix-provider"] == "openai" and response.headers["x-helix-attempts"] == "1"
    assert fake.models() == ["flaky-1-500", "claude-x", "flaky-1-500"]


def test_a_cache_hit_on_an_alias_names_the_fallback_that_wrote_the_answer(make, fake: FakeState) -> None:
    """An answer a fallback wrote was logged and headed on a hit as the alias's first deployment, and the money
    saved credited to it (faults round 13): the hit names the deployment whose answer it is."""
    helix = make(
        "[routing]\nretries = 0\n"
        '[models.smart]\ntarget = "openai/fail-500"\nfallbacks = ["anthropic/claude-fake"]\n'
        '[pricing."anthropic/claude-fake"]\ninput = 1000.0\noutput = 2000.0\n'
    )
    body = {"model": "smart", "messages": [{"role": "user", "content": "hi claude"}]}
    first = httpx.post(f"{helix.url}/v1/chat/completions", json=body)
    assert first.status_code == 200 and first.headers["x-helix-provider"] == "anthropic"
    helix.flush()
    hit = httpx.post(f"{helix.url}/v1/chat/completions", json=body)
    assert hit.status_code == 200 and hit.headers["x-helix-cache"] == "HIT-EXACT"
    assert hit.headers["x-helix-provider"] == "anthropic"
    assert fake.models() == ["fail-500", "claude-fake"]
    helix.flush()
    rows = helix.rows("SELECT provider, model, cost_usd, saved_usd, cache FROM requests ORDER BY rowid")
    assert [(r["provider"], r["model"]) for r in rows] == [("anthropic", "claude-fake")] * 2
    assert rows[1]["cache"] == "HIT-EXACT" and rows[1]["cost_usd"] == 0
    assert rows[1]["saved_usd"] == pytest.approx(rows[0]["cost_usd"]) and rows[0]["cost_usd"] > 0


def test_an_aliass_cached_answer_is_never_served_to_a_request_naming_a_deployment(make, fake: FakeState) -> None:
    """An alias's answer, which its fallback wrote, was cached under its first deployment's key: a request naming that
    deployment directly got the fallback's answer as its own (another model's, the body naming the alias), and a
    request for the fallback's model could get an answer named for the alias (faults round 17)."""
    helix = make(
        "[routing]\nretries = 0\n"
        '[models.smart]\ntarget = "openai/fail-500"\nfallbacks = ["anthropic/claude-fake"]\n'
        '[models.quick]\ntarget = "anthropic/claude-fake"\n'
    )
    question = [{"role": "user", "content": "whose answer is it"}]
    for model in ("smart", "quick"):
        first = httpx.post(f"{helix.url}/v1/chat/completions", json={"model": model, "messages": question})
        assert first.status_code == 200 and first.headers["x-helix-cache"] == "MISS"
    direct = httpx.post(f"{helix.url}/v1/chat/completions", json={"model": "openai/fail-500", "messages": question})
    assert direct.status_code == 502  # its own deployment's answer: it fails
    other = httpx.post(
        f"{helix.url}/v1/chat/completions", json={"model": "anthropic/claude-fake", "messages": question}
    )
    assert other.headers["x-helix-cache"] == "MISS" and other.json()["model"] == "anthropic/claude-fake"
    again = httpx.post(f"{helix.url}/v1/chat/completions", json={"model": "smart", "messages": question})
    assert again.headers["x-helix-cache"] == "HIT-EXACT" and again.json()["model"] == "smart"


def test_an_alias_moved_to_another_model_serves_none_of_the_old_ones_answers(make, fake: FakeState) -> None:
    """An alias retargeted by a reload kept serving its old model's cached answers for the cache's whole TTL, logged
    and headed as the new provider's (faults round 27): an answer written by a deployment no longer behind the alias
    is not served; the new model is asked."""
    helix = make('[models.fast]\ntarget = "openai/gpt-4o-mini"\n')
    question = {"model": "fast", "messages": [{"role": "user", "content": "who answers"}]}
    assert httpx.post(f"{helix.url}/v1/chat/completions", json=question).headers["x-helix-cache"] == "MISS"
    helix.flush()
    assert httpx.post(f"{helix.url}/v1/chat/completions", json=question).headers["x-helix-cache"] == "HIT-EXACT"
    config_file = helix.db_path.parent / "helix.toml"
    config_file.write_text(config_file.read_text().replace('"openai/gpt-4o-mini"', '"anthropic/claude-fake"'))
    outcome = helix.server.run(reload(helix.gateway, lambda: load_config(config_file, env={})))
    assert outcome.ok and "[models] changed" in outcome.message, outcome.message
    moved = httpx.post(f"{helix.url}/v1/chat/completions", json=question)
    assert moved.status_code == 200 and moved.headers["x-helix-cache"] == "MISS"
    assert moved.headers["x-helix-provider"] == "anthropic"
    assert fake.models() == ["gpt-4o-mini", "claude-fake"]
    helix.flush()
    again = httpx.post(f"{helix.url}/v1/chat/completions", json=question)  # the new model's answer is cached
    assert again.headers["x-helix-cache"] == "HIT-EXACT" and again.headers["x-helix-provider"] == "anthropic"


def test_a_stream_that_reports_its_running_usage_counts_its_tokens_once(make, fake: FakeState) -> None:
    """A server that sends the usage so far on every chunk (vLLM's continuous_usage_stats) had each chunk's total
    added to its deployment's tokens this minute: a few streams filled a `tpm` and traffic went elsewhere (faults
    round 14). The stream counts its last usage, once."""
    name = "openai/gpt-4o-mini@running-usage"
    helix = make(f'[models.dual]\ndeployments = [{{ target = "{name}", tpm = 1000 }}]\n')
    body = {"model": "dual", "messages": [{"role": "user", "content": "count me once"}], "stream": True}
    body["stream_options"] = {"include_usage": True}
    with httpx.stream("POST", f"{helix.url}/v1/chat/completions", json=body, headers=NO_CACHE) as response:
        usages = [line for line in response.iter_lines() if '"usage"' in line]
    total = json.loads(usages[-1].removeprefix("data: "))["usage"]["total_tokens"]
    assert len(usages) > 5 and 0 < total < 100
    deployment = helix.gateway.router.table.configured()[name]
    deployment.tpm = total + 1  # room for one more token after this stream's, and no more
    assert deployment.has_room(time.monotonic())
    deployment.tpm = total
    assert not deployment.has_room(time.monotonic())


@pytest.mark.parametrize("model", ["absurd-usage", "huge-usage"])
def test_a_providers_garbage_usage_does_not_fill_its_deployments_minute(make, fake: FakeState, model: str) -> None:
    """A deployment's tokens this minute took the answer's raw total_tokens: two billion (or 10**30) filled a `tpm` for
    the rest of the minute, where the log and the bill read it as garbage (a review, after faults round 27)."""
    helix = make(f'[models.m]\ndeployments = [{{ target = "openai/{model}", tpm = 1000 }}]\n')
    assert post(helix, "m").status_code == 200
    deployment = helix.gateway.router.table.configured()[f"openai/{model}"]
    assert deployment.has_room(time.monotonic())


def test_a_reload_keeps_what_a_deployment_has_in_flight_and_has_sent_this_minute(make, fake: FakeState) -> None:
    """A reload built every deployment anew with nothing in flight and no request this minute: least-busy sent the
    next requests to the busy one, an rpm let a whole new minute's worth through, and the old requests' endings
    counted down a deployment no longer routed to (faults round 22)."""
    deployments = '[{ target = "openai/slow-1.5", rpm = 3, weight = 1000 }, { target = "openai/gpt-4o" }]'
    helix = make(f"[models.m]\ndeployments = {deployments}\n")
    config_file = helix.db_path.parent / "helix.toml"

    def in_flight() -> int:
        return int(httpx.get(f"{helix.url}/health/ready").json()["deployments"]["openai/slow-1.5"]["in_flight"])

    while time.monotonic() % 60 > 50:  # the deployment's minute is a fixed window: all of this inside one
        time.sleep(0.5)
    with ThreadPoolExecutor(2) as pool:
        slow = [pool.submit(post, helix, "m") for _ in range(2)]
        deadline = time.monotonic() + 5
        while in_flight() < 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        config_file.write_text(config_file.read_text() + '[models.other]\ntarget = "openai/gpt-4o-mini"\n')
        outcome = helix.server.run(reload(helix.gateway, lambda: load_config(config_file, env={})))
        assert outcome.ok and "[models] changed" in outcome.message, outcome.message
        assert in_flight() == 2
        assert [f.result().headers["x-helix-model"] for f in slow] == ["slow-1.5"] * 2
    assert in_flight() == 0
    assert post(helix, "m").headers["x-helix-model"] == "slow-1.5"  # the third of its 3 a minute
    assert post(helix, "m").headers["x-helix-model"] == "gpt-4o"  # then the other takes the rest of the minute


def test_a_request_ordered_before_a_probe_went_out_does_not_join_it(make, fake: FakeState) -> None:
    """A request that listed a deployment as ready, then tried another first, sent itself to the first deployment
    too once a second request's probe of it was out: two requests to a deployment that should see one (round 22)."""
    helix = make(
        '[routing]\nretries = 0\ncooldown_failures = 1\ncooldown = 0.3\nstrategy = "least-busy"\n'
        '[models.m]\ndeployments = [{ target = "openai/slow-1.5", weight = 1000, timeout = 0.5 },'
        ' { target = "openai/slow-0.8" }]\n'
    )
    fake.broken.update({"slow-1.5": 500, "slow-0.8": 500})
    assert post(helix, "m").status_code >= 500  # both cooled for 0.3 s
    fake.broken.clear()
    time.sleep(0.35)  # their cooldowns are over: the next request to reach each probes it
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(post, helix, "m")  # the probe-eligible one listed second, after slow-1.5 (timed out)
        time.sleep(0.15)
        second = pool.submit(post, helix, "m")  # least busy: the probe
        assert second.result().headers["x-helix-model"] == "slow-0.8"
        first.result()
    assert fake.models().count("slow-0.8") == 2, fake.models()  # the failure that cooled it, then the probe alone

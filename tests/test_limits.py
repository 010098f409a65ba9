"""Budgets, rate limits, per-user spend and alerts through the real server and the openai SDK."""

from __future__ import annotations

import asyncio
import base64
import itertools
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from helix.config import load_config
from helix.pipeline.limits import LimitsStage
from helix.reload import reload
from tests.conftest import Helix, add_key, start_helix
from tests.fake_upstream import FakeState, ServerThread
from tests.webhook_receiver import WebhookReceiver

# A price that makes every token count: $1 per thousand tokens, for the fake upstream's models.
PRICES = """
[pricing."openai/gpt-4o-mini"]
input = 1000.0
output = 1000.0

[pricing."openai/slow-0.3"]
input = 1000.0
output = 1000.0

[pricing."openai/drop-stream"]
input = 1000.0
output = 1000.0

[pricing."openai/drop-answer"]
input = 1000.0
output = 1000.0

[pricing."openai/slow-stream"]
input = 1000.0
output = 1000.0

[pricing."openai/no-usage"]
input = 1000.0
output = 1000.0

[pricing."openai/slow-2"]
input = 1000.0
output = 1000.0

[pricing."openai/slow-1.5"]
input = 1000.0
output = 1000.0

[pricing."openai/garbage-usage"]
input = 1000.0
output = 1000.0

[pricing."openai/output-only-usage"]
input = 1000.0
output = 1000.0

[pricing."openai/prompt-only-usage"]
input = 1000.0
output = 1000.0

[pricing."anthropic/claude-3-5-haiku-latest"]
input = 1000.0
output = 1000.0
"""
RESET = re.compile(r"^(\d+ms|\d+(\.\d+)?s|\d+m\d+s|\d+h\d+m\d+s)$")
_counter = itertools.count()


def unique(text: str = "question") -> list[dict[str, str]]:
    """A message no earlier request sent (the response cache would answer a repeated one)."""
    return [{"role": "user", "content": f"{text} {next(_counter)}"}]


@pytest.fixture
def priced(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> Iterator[Helix]:
    instance = start_helix(tmp_path, upstream[0].url, PRICES)
    yield instance
    instance.server.stop()


def spent(helix: Helix, key_id: str) -> float:
    return helix.rows("SELECT coalesce(sum(cost_usd), 0) AS s FROM requests WHERE key_id = ?", (key_id,))[0]["s"]


def _live(limits: LimitsStage, kid: str) -> dict[str, float | None]:
    """The key's budget as GET /admin/keys/{name} shows it ("live"); on SQLite nothing of it waits on the loop."""
    return asyncio.run(limits.live(kid))


def key_id(helix: Helix, name: str) -> str:
    return helix.rows("SELECT id FROM keys WHERE name = ? AND revoked_at IS NULL", (name,))[0]["id"]


@pytest.mark.parametrize("shape", ["anthropic-document", "openai-file"])
def test_a_prompt_in_a_document_or_a_file_counts_against_the_budget(priced: Helix, fake: FakeState, shape: str) -> None:
    """Text in an Anthropic document block or an OpenAI file part was estimated at nothing: a prompt that could not
    fit the budget was admitted (four at once spent 6.5 times a budget: faults round 13)."""
    secret = add_key(priced, f"docs-{shape}", budget=0.5)
    text = "lorem ipsum dolor sit amet " * 1500  # 40 KB: over 10,000 tokens, more than $10 at $1 a thousand
    headers = {"authorization": f"Bearer {secret}"}
    if shape == "anthropic-document":
        document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": text}}
        path, model = "/v1/messages", "anthropic/claude-3-5-haiku-latest"
    else:
        data = base64.b64encode(text.encode()).decode()
        document = {"type": "file", "file": {"filename": "a.txt", "file_data": f"data:text/plain;base64,{data}"}}
        path, model = "/v1/chat/completions", "gpt-4o-mini"
    content = [document, {"type": "text", "text": "Summarise this."}]
    body = {"model": model, "max_tokens": 10, "messages": [{"role": "user", "content": content}]}
    answer = httpx.post(f"{priced.url}{path}", json=body, headers=headers, timeout=30)
    assert answer.status_code == 429 and "budget exceeded" in answer.text, answer.text  # in either API's shape
    assert not fake.calls(path), "a refused request must not reach the provider"


def test_budget_refuses_with_429_before_the_provider_and_survives_a_restart(
    priced: Helix, fake: FakeState, tmp_path: Path, upstream: tuple[ServerThread, FakeState]
) -> None:
    secret = add_key(priced, "small", budget=0.05, period="day")
    client = priced.client(secret)
    ok = 0
    with pytest.raises(openai.RateLimitError) as raised:
        for _ in range(20):
            client.chat.completions.create(model="gpt-4o-mini", messages=unique())
            ok += 1
    error = raised.value
    assert error.status_code == 429 and error.code == "budget_exceeded"
    assert error.body["type"] == "insufficient_quota" and "daily budget" in error.message
    assert error.response.headers["x-should-retry"] == "false"  # SDKs must not retry a spent budget
    assert 3 <= ok <= 5  # each request costs $0.013
    assert len(fake.calls("/v1/chat/completions")) == ok, "a refused request must not reach the provider"
    kid = key_id(priced, "small")
    assert 0.05 <= spent(priced, kid) <= 0.05 + 0.013
    (row,) = priced.rows("SELECT key_id, status, error_code FROM requests WHERE status = 429")
    assert (row["key_id"], row["error_code"]) == (kid, "budget_exceeded")

    # Spend is read back from the request log when the server starts again.
    priced.server.stop()
    again = start_helix(tmp_path, upstream[0].url, PRICES)
    try:
        with pytest.raises(openai.RateLimitError) as raised:
            again.client(secret).chat.completions.create(model="gpt-4o-mini", messages=unique())
        assert raised.value.code == "budget_exceeded"
        assert len(fake.calls("/v1/chat/completions")) == ok
    finally:
        again.server.stop()


def test_a_budgeted_key_is_refused_a_model_helix_has_no_price_for(priced: Helix, fake: FakeState) -> None:
    """Costed at $0, it was never refused: a budgeted key spending only on unpriced models had no limit (a helper's
    find: 12 answers of gpt-4.5-preview to a key whose gpt-4o-mini was already refused). A key without a budget may."""
    client = priced.client(add_key(priced, "budgeted", budget=5.0))
    with pytest.raises(openai.PermissionDeniedError) as raised:
        client.chat.completions.create(model="unpriced-model", messages=unique())
    assert raised.value.code == "model_not_priced" and "openai/unpriced-model" in raised.value.message
    assert fake.calls("/v1/chat/completions") == []
    client.chat.completions.create(model="gpt-4o-mini", messages=unique())  # a priced one still goes
    free = priced.client(add_key(priced, "unbudgeted"))
    assert free.chat.completions.create(model="unpriced-model", messages=unique()).choices[0].message.content


def test_a_budget_needs_a_price_for_every_deployment_of_an_alias_and_reserves_the_dearest(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], fake: FakeState
) -> None:
    """An alias whose fallback, or one of whose deployments, had no price served a budgeted key for free whenever that
    one answered; a cheap first deployment reserved its own price for a dear fallback (faults round 17)."""
    aliases = (
        '[models.combo]\ntarget = "openai/gpt-4o-mini"\nfallbacks = ["openai/unpriced-model"]\n'
        '[models.mixed]\ndeployments = [{ target = "openai/gpt-4o-mini" }, { target = "openai/unpriced-model" }]\n'
        '[models.ladder]\ntarget = "openai/cheap"\nfallbacks = ["openai/gpt-4o-mini"]\n'
        '[pricing."openai/cheap"]\ninput = 0.001\noutput = 0.001\n'
    )
    instance = start_helix(tmp_path, upstream[0].url, PRICES + aliases)
    try:
        client = instance.client(add_key(instance, "budgeted", budget=0.02))  # 20 tokens at gpt-4o-mini's price
        for alias in ("combo", "mixed"):
            with pytest.raises(openai.PermissionDeniedError) as raised:
                client.chat.completions.create(model=alias, messages=unique())
            assert raised.value.code == "model_not_priced", alias
            assert "openai/unpriced-model" in raised.value.message and f"'{alias}'" in raised.value.message
        long_question = [{"role": "user", "content": "a question of some forty tokens or so, " * 3}]
        with pytest.raises(openai.RateLimitError) as refused:  # its prompt fits the cheap one, not the fallback
            client.chat.completions.create(model="ladder", messages=long_question)
        assert refused.value.code == "budget_exceeded"
        assert fake.calls("/v1/chat/completions") == []
        unbudgeted = instance.client(add_key(instance, "unbudgeted"))
        assert unbudgeted.chat.completions.create(model="combo", messages=unique()).choices[0].message.content
    finally:
        instance.server.stop()


def test_concurrent_requests_do_not_overshoot_the_budget(priced: Helix, fake: FakeState) -> None:
    budget = 0.1
    secret = add_key(priced, "burst", budget=budget)
    client = priced.client(secret)

    def one(i: int) -> str:
        try:
            client.chat.completions.create(
                model="slow-0.3", messages=[{"role": "user", "content": f"request {i}"}], max_tokens=5
            )
            return "ok"
        except openai.RateLimitError as exc:
            return str(exc.code)

    with ThreadPoolExecutor(50) as pool:
        outcomes = list(pool.map(one, range(50)))
    succeeded = outcomes.count("ok")
    assert succeeded + outcomes.count("budget_exceeded") == 50
    assert succeeded >= 3 and outcomes.count("budget_exceeded") >= 1
    assert len(fake.calls("/v1/chat/completions")) == succeeded
    costs = [r["cost_usd"] for r in priced.rows("SELECT cost_usd FROM requests WHERE status = 200")]
    assert len(costs) == succeeded
    assert sum(costs) <= budget + max(costs), f"{succeeded} requests spent ${sum(costs):.4f} of ${budget}"
    # Once they have settled, what was reserved is released and the spend is known exactly.
    live = _live(priced.gateway.limits, key_id(priced, "burst"))  # type: ignore[arg-type]
    assert live["reserved_usd"] == 0 and live["spent_usd"] == pytest.approx(sum(costs))


def test_a_burst_of_one_question_on_a_small_budget_is_answered_once_and_served_to_all(
    priced: Helix, fake: FakeState
) -> None:
    """Each copy reserved a whole estimate before the cache could tell it was the same question: a burst of 30 on a
    budget that fits a few estimates was mostly refused though one provider call answered it (faults round 21)."""
    client = priced.client(add_key(priced, "bursty", budget=0.05)).with_options(max_retries=0)
    question = [{"role": "user", "content": "What are your opening hours?"}]

    def one(_: int) -> str:
        try:
            answer = client.chat.completions.with_raw_response.create(model="slow-0.3", messages=question, max_tokens=5)
            return answer.headers["x-helix-cache"]
        except openai.RateLimitError as exc:
            return str(exc.code)

    with ThreadPoolExecutor(30) as pool:
        outcomes = list(pool.map(one, range(30)))
    assert "budget_exceeded" not in outcomes, outcomes
    assert outcomes.count("MISS") == 1 and len(fake.calls("/v1/chat/completions")) == 1, outcomes
    live = _live(priced.gateway.limits, key_id(priced, "bursty"))  # type: ignore[arg-type]
    assert live["reserved_usd"] == 0 and live["spent_usd"] == pytest.approx(spent(priced, key_id(priced, "bursty")))


def test_requests_that_fit_once_those_in_flight_settle_wait_for_them_and_a_spent_budget_still_refuses_at_once(
    priced: Helix, fake: FakeState
) -> None:
    """Refused for what requests in flight had reserved, requests the budget could pay for were turned away; a request
    the spend itself leaves no room for is refused without waiting."""
    secret = add_key(priced, "queued", budget=0.065)  # each reserves ~$0.028 and costs ~$0.012: three fit at once
    client = priced.client(secret).with_options(max_retries=0)

    def one(i: int) -> str:
        try:
            question = [{"role": "user", "content": f"q{i}"}]
            client.chat.completions.create(model="slow-0.3", messages=question, max_tokens=20)
            return "ok"
        except openai.RateLimitError as exc:
            return str(exc.code)

    with ThreadPoolExecutor(5) as pool:
        outcomes = list(pool.map(one, range(5)))
    assert outcomes == ["ok"] * 5 and len(fake.calls("/v1/chat/completions")) == 5
    assert spent(priced, key_id(priced, "queued")) <= 0.065

    started = time.monotonic()
    with pytest.raises(openai.RateLimitError) as refused:
        for i in range(10):
            one_more = [{"role": "user", "content": f"more {i}"}]
            client.chat.completions.create(model="gpt-4o-mini", messages=one_more, max_tokens=5)
    assert refused.value.code == "budget_exceeded" and time.monotonic() - started < 5
    assert refused.value.response.headers["x-should-retry"] == "false"


def test_streams_and_cache_hits_are_charged_what_they_really_cost(priced: Helix, fake: FakeState) -> None:
    secret = add_key(priced, "mixed", budget=10.0)
    kid = key_id(priced, "mixed")
    client = priced.client(secret)
    limits = priced.gateway.limits
    assert limits is not None
    list(client.chat.completions.create(model="gpt-4o-mini", messages=unique("stream"), stream=True))
    after_stream = _live(limits, kid)["spent_usd"]
    assert after_stream == pytest.approx(spent(priced, kid)) and after_stream > 0

    question = unique("cached")
    first = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=question)
    before = _live(limits, kid)["spent_usd"]
    second = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=question)
    assert first.headers.get("x-helix-cache") != second.headers.get("x-helix-cache")
    assert second.headers["x-helix-cache"].startswith("HIT")
    assert _live(limits, kid)["spent_usd"] == before, "a cache hit costs nothing against the budget"

    # A stream cut before its usage arrived is charged its reservation: the provider bills what it generated.
    before = _live(limits, kid)["spent_usd"]
    cut = unique("a long question")
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(model="drop-stream", messages=cut, stream=True, max_tokens=20))
    estimate = -(-len(cut[0]["content"]) // 3) + 4 + 3 + 20  # prompt (3 bytes a token, overheads) + max_tokens
    assert _live(limits, kid)["spent_usd"] - before == pytest.approx(estimate / 1000)
    assert _live(limits, kid)["reserved_usd"] == 0


def test_a_whole_answer_cut_off_is_charged_its_estimate_for_each_attempt(priced: Helix, fake: FakeState) -> None:
    """A provider that began a whole (not streamed) answer and broke off has billed it: it was charged nothing, and
    Helix's retry was a second free answer (faults round 13)."""
    secret = add_key(priced, "cut-whole", budget=10.0)
    kid = key_id(priced, "cut-whole")
    question = unique("a question")
    body = {"model": "drop-answer", "messages": question, "max_tokens": 20}
    answer = httpx.post(
        f"{priced.url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {secret}"}, timeout=30
    )
    assert answer.status_code == 502 and answer.json()["error"]["code"] == "upstream_cut_off"
    attempts = len(fake.calls("/v1/chat/completions"))
    assert attempts == int(answer.headers["x-helix-attempts"]) >= 1
    estimate = -(-len(question[0]["content"]) // 3) + 4 + 3 + 20  # prompt (3 bytes a token, overheads) + max_tokens
    assert spent(priced, kid) == pytest.approx(attempts * estimate / 1000)
    limits = priced.gateway.limits
    assert limits is not None
    assert _live(limits, kid) == {
        "spent_usd": pytest.approx(attempts * estimate / 1000),
        "reserved_usd": 0,
        "budget_usd": 10.0,
    }


@pytest.mark.parametrize("fallback", ["openai/cheap-model", "openai/unpriced-model"])
def test_a_cut_answer_is_charged_at_its_own_deployments_price(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], fallback: str
) -> None:
    """Cut answers were charged at the price of the deployment that served the call in the end: a cheap fallback
    made them cheap, an unpriced (or local) one free, and a budget could be escaped so (faults round 16)."""
    toml = PRICES + '[pricing."openai/cheap-model"]\ninput = 1.0\noutput = 1.0\n[routing]\nretries = 0\n'
    toml += f'[models.cutting]\ntarget = "openai/drop-answer"\nfallbacks = ["{fallback}"]\n'
    instance = start_helix(tmp_path, upstream[0].url, toml)
    try:
        question = unique("a question")
        body = {"model": "cutting", "messages": question, "max_tokens": 20}
        answer = httpx.post(f"{instance.url}/v1/chat/completions", json=body, timeout=30)
        assert answer.status_code == 200 and answer.headers["x-helix-attempts"] == "2"
        estimate = (-(-len(question[0]["content"]) // 3) + 4 + 3 + 20) / 1000  # at drop-answer's $1000/M
        served = answer.json()["usage"]
        price = 1.0 if fallback == "openai/cheap-model" else 0.0
        fallback_cost = price * (served["prompt_tokens"] + served["completion_tokens"]) / 1_000_000
        instance.flush()
        (row,) = instance.rows("SELECT cost_usd FROM requests")
        assert row["cost_usd"] == pytest.approx(estimate + fallback_cost)
    finally:
        instance.server.stop()


@pytest.mark.parametrize("who", ["provider", "client"])
def test_a_cut_stream_is_charged_in_the_request_log_too(
    priced: Helix, fake: FakeState, tmp_path: Path, upstream: tuple[ServerThread, FakeState], who: str
) -> None:
    """A stream cut before its usage arrived (by the provider, or by a client that left) was charged its estimate
    in memory only: its log row said $0, so `helix spend` and /admin/spend left it out, and a restart, which reads
    spend back from the log, made it free."""
    secret = add_key(priced, "cut", budget=10.0)
    kid = key_id(priced, "cut")
    body = {"model": f"{'drop' if who == 'provider' else 'slow'}-stream", "messages": unique("cut"), "stream": True}
    with httpx.stream(
        "POST", f"{priced.url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {secret}"}
    ) as response:
        chunks = response.iter_bytes()
        next(chunks)  # the stream has begun: then the provider drops it, or the client leaves
        if who == "provider":
            list(chunks)
    limits = priced.gateway.limits
    assert limits is not None
    deadline = time.monotonic() + 5
    while _live(limits, kid)["reserved_usd"] and time.monotonic() < deadline:  # a client that left: settled soon
        time.sleep(0.05)
    charged = _live(limits, kid)["spent_usd"]
    assert charged > 0 and spent(priced, kid) == pytest.approx(charged)
    priced.server.stop()
    again = start_helix(tmp_path, upstream[0].url, PRICES)
    try:
        again.client(secret).chat.completions.create(model="gpt-4o-mini", messages=unique())
        assert again.gateway.limits is not None
        assert _live(again.gateway.limits, kid)["spent_usd"] > charged  # type: ignore[operator]
        assert spent(again, kid) == pytest.approx(_live(again.gateway.limits, kid)["spent_usd"])
    finally:
        again.server.stop()


def test_a_cut_stream_without_a_key_is_costed_in_the_log_too(priced: Helix, fake: FakeState) -> None:
    """Without a key (laptop mode) a stream the provider cut after its first chunk was logged with no cost: the
    dashboard's and `helix spend`'s totals left out what the provider billed, which a key's budget counts."""
    body = {"model": "drop-stream", "messages": unique("keyless cut"), "stream": True}
    with httpx.stream("POST", f"{priced.url}/v1/chat/completions", json=body) as response:
        list(response.iter_bytes())
    priced.flush()
    row = priced.rows("SELECT cost_usd, ttft_ms FROM requests ORDER BY ts DESC LIMIT 1")[0]
    assert row["ttft_ms"] is not None and row["cost_usd"] > 0


@pytest.mark.parametrize("case", ["no usage", "garbage usage", "output-only usage", "prompt-only usage", "client left"])
def test_an_answer_without_its_usage_is_charged_its_estimate(priced: Helix, fake: FakeState, case: str) -> None:
    """An answer that said nothing of its usage, or that the client left before it came, was free: any number of
    them fit a budget of any size, while the provider billed each. So was one whose usage was garbage (a string, a
    negative: counted as 0 tokens; a helper's find), and one that counted only its answer (round 18: the prompt read as
    0 tokens, however long) or only its prompt with no total to tell the answer by (the answer read as 0)."""
    secret = add_key(priced, "unmetered", budget=10.0)
    kid = key_id(priced, "unmetered")
    question = unique("unmetered")
    model = {
        "no usage": "no-usage",
        "output-only usage": "output-only-usage",
        "prompt-only usage": "prompt-only-usage",
        "client left": "slow-2",
    }.get(case, "garbage-usage")
    body = {"model": model, "messages": question, "max_tokens": 20}
    headers = {"authorization": f"Bearer {secret}"}
    if case != "client left":
        response = httpx.post(f"{priced.url}/v1/chat/completions", json=body, headers=headers, timeout=30)
        assert response.status_code == 200 and ("usage" in response.json()) == (case != "no usage")
    else:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{priced.url}/v1/chat/completions", json=body, headers=headers, timeout=0.5)
    limits = priced.gateway.limits
    assert limits is not None
    deadline = time.monotonic() + 10
    while _live(limits, kid)["reserved_usd"] and time.monotonic() < deadline:  # a client that left: settled soon
        time.sleep(0.05)
    estimate = -(-len(question[0]["content"]) // 3) + 4 + 3 + 20  # prompt (3 bytes a token, overheads) + max_tokens
    assert _live(limits, kid)["spent_usd"] == pytest.approx(estimate / 1000)
    assert spent(priced, kid) == pytest.approx(estimate / 1000)  # in the log too: a restart reads it back


_SCHEMA = {
    "type": "object",
    "properties": {f"field_{i}": {"type": "string", "description": "x" * 40} for i in range(60)},
}
_FUNCTION = {"name": "lookup", "description": "look it up", "parameters": _SCHEMA}
_USER_TURN = [{"role": "user", "content": "hi"}]
# Round 17: ~4 KB of input in a field the estimate did not count: any number of such requests fit a budget at once.
WEIGHTY = {
    "chat response_format": (
        "/v1/chat/completions",
        {
            "messages": _USER_TURN,
            "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": _SCHEMA}},
        },
    ),
    "chat functions": ("/v1/chat/completions", {"messages": _USER_TURN, "functions": [_FUNCTION]}),
    "a message's name": ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi", "name": "x" * 4000}]}),
    "responses tools": ("/v1/responses", {"input": "hi", "tools": [{"type": "function", **_FUNCTION}]}),
    "responses text.format": (
        "/v1/responses",
        {"input": "hi", "text": {"format": {"type": "json_schema", "name": "a", "schema": _SCHEMA}}},
    ),
}


@pytest.mark.parametrize(("path", "body"), WEIGHTY.values(), ids=WEIGHTY.keys())
def test_what_a_request_sends_or_asks_for_anywhere_counts_against_its_budget(
    priced: Helix, fake: FakeState, path: str, body: dict[str, Any]
) -> None:
    """A budget that a plain question fits is refused to the same question carrying ~1,300 tokens of input in a field
    (or asking for 40 answers): before, these were admitted at a few tokens' estimate, eight at once on a $2 budget."""
    secret = add_key(priced, "weighed", budget=1.0)  # 1,000 tokens at $1,000 a million
    headers = {"authorization": f"Bearer {secret}"}
    plain = httpx.post(
        f"{priced.url}/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": _USER_TURN, "max_tokens": 5},
        headers=headers,
        timeout=30,
    )
    assert plain.status_code == 200, plain.text
    calls = len(fake.requests)
    response = httpx.post(f"{priced.url}{path}", json={"model": "gpt-4o-mini", **body}, headers=headers, timeout=30)
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "budget_exceeded"
    assert len(fake.requests) == calls


@pytest.mark.parametrize("asks", [{"prompt": ["hi"] * 40}, {"prompt": "hi", "best_of": 40}], ids=["prompts", "best_of"])
def test_a_completions_answers_for_each_prompt_and_best_of_are_reserved(
    priced: Helix, fake: FakeState, asks: dict[str, Any]
) -> None:
    """Round 17: legacy completions with a list of prompts (an answer each) or best_of (that many answers made, and
    billed) reserved one answer's max_tokens: six at once spent ten times a budget. In flight, such a request now holds
    what its answers may cost, and the key's next request finds no room left (within its own deadline: it waits that
    long for the room the first may leave when it settles)."""
    secret = add_key(priced, "many-answers", budget=1.0)  # 1,000 tokens at $1,000 a million
    headers = {"authorization": f"Bearer {secret}"}
    body = {"model": "slow-0.3", "max_tokens": 100, **asks}
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(httpx.post, f"{priced.url}/v1/completions", json=body, headers=headers, timeout=30)
        time.sleep(0.15)  # admitted and in flight
        second = httpx.post(
            f"{priced.url}/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": _USER_TURN, "max_tokens": 5},
            headers={**headers, "x-helix-timeout": "0.05"},
            timeout=30,
        )
        assert slow.result().status_code == 200
    assert second.status_code == 429  # the 4,000 tokens of answers in flight leave the budget no room
    assert second.json()["error"]["code"] == "budget_exceeded"


@pytest.mark.parametrize(
    "model", ["no-usage", "garbage-usage", "output-only-usage", "prompt-only-usage", "start-usage-only"]
)
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_an_anthropic_answer_without_its_usage_is_charged_its_estimate(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], model: str, stream: bool, path: str
) -> None:
    """Round 17: Anthropic's answer with no usage, or usage of no numbers, was translated as zero tokens: free to
    every budget, through chat completions and /v1/messages alike, streamed or not. Round 18: so was its prompt when
    the usage counted only the answer (a message_start without usage). Round 24: a stream whose message_delta carried no
    usage was charged message_start's placeholder (one output token), and its client told so."""
    prices = f'[pricing."anthropic/{model}"]\ninput = 1000.0\noutput = 1000.0\n'
    instance = start_helix(tmp_path, upstream[0].url, prices)
    try:
        secret = add_key(instance, "unmetered", budget=10.0)
        question = unique("anthropic unmetered")
        body = {"model": f"anthropic/{model}", "messages": question, "max_tokens": 20, "stream": stream}
        headers = {"authorization": f"Bearer {secret}"}
        if path == "/v1/messages":
            headers["anthropic-version"] = "2023-06-01"
        with httpx.stream("POST", instance.url + path, json=body, headers=headers, timeout=30) as response:
            assert response.status_code == 200
            text = response.read().decode()
        assert ("[DONE]" in text or "message_stop" in text) if stream else "echo: anthropic unmetered" in text
        estimate = -(-len(question[0]["content"]) // 3) + 4 + 3 + 20  # prompt (3 bytes a token, overheads) + max_tokens
        instance.flush()
        assert spent(instance, key_id(instance, "unmetered")) == pytest.approx(estimate / 1000, rel=0.2)
    finally:
        instance.server.stop()


def test_rpm_limit_429_with_openai_headers_then_recovers(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], fake: FakeState
) -> None:
    instance = start_helix(tmp_path, upstream[0].url, "[limits]\nwindow_seconds = 2\n")
    try:
        client = instance.client(add_key(instance, "paced", rpm=3))
        remaining = []
        for _ in range(3):
            raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=unique())
            assert raw.headers["x-ratelimit-limit-requests"] == "3"
            assert RESET.match(raw.headers["x-ratelimit-reset-requests"])
            remaining.append(raw.headers["x-ratelimit-remaining-requests"])
        assert remaining == ["2", "1", "0"]
        with pytest.raises(openai.RateLimitError) as raised:
            client.chat.completions.create(model="gpt-4o-mini", messages=unique())
        headers = raised.value.response.headers
        assert raised.value.code == "rate_limit_exceeded" and "3 requests per 2s" in raised.value.message
        assert headers["x-ratelimit-remaining-requests"] == "0" and headers["x-ratelimit-limit-requests"] == "3"
        assert RESET.match(headers["x-ratelimit-reset-requests"])
        wait_ms = int(headers["retry-after-ms"])
        assert 0 < wait_ms <= 700 and headers["retry-after"] == "1"  # one request refills every 2/3 s
        assert len(fake.calls("/v1/chat/completions")) == 3
        time.sleep(wait_ms / 1000 + 0.05)
        client.chat.completions.create(model="gpt-4o-mini", messages=unique())
        time.sleep(2.1)  # a whole window: the limit is back to full
        for _ in range(3):
            client.chat.completions.create(model="gpt-4o-mini", messages=unique())
        # The SDK's own retry honours retry-after-ms and gets through.
        client.with_options(max_retries=2).chat.completions.create(model="gpt-4o-mini", messages=unique())
    finally:
        instance.server.stop()


def test_tpm_limit_counts_real_tokens_and_refuses_oversized_requests(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], fake: FakeState
) -> None:
    instance = start_helix(tmp_path, upstream[0].url, "[limits]\nwindow_seconds = 2\n")
    try:
        client = instance.client(add_key(instance, "tokens", tpm=60))
        used = 0
        with pytest.raises(openai.RateLimitError) as raised:
            for _ in range(10):
                raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=unique())
                usage = raw.parse().usage
                assert usage is not None
                used += usage.total_tokens
                assert raw.headers["x-ratelimit-limit-tokens"] == "60"
        assert 30 <= used <= 70
        headers = raised.value.response.headers
        assert raised.value.code == "rate_limit_exceeded" and "tokens per 2s" in raised.value.message
        assert int(headers["x-ratelimit-remaining-tokens"]) < 15 and int(headers["retry-after-ms"]) > 0
        time.sleep(int(headers["retry-after-ms"]) / 1000 + 0.05)
        client.chat.completions.create(model="gpt-4o-mini", messages=unique())

        with pytest.raises(openai.RateLimitError) as raised:
            client.chat.completions.create(model="gpt-4o-mini", messages=unique(), max_tokens=500)
        assert "request too large" in raised.value.message
        assert raised.value.response.headers["x-should-retry"] == "false"
    finally:
        instance.server.stop()


def test_global_limits_apply_without_keys(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> None:
    instance = start_helix(tmp_path, upstream[0].url, "[limits]\nrpm = 2\nwindow_seconds = 2\n")
    try:
        client = instance.client("any-token")  # laptop mode: no keys, a global limit still holds
        for _ in range(2):
            client.chat.completions.create(model="gpt-4o-mini", messages=unique())
        with pytest.raises(openai.RateLimitError) as raised:
            client.chat.completions.create(model="gpt-4o-mini", messages=unique())
        assert "all keys together" in raised.value.message
        assert raised.value.response.headers["x-ratelimit-limit-requests"] == "2"
    finally:
        instance.server.stop()


def test_spend_is_attributed_per_user_and_user_budgets_hold(priced: Helix, fake: FakeState, tmp_path: Path) -> None:
    # Each request costs $0.013 and its prompt alone ~$0.011: alice's third would not fit in $0.03.
    secret = add_key(priced, "shop", budget=5.0, user_budget=0.03, user_period="day")
    client = priced.client(secret)
    for _ in range(2):
        client.chat.completions.create(model="gpt-4o-mini", messages=unique(), user="alice")
    client.chat.completions.create(model="gpt-4o-mini", messages=unique(), extra_headers={"x-helix-user": "bob"})
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=unique(), user="alice")
    alice, bob = priced.gateway.users.stored("alice"), priced.gateway.users.stored("bob")
    assert raised.value.code == "budget_exceeded" and f"user '{alice}'" in raised.value.message
    client.chat.completions.create(model="gpt-4o-mini", messages=unique(), user="bob")  # bob still has room
    client.chat.completions.create(model="gpt-4o-mini", messages=unique())  # and so do requests with no user
    by_user = {
        r["user"]: r["cost"]
        for r in priced.rows("SELECT user, sum(cost_usd) AS cost FROM requests WHERE status = 200 GROUP BY user")
    }
    assert set(by_user) == {alice, bob, None}  # stored as keyed hashes, still one group per user
    assert by_user[alice] == pytest.approx(0.026, rel=0.2) and by_user[bob] == pytest.approx(0.026, rel=0.2)

    from tests.test_cli import helix_cmd

    env = {"HELIX_HOME": str(tmp_path / "home"), "COLUMNS": "200", "PATH": "/usr/bin:/bin"}
    out = helix_cmd("spend", "--by", "user", "--config", str(tmp_path / "helix.toml"), env=env).stdout
    lines = [line for line in out.splitlines() if str(alice) in line or str(bob) in line]
    assert str(alice) in lines[0] and str(bob) in lines[1], "top spenders first"
    assert all("shop" in line for line in lines), "with the key they came through, by name"
    out = helix_cmd("spend", "--by", "key", "--config", str(tmp_path / "helix.toml"), env=env).stdout
    assert "shop" in out and key_id(priced, "shop") in out


def test_global_per_user_budget_in_laptop_mode(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> None:
    toml = PRICES + "\n[limits]\nuser_budget = 0.03\n"
    instance = start_helix(tmp_path, upstream[0].url, toml)
    try:
        client = instance.client()
        for _ in range(2):
            client.chat.completions.create(model="gpt-4o-mini", messages=unique(), user="carol")
        with pytest.raises(openai.RateLimitError) as raised:
            client.chat.completions.create(model="gpt-4o-mini", messages=unique(), user="carol")
        assert raised.value.code == "budget_exceeded"
        client.chat.completions.create(model="gpt-4o-mini", messages=unique(), user="dave")
    finally:
        instance.server.stop()


def test_reloaded_limits_keep_what_was_used(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> None:
    """[limits] reloaded in place: a bucket keeps what it has used, a per-user budget the spend it has seen."""
    config_file = tmp_path / "helix.toml"
    instance = start_helix(tmp_path, upstream[0].url, PRICES + "\n[limits]\nrpm = 2\nuser_budget = 0.03\n")

    def reload_with(limits: str) -> str:
        text = config_file.read_text()
        config_file.write_text(text[: text.index("[limits]")] + f"[limits]\n{limits}\n")
        outcome = instance.server.run(reload(instance.gateway, lambda: load_config(config_file, env={})))
        assert outcome.ok, outcome.message
        return outcome.message

    try:
        client = instance.client()
        for _ in range(2):
            client.chat.completions.create(model="gpt-4o-mini", messages=unique(), user="carol")
        with pytest.raises(openai.RateLimitError) as raised:
            client.chat.completions.create(model="gpt-4o-mini", messages=unique(), user="erin")
        assert raised.value.code == "rate_limit_exceeded"

        assert "[limits] changed" in reload_with("rpm = 3\nuser_budget = 0.03")
        client.chat.completions.create(model="gpt-4o-mini", messages=unique(), user="erin")  # the third of 3
        with pytest.raises(openai.RateLimitError) as raised:  # a rebuilt bucket would have let 3 more through
            client.chat.completions.create(model="gpt-4o-mini", messages=unique(), user="erin")
        assert raised.value.code == "rate_limit_exceeded"

        reload_with("user_budget = 0.03")  # no rate limit now; carol's budget is spent
        with pytest.raises(openai.RateLimitError) as raised:
            client.chat.completions.create(model="gpt-4o-mini", messages=unique(), user="carol")
        assert raised.value.code == "budget_exceeded"
        reload_with("user_budget = 100.0")
        client.chat.completions.create(model="gpt-4o-mini", messages=unique(), user="carol")
        reload_with("")  # no per-user budget at all
        client.chat.completions.create(model="gpt-4o-mini", messages=unique(), user="carol")
    finally:
        instance.server.stop()


@pytest.fixture
def webhook() -> Iterator[tuple[WebhookReceiver, str]]:
    receiver = WebhookReceiver(fail_first=1, delay=2.0)
    server = ServerThread(receiver).start()
    yield receiver, f"{server.url}/hooks/budget"
    server.stop()


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_budget_alerts_at_80_and_100_percent_are_retried_and_never_block(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], webhook: tuple[WebhookReceiver, str]
) -> None:
    receiver, url = webhook
    toml = PRICES + f'\n[alerts]\nwebhook_url = "{url}"\nheaders = {{ x-token = "secret" }}\n'
    instance = start_helix(tmp_path, upstream[0].url, toml)
    try:
        client = instance.client(add_key(instance, "team", budget=0.06, period="month"))
        for _ in range(4):  # $0.013 each: 87% after the 4th
            started = time.monotonic()
            client.chat.completions.create(model="gpt-4o-mini", messages=unique())
            # The webhook takes 2 s to answer: a request that waited for it would take longer than that.
            assert time.monotonic() - started < 1.5, "a slow webhook must not delay requests"
        wait_for(lambda: len(receiver.received) == 1)
        with pytest.raises(openai.RateLimitError):  # the fifth does not fit: the budget is reached
            client.chat.completions.create(model="gpt-4o-mini", messages=unique())
        wait_for(lambda: len(receiver.delivered) == 2)
        first, second = sorted(receiver.delivered, key=lambda p: p["helix"]["threshold_percent"])
        assert receiver.received[0].status == 500, "the first attempt failed and was retried"
        assert receiver.received[0].path == "/hooks/budget" and receiver.received[0].headers["x-token"] == "secret"
        assert [first["helix"]["threshold_percent"], second["helix"]["threshold_percent"]] == [80, 100]
        assert "'team'" in first["text"] and "87%" in first["text"] and "monthly" in first["text"]
        assert second["helix"]["key"]["name"] == "team" and second["helix"]["budget_usd"] == 0.06
        assert second["helix"]["refusing"] and "refused" in second["text"]

        def recorded() -> list[tuple[int, int]]:
            return [tuple(r) for r in instance.rows("SELECT threshold, delivered FROM budget_alerts ORDER BY 1")]

        wait_for(lambda: recorded() == [(80, 1), (100, 1)])
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-4o-mini", messages=unique())
        time.sleep(0.3)
        assert len(receiver.received) == 3, "each threshold is announced once"
    finally:
        instance.server.stop()


def test_budget_alerts_say_what_the_spend_crossed_and_start_again_when_the_budget_is_raised(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState]
) -> None:
    """One request too large for the budget, refused at 0% spent, was announced as "100%: requests are now refused",
    and the real 80% and 100% were never announced after it; a budget raised after its 100% was never announced
    again at the new one (faults round 22)."""
    receiver = WebhookReceiver()
    hooks = ServerThread(receiver).start()
    toml = PRICES + f'\n[alerts]\nwebhook_url = "{hooks.url}/hooks/budget"\n'
    instance = start_helix(tmp_path, upstream[0].url, toml)
    try:
        client = instance.client(add_key(instance, "team", budget=0.06, period="month"))
        with pytest.raises(openai.RateLimitError):  # $0.12 of prompt alone: it does not fit, at 0% spent
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "w " * 500}])
        time.sleep(0.5)
        assert receiver.received == []
        for _ in range(10):  # $0.013 each: 80% after the 4th, refused at the 5th (100%)
            try:
                client.chat.completions.create(model="gpt-4o-mini", messages=unique())
            except openai.RateLimitError:
                break
        wait_for(lambda: [p["helix"]["threshold_percent"] for p in receiver.delivered] == [80, 100])
        with pytest.raises(openai.RateLimitError):  # refused again: its 100% is not announced again (a reviewer's find)
            client.chat.completions.create(model="gpt-4o-mini", messages=unique())
        time.sleep(0.5)
        assert len(receiver.received) == 2
        sent = len(receiver.delivered)
        _change_key(instance, "team", budget=0.1)  # 52% of the new budget spent: 80% and 100% lie ahead again
        for _ in range(10):
            try:
                client.chat.completions.create(model="gpt-4o-mini", messages=unique())
            except openai.RateLimitError:
                break
        wait_for(lambda: [p["helix"]["threshold_percent"] for p in receiver.delivered[sent:]] == [80, 100])
        assert all(p["helix"]["budget_usd"] == 0.1 for p in receiver.delivered[sent:])
    finally:
        instance.server.stop()
        hooks.stop()


def test_limit_checks_are_skipped_for_unauthenticated_health(priced: Helix) -> None:
    add_key(priced, "any")
    assert httpx.get(f"{priced.url}/health").status_code == 200


def test_a_budget_under_a_cent_is_shown_as_itself(priced: Helix, fake: FakeState) -> None:
    """A budget of half a cent was refused as "of its $0.00 total budget" (faults round 27)."""
    client = priced.client(add_key(priced, "tiny", budget=0.005, period="total"))
    with pytest.raises(openai.RateLimitError) as refused:  # the prompt alone costs more at $1000/M
        client.chat.completions.create(model="gpt-4o-mini", messages=unique())
    assert "of its $0.005000 total budget" in str(refused.value)


def test_counting_tokens_is_free_to_budgets_and_rate_limits(priced: Helix, fake: FakeState) -> None:
    """`/v1/messages/count_tokens` was charged its prompt's estimate at the input price (Claude Code counts large
    contexts often): a budget ran out on counting alone, and the counted tokens used up the key's TPM (faults round
    14), and each count took one of the key's requests a minute (round 27: three counts, then a 429 on the first
    real message at rpm = 3). Anthropic charges nothing for it and Helix counts for other providers itself: free, and
    never refused."""
    secret = add_key(priced, "counter", budget=0.15, period="total", tpm=1000, rpm=3)
    big = [{"role": "user", "content": "word " * 20_000}]  # ~33k tokens by the estimate: $33 at $1000/M
    headers = {"x-api-key": secret, "anthropic-version": "2023-06-01"}
    for model in ("anthropic/claude-3-5-haiku-latest", "gpt-4o-mini") * 2:
        counted = httpx.post(
            f"{priced.url}/v1/messages/count_tokens", json={"model": model, "messages": big}, headers=headers
        )
        assert counted.status_code == 200, counted.text
        assert counted.json()["input_tokens"] > 0
        assert float(counted.headers["x-helix-cost-usd"]) == 0
    assert [r.path for r in fake.requests] == ["/v1/messages/count_tokens"] * 2
    client = priced.client(secret)
    client.chat.completions.create(model="gpt-4o-mini", messages=unique())  # the budget, TPM and RPM are whole
    priced.flush()
    rows = priced.rows("SELECT endpoint, cost_usd FROM requests WHERE key_id = ?", (key_id(priced, "counter"),))
    assert [r["cost_usd"] for r in rows if r["endpoint"] == "count_tokens"] == [0.0] * 4
    assert spent(priced, key_id(priced, "counter")) < 0.15


def _change_key(helix: Helix, name: str, **changes: Any) -> None:
    from helix.store import keys as key_store
    from helix.store.db import connect

    conn = connect(helix.db_path)
    try:
        key_store.update(conn, name, changes)
    finally:
        conn.close()
    helix.server.run(helix.gateway.keys.reload())


@pytest.mark.parametrize(
    "changes",
    [[{"period": "month"}], [{"budget": None}, {"budget": 1.0}]],
    ids=["period changed", "budget off and on"],
)
def test_requests_in_flight_stay_counted_when_a_keys_budget_changes_under_them(
    priced: Helix, fake: FakeState, changes: list[dict[str, Any]]
) -> None:
    """Round 19: a key's ledger was replaced when its period changed (or its budget was turned off and on) while
    requests were in flight: they settled into the old one, so the new one saw nothing reserved and nothing spent
    ($7.50 spent against a $4 budget). Now the ledger changes in place."""
    secret = add_key(priced, "changing", budget=1.0)  # 1,000 tokens at $1,000 a million
    kid = key_id(priced, "changing")
    limits = priced.gateway.limits
    assert limits is not None
    body = {"model": "slow-1.5", "messages": unique("in flight"), "max_tokens": 300}
    headers = {"authorization": f"Bearer {secret}"}
    with ThreadPoolExecutor(2) as pool:
        flying = [
            pool.submit(httpx.post, f"{priced.url}/v1/chat/completions", json=body, headers=headers, timeout=30)
            for _ in range(2)
        ]
        time.sleep(0.3)  # both admitted, both with the provider
        for change in changes:
            _change_key(priced, "changing", **change)
        assert _live(limits, kid)["reserved_usd"] == pytest.approx(2 * (300 + 4 + 3 + 4) / 1000, rel=0.2)
        assert {f.result().status_code for f in flying} == {200}
    priced.flush()
    assert _live(limits, kid)["spent_usd"] == pytest.approx(spent(priced, kid)) and spent(priced, kid) > 0


def test_a_request_in_flight_is_charged_at_the_price_it_began_under(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState]
) -> None:
    """Round 19: a price removed (or changed) by a reload while a request was in flight priced its answer by the new
    book: removed, it cost nothing to the log and to the key's budget ("finish on what they started with")."""
    config_file = tmp_path / "helix.toml"
    instance = start_helix(tmp_path, upstream[0].url, PRICES)
    try:
        secret = add_key(instance, "priced", budget=100.0)
        body = {"model": "slow-1.5", "messages": unique("priced in flight"), "max_tokens": 20}
        headers = {"authorization": f"Bearer {secret}"}
        with ThreadPoolExecutor(1) as pool:
            flying = pool.submit(
                httpx.post, f"{instance.url}/v1/chat/completions", json=body, headers=headers, timeout=30
            )
            time.sleep(0.3)
            text = config_file.read_text()
            config_file.write_text(text.replace('[pricing."openai/slow-1.5"]', '[pricing."openai/other-model"]'))
            outcome = instance.server.run(reload(instance.gateway, lambda: load_config(config_file, env={})))
            assert outcome.ok, outcome.message
            answer = flying.result()
        usage = answer.json()["usage"]
        assert float(answer.headers["x-helix-cost-usd"]) == pytest.approx(usage["total_tokens"] / 1000)
        instance.flush()
        assert spent(instance, key_id(instance, "priced")) == pytest.approx(usage["total_tokens"] / 1000)
    finally:
        instance.server.stop()


def test_a_request_waiting_for_room_is_admitted_when_the_budget_is_raised(priced: Helix, fake: FakeState) -> None:
    """Only a settling request woke the waiters: one that a raised budget made room for waited out its 30 s and was
    refused all the same (a review's find)."""
    secret = add_key(priced, "raised", budget=0.12)
    client = priced.client(secret).with_options(max_retries=0)
    done: list[str] = []

    def ask(model: str, max_tokens: int) -> None:
        client.chat.completions.create(model=model, messages=unique(model), max_tokens=max_tokens)
        done.append(model)

    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(ask, "slow-1.5", 100)  # reserves ~$0.11 of the $0.12 for a second and a half
        time.sleep(0.3)
        waiting = pool.submit(ask, "gpt-4o-mini", 20)  # its prompt fits what is spent, not what is in flight
        time.sleep(0.3)
        _change_key(priced, "raised", budget=5.0)
        waiting.result(timeout=30)
        slow.result(timeout=30)
    assert done == ["gpt-4o-mini", "slow-1.5"]

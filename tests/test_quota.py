"""The building blocks of limits: calendar periods, token buckets, header values, request estimates."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest

from helix.periods import period_bounds
from helix.pipeline.parse import parse_call
from helix.quota import estimate
from helix.quota.buckets import Bucket, duration_header
from helix.quota.ledger import Ledger


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("period", "now", "start", "end"),
    [
        ("day", "2026-11-23T13:45:00", "2026-11-23T00:00:00", "2026-11-24T00:00:00"),
        ("week", "2026-11-26T08:00:00", "2026-11-23T00:00:00", "2026-11-30T00:00:00"),  # Monday to Monday
        ("month", "2026-12-31T23:59:59", "2026-12-01T00:00:00", "2027-01-01T00:00:00"),
        ("month", "2028-02-29T12:00:00", "2028-02-01T00:00:00", "2028-03-01T00:00:00"),
    ],
)
def test_periods_are_utc_calendar_periods(period: str, now: str, start: str, end: str) -> None:
    assert period_bounds(period, ts(now)) == (ts(start), ts(end))


def test_total_period_never_ends_and_unknown_periods_are_refused() -> None:
    assert period_bounds("total", 1e9) == (0.0, math.inf)
    with pytest.raises(ValueError, match="unknown budget period"):
        period_bounds("fortnight", 1e9)


def test_bucket_bursts_refills_and_carries_debt() -> None:
    bucket = Bucket(limit=6, window=60, now=0.0)  # one unit every 10 s
    for _ in range(6):
        assert bucket.wait(1, 0.0) == 0
        bucket.take(1)
    assert bucket.remaining == 0 and bucket.wait(1, 0.0) == pytest.approx(10.0)
    assert bucket.wait(1, 5.0) == pytest.approx(5.0)
    assert bucket.wait(7, 5.0) == math.inf  # more than the bucket ever holds
    assert bucket.reset_seconds == pytest.approx(60 - 5.0)
    bucket.give(-6, 5.0)  # used more than reserved: in debt
    assert bucket.wait(1, 5.0) == pytest.approx((1 + 5.5) * 10)
    bucket.give(100, 5.0)
    assert bucket.level == 6  # never above the limit


def test_a_lower_limit_counts_only_what_is_still_used() -> None:
    """A key's rpm lowered a window after a burst: the burst, never refilled in the idle time, became debt at the lower
    rate (a 429 for 75 s; faults round 22)."""
    bucket = Bucket(limit=100, window=30, now=0.0)
    bucket.take(50)
    bucket.resize(10, 30, 35.0)  # a whole window later: nothing used any more
    assert bucket.wait(1, 35.0) == 0 and bucket.remaining == 10
    bucket.take(8)
    bucket.resize(5, 30, 35.0)  # right away: what was used stays used
    assert bucket.remaining == 0 and bucket.wait(1, 35.0) > 0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.0, "0ms"), (0.0201, "21ms"), (1.5, "1.5s"), (17.281, "17.29s"), (360, "6m0s"), (3723, "1h2m3s")],
)
def test_reset_headers_use_openai_durations(seconds: float, text: str) -> None:
    assert duration_header(seconds) == text


def _call(body: bytes, endpoint: str = "chat"):  # type: ignore[no-untyped-def]
    from helix.call import Target

    class Stub:
        name = "openai"

    return parse_call(endpoint, body, {}, lambda model: Target(Stub(), model))  # type: ignore[arg-type]


def test_estimates_err_on_the_high_side() -> None:
    text = "Explain the difference between a process and a thread in two sentences."  # ~15 tokens
    call = _call(
        b'{"model": "m", "messages": [{"role": "user", "content": "%s"}], "max_tokens": 100, "n": 2}' % text.encode()
    )
    assert 15 <= estimate.prompt_tokens(call) <= 40
    assert estimate.max_output_tokens(call) == 200
    unicode = _call('{"model": "m", "messages": [{"role": "user", "content": "日本語のテキスト"}]}'.encode())
    assert estimate.prompt_tokens(unicode) >= 8 + 7  # a token per CJK character, plus message overhead
    image = _call(
        b'{"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "what is it"},'
        b' {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]}'
    )
    assert estimate.prompt_tokens(image) >= 1000
    embeddings = _call(b'{"model": "e", "input": ["one two three", [1, 2, 3, 4]]}', "embeddings")
    assert estimate.prompt_tokens(embeddings) == 5 + 4 and estimate.max_output_tokens(embeddings) == 0


def test_an_image_in_a_responses_input_counts_as_an_image_not_its_base64() -> None:
    """/v1/responses counted every byte of its body: a 470 KB PNG was ~214k tokens (a TPM of 100k refused it for good,
    a budget too), where chat and /v1/messages count it at `PER_IMAGE` (faults round 27)."""
    picture = "data:image/png;base64," + "A" * 470_000
    content = [{"type": "input_text", "text": "what is it"}, {"type": "input_image", "image_url": picture}]
    body = {"model": "m", "input": [{"role": "user", "content": content}], "instructions": "Be brief."}
    call = _call(json.dumps(body).encode(), "responses")
    assert estimate.PER_IMAGE <= estimate.prompt_tokens(call) <= estimate.PER_IMAGE + 100
    text = _call(b'{"model": "m", "input": "what is it", "tools": [{"type": "web_search"}]}', "responses")
    assert 3 <= estimate.prompt_tokens(text) <= 40  # a text input and the tools still count
    calls = [{"type": "function_call_output", "call_id": "c1", "output": "x" * 4000}]
    assert estimate.prompt_tokens(_call(json.dumps({"model": "m", "input": calls}).encode(), "responses")) >= 1000
    # an image a computer call's screenshot or a function's output holds: the same (a review found them by bytes)
    screenshot = {
        "type": "computer_call_output",
        "call_id": "c2",
        "output": {"type": "computer_screenshot", "image_url": picture},
    }
    output = {
        "type": "function_call_output",
        "call_id": "c3",
        "output": [{"type": "input_image", "image_url": picture}],
    }
    for item in (screenshot, output):
        call = _call(json.dumps({"model": "m", "input": [item]}).encode(), "responses")
        assert estimate.PER_IMAGE <= estimate.prompt_tokens(call) <= estimate.PER_IMAGE + 100


def test_a_request_that_straddles_a_periods_end_is_charged_to_the_period_it_began_in() -> None:
    """Its log row (stamped when it began) counts it in the old period, which a restart reads back: the ledger charged
    it to the new one too, so the spend shown and enforced changed at a restart (faults round 21)."""
    end = period_bounds("day", datetime(2026, 12, 7, 12, tzinfo=UTC).timestamp())[1]
    ledger = Ledger.open(budget=1.0, period="day", now=end - 5)
    ledger.reserved = 0.5
    ledger.settle(reserved=0.25, cost=0.2, now=end + 5, began=end - 5)  # began yesterday, settled today
    assert (ledger.start, ledger.spent, ledger.reserved) == (end, 0.0, 0.25)
    ledger.settle(reserved=0.25, cost=0.1, now=end + 6, began=end + 1)
    assert (ledger.spent, ledger.reserved) == (pytest.approx(0.1), 0.0)

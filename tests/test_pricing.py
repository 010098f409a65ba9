"""The cost of one usage record: input, cached input, cache writes and output, each at its price."""

from __future__ import annotations

import pytest

from helix.call import Usage
from helix.config import Price
from helix.pricing import PriceBook
from helix.providers.anthropic_translate import from_messages_response
from helix.translate.messages_reply import anthropic_usage

# What the helper's probe sent: 20 new input tokens, 100 written to the prompt cache, 50 read from it, 9 out.
_ANTHROPIC_USAGE = {
    "input_tokens": 20,
    "cache_creation_input_tokens": 100,
    "cache_read_input_tokens": 50,
    "output_tokens": 9,
}


def _usage(anthropic_usage: dict[str, object]) -> Usage:
    answer = {"id": "msg_1", "content": [{"type": "text", "text": "x"}], "usage": anthropic_usage}
    usage = Usage.from_openai(from_messages_response(answer, "m")["usage"])
    assert usage is not None
    return usage


def test_a_cache_write_costs_what_anthropic_charges_for_it() -> None:
    """Writes were charged as plain input: $0.000136 where Anthropic bills $0.000156 (1.25 x input for writes)."""
    usage = _usage(_ANTHROPIC_USAGE)
    assert (usage.prompt_tokens, usage.cached_tokens, usage.cache_write_tokens) == (170, 50, 100)
    # claude-3-5-haiku: $0.80 in, $0.08 cached, $1.00 written, $4 out a million tokens
    assert PriceBook().cost("anthropic", "claude-3-5-haiku-20241022", usage) == pytest.approx(0.000156)


def test_a_write_kept_for_an_hour_costs_twice_an_input_token() -> None:
    """1-hour writes were charged as 5-minute ones (faults round 27: $0.37518 where Anthropic bills $0.60018 for 100k
    tokens written with "ttl": "1h"): Anthropic names them in `cache_creation`, at 2 x input."""
    split = {"ephemeral_5m_input_tokens": 40, "ephemeral_1h_input_tokens": 60}
    usage = _usage({**_ANTHROPIC_USAGE, "cache_creation": split})
    assert (usage.cache_write_tokens, usage.cache_write_1h_tokens) == (100, 60)
    answer = {
        "id": "msg_1",
        "content": [{"type": "text", "text": "x"}],
        "usage": {**_ANTHROPIC_USAGE, "cache_creation": split},
    }
    assert anthropic_usage(from_messages_response(answer, "m")["usage"])["cache_creation"] == split  # given back
    # claude-3-5-haiku: 20 x $0.80 + 50 x $0.08 + 40 x $1.00 + 60 x $1.60 + 9 x $4, a million tokens
    expected = (20 * 0.80 + 50 * 0.08 + 40 * 1.00 + 60 * 1.60 + 9 * 4.0) / 1e6
    assert PriceBook().cost("anthropic", "claude-3-5-haiku-20241022", usage) == pytest.approx(expected)
    # a configured price without its own hour price charges those writes at cache_write
    configured = PriceBook(
        {"anthropic/claude-3-5-haiku": Price(input=1.0, output=0.0, cached_input=0.0, cache_write=2.0)}
    )
    assert configured.cost("anthropic", "claude-3-5-haiku", usage) == pytest.approx((20 + 200) / 1e6)


def test_a_configured_cache_write_price_wins_and_defaults_to_input() -> None:
    usage = _usage(_ANTHROPIC_USAGE)
    written = PriceBook({"anthropic/claude-3-5-haiku": Price(input=1.0, output=0.0, cached_input=0.0, cache_write=2.0)})
    assert written.cost("anthropic", "claude-3-5-haiku", usage) == pytest.approx((20 + 200) / 1e6)
    plain = PriceBook({"anthropic/claude-3-5-haiku": Price(input=1.0, output=0.0)})
    assert plain.cost("anthropic", "claude-3-5-haiku", usage) == pytest.approx(170 / 1e6)


def test_usage_without_cache_writes_costs_as_before() -> None:
    usage = _usage({"input_tokens": 100, "output_tokens": 10})
    assert usage.cache_write_tokens == 0
    assert PriceBook().cost("anthropic", "claude-3-5-haiku", usage) == pytest.approx((100 * 0.8 + 10 * 4) / 1e6)


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        ({"cached_tokens": 50}, (10, 0)),  # more cached than the prompt read
        ({"cached_tokens": 4, "cache_creation_tokens": 30}, (4, 6)),  # reads and writes together above it
        ({"cached_tokens": 4, "cache_creation_tokens": 3}, (4, 3)),
        ("junk", (0, 0)),
    ],
)
def test_a_providers_cached_count_is_never_more_than_the_prompt(details: object, expected: tuple[int, int]) -> None:
    """`cached_tokens` above `prompt_tokens` was logged (and shown) as given: 50 cached of a 10-token prompt."""
    usage = Usage.from_openai({"prompt_tokens": 10, "completion_tokens": 5, "prompt_tokens_details": details})
    assert usage is not None
    assert (usage.prompt_tokens, usage.cached_tokens, usage.cache_write_tokens) == (10, *expected)

"""Model prices and the cost of one usage record.

Prices are USD per million tokens: input, output, cached input (prompt tokens served from the provider's prompt
cache) and cache writes (prompt tokens written to it, which Anthropic charges more for). The built-in table covers
current models; `[pricing."provider/model"]` or `[pricing."model"]` in helix.toml overrides or extends it. Dated
snapshots (`gpt-4o-2024-08-06`, `claude-3-5-haiku-20241022`) and `-latest` names fall back to their family's price.
A model with no known price costs `None` (unknown), and is warned about once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import lru_cache, partial

from helix.call import Usage
from helix.config import Price

log = logging.getLogger("helix.pricing")
NAMES_REMEMBERED = 1024


def _p(input: float, output: float, cached_input: float | None = None) -> Price:
    return Price(input=input, output=output, cached_input=cached_input)


def _anthropic(input: float, output: float, cached_input: float) -> Price:
    """Anthropic charges a prompt token written to its cache for five minutes 1.25 times an input token, for an hour
    twice."""
    return Price(
        input=input,
        output=output,
        cached_input=cached_input,
        cache_write=round(input * 1.25, 6),
        cache_write_1h=round(input * 2, 6),
    )


BUILTIN_PRICES: dict[str, Price] = {
    # OpenAI
    "gpt-5": _p(1.25, 10.0, 0.125),
    "gpt-5-mini": _p(0.25, 2.0, 0.025),
    "gpt-5-nano": _p(0.05, 0.40, 0.005),
    "gpt-4.1": _p(2.0, 8.0, 0.50),
    "gpt-4.1-mini": _p(0.40, 1.60, 0.10),
    "gpt-4.1-nano": _p(0.10, 0.40, 0.025),
    "gpt-4o": _p(2.50, 10.0, 1.25),
    "gpt-4o-mini": _p(0.15, 0.60, 0.075),
    "gpt-4-turbo": _p(10.0, 30.0),
    "gpt-3.5-turbo": _p(0.50, 1.50),
    "gpt-3.5-turbo-instruct": _p(1.50, 2.00),  # the model of /v1/completions (docs/clients.md)
    "o1": _p(15.0, 60.0, 7.50),
    "o1-mini": _p(1.10, 4.40, 0.55),
    "o3": _p(2.0, 8.0, 0.50),
    "o3-mini": _p(1.10, 4.40, 0.55),
    "o4-mini": _p(1.10, 4.40, 0.275),
    "text-embedding-3-small": _p(0.02, 0.0),
    "text-embedding-3-large": _p(0.13, 0.0),
    "text-embedding-ada-002": _p(0.10, 0.0),
    # Anthropic (cached input = cache read price; a cache write is 1.25 x input)
    "claude-opus-4-1": _anthropic(15.0, 75.0, 1.50),
    "claude-opus-4": _anthropic(15.0, 75.0, 1.50),
    "claude-sonnet-4-5": _anthropic(3.0, 15.0, 0.30),
    "claude-sonnet-4": _anthropic(3.0, 15.0, 0.30),
    "claude-3-7-sonnet": _anthropic(3.0, 15.0, 0.30),
    "claude-3-5-sonnet": _anthropic(3.0, 15.0, 0.30),
    "claude-haiku-4-5": _anthropic(1.0, 5.0, 0.10),
    "claude-3-5-haiku": _anthropic(0.80, 4.0, 0.08),
    "claude-3-haiku": _anthropic(0.25, 1.25, 0.03),
    "claude-3-opus": _anthropic(15.0, 75.0, 1.50),
    # Groq
    "llama-3.1-8b-instant": _p(0.05, 0.08),
    "llama-3.3-70b-versatile": _p(0.59, 0.79),
    "openai/gpt-oss-120b": _p(0.15, 0.75),
    "openai/gpt-oss-20b": _p(0.10, 0.50),
    # Mistral
    "mistral-large": _p(2.0, 6.0),
    "mistral-medium": _p(0.40, 2.0),
    "mistral-small": _p(0.10, 0.30),
    "codestral": _p(0.30, 0.90),
    "open-mistral-nemo": _p(0.15, 0.15),
    # DeepSeek
    "deepseek-chat": _p(0.27, 1.10, 0.07),
    "deepseek-reasoner": _p(0.55, 2.19, 0.14),
}

_SNAPSHOT = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|-latest|-\d{4})$")


PriceOf = Callable[[str, str], Price | None]


def _lookup(prices: dict[str, Price], free: set[str], provider: str, model: str) -> Price | None:
    if provider in free:
        return Price(input=0.0, output=0.0, cached_input=0.0)
    names = [f"{provider}/{model}", model]
    family = _SNAPSHOT.sub("", model)
    if family != model:
        names += [f"{provider}/{family}", family]
    for name in names:
        if name in prices:
            return prices[name]
    return None


class PriceBook:
    """Looks up a price by `provider/model`, then `model`, then the model's family name."""

    def __init__(self, overrides: dict[str, Price] | None = None, free_providers: set[str] | None = None):
        self.reload(overrides, free_providers)

    def reload(self, overrides: dict[str, Price] | None = None, free_providers: set[str] | None = None) -> None:
        """Take new [pricing] overrides (a config reload); names looked up before are looked up again."""
        # Model names are the client's choice: remember a bounded number of them, most recent first. Each reload makes
        # a new `price`, bound to its own prices: a request keeps the one it began with (`Call.price_of`).
        lookup = partial(_lookup, {**BUILTIN_PRICES, **(overrides or {})}, free_providers or set())
        self.price: PriceOf = lru_cache(maxsize=NAMES_REMEMBERED)(lookup)
        self._warn_unpriced: Callable[[str], None] = lru_cache(maxsize=NAMES_REMEMBERED)(self._warn)

    @staticmethod
    def _warn(name: str) -> None:
        log.warning(
            "no price known for %s: its cost is recorded as unknown; add [pricing.%r] to helix.toml", name, name
        )

    def cost(self, provider: str, model: str, usage: Usage | None, price_of: PriceOf | None = None) -> float | None:
        """What `usage` cost at the prices of `price_of` (a request's own, from before a reload), or the current."""
        if usage is None:
            return None
        price = (price_of or self.price)(provider, model)
        if price is None:
            self._warn_unpriced(f"{provider}/{model}")  # once per name (while it is remembered)
            return None
        # Parts of the prompt, each within the one before (`Usage.from_openai` caps them).
        cached, written, for_an_hour = usage.cached_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens
        cached_price = price.cached_input if price.cached_input is not None else price.input
        write_price = price.cache_write if price.cache_write is not None else price.input
        hour_price = price.cache_write_1h if price.cache_write_1h is not None else write_price
        total = (
            (usage.prompt_tokens - cached - written) * price.input
            + cached * cached_price
            + (written - for_an_hour) * write_price
            + for_an_hour * hour_price
            + usage.completion_tokens * price.output
        )
        return round(total / 1_000_000, 10)

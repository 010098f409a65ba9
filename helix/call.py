"""The domain: a request as it travels through the pipeline, the two shapes a reply can take, and
the protocol every provider adapter offers. Everything else imports these; this imports nothing of ours
but the virtual key a request carries."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from helix.virtual_keys import KeyRecord

# More tokens than any model reads or writes in one call (ten times the largest context window, 10M): a provider's
# count above it is garbage, not usage (2,000,000,000 prompt tokens for two words billed $300 to a $5 key).
MAX_TOKEN_COUNT = 100_000_000


def token_count(value: Any) -> int:
    """A token count from a provider's usage object; 0 (unknown) for anything that is not a whole number
    in 0..MAX_TOKEN_COUNT (a string, a negative, a float like 1e308), so a provider's garbage can neither
    fail a request nor poison spend."""
    return int(value) if is_count(value) else 0


def is_count(value: Any) -> bool:
    """Whether a provider's token count is a whole number in 0..MAX_TOKEN_COUNT."""
    if type(value) is int:  # nearly every count: the checks below cost a request more than the rest of this
        return 0 <= value <= MAX_TOKEN_COUNT
    if not isinstance(value, float):
        return False
    return value.is_integer() and 0 <= value <= MAX_TOKEN_COUNT


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0  # prompt tokens written to the provider's prompt cache (Anthropic charges more)
    cache_write_1h_tokens: int = 0  # those of them kept for an hour (Anthropic charges more still)
    reasoning_tokens: int = 0  # answer tokens spent thinking (some providers allow them beyond max_tokens)

    @classmethod
    def from_openai(cls, usage: dict | None) -> Usage | None:
        """The usage a provider reported; None when it says nothing usable (`{}`, `{"total_tokens": 15}`, no count of
        the prompt, or of the answer nor a total to tell it by, a count that is negative, a string or beyond belief):
        the answer is then unmetered and billed at its estimate, not at nothing (a 40,000-token prompt read as 0 by
        `{"completion_tokens": 5}`, an answer as 0 by `{"prompt_tokens": 40000}`). An embedding's is its prompt and
        its total."""
        if not isinstance(usage, dict):
            return None
        # Chat and completions name them prompt/completion tokens; the Responses API input/output tokens.
        prompt = usage.get("prompt_tokens")
        if prompt is None:
            prompt = usage.get("input_tokens")
        completion = usage.get("completion_tokens")
        if completion is None:
            completion = usage.get("output_tokens")
        total = usage.get("total_tokens")
        if completion is None and is_count(prompt) and is_count(total) and token_count(total) >= token_count(prompt):
            completion = token_count(total) - token_count(prompt)
        if prompt is None or completion is None:
            return None
        if (prompt is not None and not is_count(prompt)) or (completion is not None and not is_count(completion)):
            return None
        details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
        if not isinstance(details, dict):
            details = {}
        # Parts of the prompt: a provider's count above it (or reads and writes above it together) is not believed
        # past the prompt, so the log, the dashboard and the bill never show more cached than read.
        prompt_tokens = token_count(prompt)
        cached = min(token_count(details.get("cached_tokens")), prompt_tokens)
        written = min(token_count(details.get("cache_creation_tokens")), prompt_tokens - cached)
        for_an_hour = min(token_count(details.get("cache_creation_1h_tokens")), written)
        output = usage.get("completion_tokens_details") or usage.get("output_tokens_details")
        thinking = token_count(output.get("reasoning_tokens")) if isinstance(output, dict) else 0
        answer = token_count(completion)
        return cls(prompt_tokens, answer, cached, written, for_an_hour, min(thinking, answer))


Endpoint = Literal["chat", "embeddings", "messages", "count_tokens", "responses", "completions"]
"""chat and embeddings are OpenAI's; messages and count_tokens Anthropic's (/v1/messages...); responses and
completions OpenAI's Responses and legacy completions. A call's body stays in its endpoint's own shape."""


class Provider(Protocol):
    name: str
    kind: str
    local: bool
    forward: tuple[str, ...]  # the client's headers passed on to it (API betas and versions): they shape its answer

    async def chat(self, call: Call) -> Reply:
        """Answer a chat.completions call in OpenAI's shape (a stream when `call.stream`)."""
        ...

    async def embeddings(self, call: Call) -> Reply: ...

    async def list_models(self) -> list[dict[str, Any]]:
        """The upstream's models in OpenAI's `/v1/models` item shape, names without our prefix."""
        ...


@dataclass(slots=True)
class Target:
    """Where a request goes: a provider and the model name that provider knows."""

    provider: Provider
    model: str

    @property
    def name(self) -> str:
        return f"{self.provider.name}/{self.model}"


@dataclass(slots=True)
class Completed:
    """A whole JSON response (non-streaming)."""

    body: dict[str, Any]
    # The body's JSON, when it is at hand (the provider's bytes, a cached answer): sent as it is. A stage
    # that changes `body` in place must set it to None.
    raw: bytes | None = None


class Chunk(dict[str, Any]):
    """A stream chunk as the provider sent it: `raw` is its JSON as received, sent on as it is unless a
    stage sets it to None (a stage that changes a chunk in place must); `more` says another chunk of the
    same network read follows at once, so the API layer may hold this one back and write both together."""

    __slots__ = ("more", "raw")

    def __init__(self, parsed: dict[str, Any], raw: bytes | None, more: bool = False) -> None:
        super().__init__(parsed)
        self.raw = raw
        self.more = more


@dataclass(slots=True)
class Streamed:
    """A stream of OpenAI `chat.completion.chunk` objects, passed on as they arrive."""

    chunks: AsyncIterator[dict[str, Any]]


Reply = Completed | Streamed


@dataclass(slots=True)
class Call:
    """One request: what the client sent, where it goes, and what happened (filled in by stages)."""

    id: str
    endpoint: Endpoint
    body: dict[str, Any]
    requested_model: str
    target: Target
    headers: Mapping[str, str]
    stream: bool = False
    size: int = 0  # bytes of the request body as received
    client_wants_usage: bool = False
    user: str | None = None
    key: KeyRecord | None = None  # the authenticated virtual key (None on a laptop with no keys)
    ts: float = field(default_factory=time.time)
    started: float = field(default_factory=time.perf_counter)
    # Outcome.
    status: int = 200
    error_code: str | None = None
    cache: str | None = None
    usage: Usage | None = None
    cost: float | None = None
    saved: float | None = None
    # The prices it began under (`pricing.PriceBook.price` then): a reload while it is in flight does not change what
    # it costs (a price removed made it free to every budget).
    price_of: Callable[[str, str], Any] | None = None
    upstream_seconds: float = 0.0
    # A provider has the request and has not answered yet: a client that leaves now is billed all the same (not while
    # Helix waits to retry, nor before anything was sent).
    asking: bool = False
    # The provider's headers came (2xx) and its whole answer is being read: cut now, the answer is billed all the same.
    answering: bool = False
    ttft: float | None = None
    # Whole answers a provider began and broke off (each billed, none metered): the deployment of each, which
    # charges its estimate at its own price (a cheaper or a local fallback may serve the call after it).
    cut_answers: tuple[Target, ...] = ()
    finished: float | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    upstream_headers: dict[str, str] = field(default_factory=dict)  # the provider's request id, passed back
    # Set by the limits stage for budgeted calls: the log row must be committed before the answer goes out.
    durable: bool = False
    # Run by the log stage once the outcome, usage and cost are final (after the last chunk of a stream):
    # how inner stages settle what they reserved before the call.
    on_finish: list[Callable[[Call], None]] = field(default_factory=list)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @property
    def overhead_seconds(self) -> float | None:
        """Helix's own time: to the first chunk for streams, to the whole answer otherwise."""
        end = self.ttft if self.stream and self.ttft is not None else self.finished
        if end is None:
            return None
        return max(0.0, end - self.upstream_seconds)


Next = Callable[[Call], Awaitable[Reply]]

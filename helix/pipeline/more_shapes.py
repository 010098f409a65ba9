"""The request shapes of the endpoints beyond chat and embeddings: the fields Helix relies on and checks.
Everything else in a body is passed on untouched."""

from __future__ import annotations

from typing import Any, Literal

import msgspec


class _AnthropicMessage(msgspec.Struct):
    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]]


class _Metadata(msgspec.Struct):
    user_id: str | None = None


class MessagesShape(msgspec.Struct):
    """Anthropic's POST /v1/messages."""

    model: str
    messages: list[_AnthropicMessage]
    max_tokens: int
    system: str | list[dict[str, Any]] | None = None
    stream: bool | None = None
    metadata: _Metadata | None = None
    tools: list[dict[str, Any]] | None = None
    # Read when the call is translated for an OpenAI-compatible provider (helix/translate/messages_request.py).
    tool_choice: dict[str, Any] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop_sequences: list[str] | None = None
    thinking: dict[str, Any] | None = None

    @property
    def user(self) -> str | None:
        """The end user for budgets and the log, like OpenAI's `user`; an over-long id is not one (clients such
        as Claude Code fill it with their own session ids, which must not get the request refused)."""
        user = self.metadata.user_id if self.metadata else None
        return user if user is not None and len(user) <= 256 else None


class CountTokensShape(msgspec.Struct):
    """Anthropic's POST /v1/messages/count_tokens: a Messages request without max_tokens."""

    model: str
    messages: list[_AnthropicMessage]
    system: str | list[dict[str, Any]] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: dict[str, Any] | None = None
    thinking: dict[str, Any] | None = None
    user = None
    stream = None


class ResponsesShape(msgspec.Struct):
    """OpenAI's POST /v1/responses."""

    model: str
    input: str | list[dict[str, Any]] | None = None
    instructions: str | None = None
    stream: bool | None = None
    user: str | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    previous_response_id: str | None = None
    tools: list[dict[str, Any]] | None = None


class _StreamOptions(msgspec.Struct):
    include_usage: bool = False


class CompletionsShape(msgspec.Struct):
    """OpenAI's legacy POST /v1/completions."""

    model: str
    prompt: str | list[Any]
    stream: bool | None = None
    stream_options: _StreamOptions | None = None
    user: str | None = None
    max_tokens: int | None = None
    n: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: str | list[str] | None = None

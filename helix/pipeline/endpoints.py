"""How a provider answers the endpoints beyond chat and embeddings: natively where it speaks the
endpoint's API, through chat completions otherwise.

- messages      Anthropic-kind providers get the body as the client sent it; others a chat request
                translated from it (helix/translate/messages_request.py).
- count_tokens  Anthropic-kind providers count; for others Helix estimates from the text.
- responses     OpenAI-kind providers get the body as sent (their server keeps state:
                previous_response_id works); others a chat request (helix/translate/responses_request.py).
- completions   passed through to OpenAI-kind providers; others answer 400.

Whatever the route, a reply in chat shape is what the API layer turns into the client's format; a
passed-through reply (responses, completions) goes back as it came.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from helix.call import Call, Completed, Reply, Target
from helix.errors import InvalidRequest
from helix.translate import messages_request, responses_request

if TYPE_CHECKING:
    from helix.providers.registry import Registry

ANTHROPIC_ENDPOINTS = ("messages", "count_tokens")


def anthropic_client_resolver(registry: Registry) -> Callable[[str], Target]:
    """Model routing for Anthropic's endpoints: a bare `claude-*` name (Claude Code sends them as they are)
    goes to the `anthropic` provider, unless an alias claims it or the default provider speaks Anthropic's
    API itself; everything else routes as usual."""

    def resolve(model: str) -> Target:
        default = registry.providers[registry.default]
        claude = model.startswith("claude") and "/" not in model and model not in registry.aliases
        if claude and default.kind != "anthropic" and "anthropic" in registry.providers:
            return Target(registry.providers["anthropic"], model)
        return registry.resolve(model)

    return resolve


async def send_endpoint(call: Call) -> Reply:
    """A provider that speaks the endpoint's API has a method of the endpoint's name."""
    provider = call.target.provider
    native: Callable[[Call], Awaitable[Reply]] | None = getattr(provider, call.endpoint, None)
    if native is not None:
        return await native(call)
    if call.endpoint == "count_tokens":
        return Completed({"input_tokens": estimate_input_tokens(call.body)})
    if call.endpoint == "completions":
        raise InvalidRequest(
            f"{provider.name} does not serve legacy completions (/v1/completions): use /v1/chat/completions",
            param="model",
            code="unsupported_endpoint",
        )
    if call.endpoint == "messages":
        chat_body = messages_request.to_chat_request(call.body, call.target.model)
    else:
        chat_body = responses_request.to_chat_request(call.body, provider.name)
    return await _as_chat(call, chat_body)


async def _as_chat(call: Call, chat_body: dict[str, Any]) -> Reply:
    # The provider reads the body when it is called (a stream's request is built before its first chunk),
    # so the client's own body is back in place for the stages once the reply is in hand.
    native = call.body
    call.body = chat_body
    try:
        return await call.target.provider.chat(call)
    finally:
        call.body = native


def estimate_input_tokens(body: dict[str, Any]) -> int:
    """A count for providers that cannot count: about 4 bytes of text per token, 1,000 per image."""
    size, images = 0, 0
    stack: list[Any] = [body.get("system"), body.get("messages"), body.get("tools")]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            size += len(value.encode())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            if value.get("type") in ("image", "document") and isinstance(value.get("source"), dict):
                images += 1
                continue
            stack.extend(v for k, v in value.items() if k not in ("type", "role"))
    return max(1, size // 4) + 1000 * images

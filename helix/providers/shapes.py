"""The parts of an OpenAI-shaped answer the pipeline reads — its choices, each choice's message or delta,
their content and tool calls — checked as they arrive, so a provider that sends something else is a 502
in the client's shape rather than a 500 halfway through the cache, the PII filter or the log."""

from __future__ import annotations

from typing import Any, Literal

Part = Literal["message", "delta", "text"]
_CONTENT = (str, list, type(None))


def choices_problem(body: dict[str, Any], part: Part) -> str | None:
    """What in `body`'s choices cannot be read, or None. `part`: what each choice carries — a chat answer's
    "message", a chat chunk's "delta", a text completion's "text". No choices at all is not a problem (a
    usage-only chunk); the client gets what the provider sent."""
    choices = body.get("choices")
    if choices is None:
        return None
    if not isinstance(choices, list):
        return "its choices are not a list"
    for choice in choices:
        if not isinstance(choice, dict):
            return "a choice is not an object"
        inner = choice.get(part)
        if part == "text":
            if not isinstance(inner, str | None):
                return "a choice's text is not text"
            continue
        if inner is None:
            continue
        if not isinstance(inner, dict):
            return f"a choice's {part} is not an object"
        if not isinstance(inner.get("content"), _CONTENT):
            return f"a {part}'s content is neither text nor null"
        tool_calls = inner.get("tool_calls")
        if tool_calls is not None and not (
            isinstance(tool_calls, list) and all(isinstance(t, dict) for t in tool_calls)
        ):
            return f"a {part}'s tool_calls are not a list of objects"
    return None

"""The parts of an OpenAI-shaped answer the pipeline reads or a client's SDK parses — a chat answer's choices,
each choice's message or delta, their content, refusal and tool calls; a text completion's text; an embeddings
answer's vectors; a Responses answer's output items and a Responses stream's deltas — checked as they arrive,
so a provider that sends something else is a 502 in the client's shape rather than a 500 halfway through the
cache, the PII filter or the log, or an answer cached that no client can read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

Part = Literal["message", "delta", "text"]
MAX_EVENT_TYPE = 200
_CONTENT = (str, list, type(None))
_TEXT = (str, type(None))


def choices_problem(body: dict[str, Any], part: Part, *, required: bool = False) -> str | None:
    """What in `body`'s choices cannot be read, or None. `part`: what each choice carries — a chat answer's
    "message", a chat chunk's "delta", a text completion's "text". No choices at all is a problem only when
    `required` (a whole answer); a stream's usage-only chunk has none."""
    choices = body.get("choices")
    if choices is None:
        return "it has no choices" if required else None
    if not isinstance(choices, list):
        return "its choices are not a list"
    if required and part == "message" and not choices:
        return "it has no choices"
    for choice in choices:
        if type(choice) is not dict:
            return "a choice is not an object"
        index = choice.get("index")
        if index is not None and type(index) is not int:  # `_int_or_none`, without a call for every chunk
            return "a choice's index is not a number"
        finish_reason = choice.get("finish_reason")
        if finish_reason is not None and not isinstance(finish_reason, str):
            return "a choice's finish_reason is not text"
        inner = choice.get(part)
        if part == "text":
            if not isinstance(inner, _TEXT):
                return "a choice's text is not text"
            if inner is None and (required or "delta" in choice or "message" in choice):
                # a completion's choice without its text: a chat answer's, or a chat stream's chunk, sent back to
                # a legacy completions client whose SDK reads `text` alone
                return "a choice has no text"
        elif inner is None:
            if required:  # a whole answer's choice without its message: nothing a client can read
                return f"a choice has no {part}"
        elif type(inner) is dict and len(inner) == 1 and type(inner.get("content")) is str:
            continue  # most stream chunks: a piece of text and nothing else, read without a call
        elif problem := _message_problem(inner, part):
            return problem
    return None


def _message_problem(inner: Any, part: Part) -> str | None:
    if type(inner) is not dict:
        return f"a choice's {part} is not an object"
    content = inner.get("content")
    if type(content) is not str and (
        not isinstance(content, _CONTENT) or (isinstance(content, list) and not _objects(content))
    ):
        return f"a {part}'s content is neither text, a list of parts nor null"
    if len(inner) == 1 and content is not None:  # most stream chunks: a piece of text and nothing else
        return None
    if not isinstance(inner.get("refusal"), _TEXT) or not isinstance(inner.get("role"), _TEXT):
        return f"a {part}'s role or refusal is not text"
    tool_calls = inner.get("tool_calls")
    if tool_calls is None:
        return None
    if not isinstance(tool_calls, list) or not _objects(tool_calls):
        return f"a {part}'s tool_calls are not a list of objects"
    for tool_call in tool_calls:
        function = tool_call.get("function")
        if not _int_or_none(tool_call.get("index")) or not isinstance(tool_call.get("id"), _TEXT):
            return f"a {part}'s tool call has an index or id of the wrong type"
        if function is not None and not (
            isinstance(function, dict)
            and isinstance(function.get("name"), _TEXT)
            and isinstance(function.get("arguments"), _TEXT)
        ):
            return f"a {part}'s tool call's function is not a name and arguments as text"
    return None


def embeddings_problem(body: dict[str, Any]) -> str | None:
    """What in an embeddings answer cannot be read: `data` must be a list of objects, each with a number for its
    `index` and a vector that is a list of numbers or a base64 string (`encoding_format: "base64"`), and its usage
    (when there) token counts."""
    data = body.get("data")
    if not isinstance(data, list) or not _objects(data):
        return "its data is not a list of objects"
    for item in data:
        if not _int_or_none(item.get("index")):
            return "an embedding's index is not a number"
        vector = item.get("embedding")
        if isinstance(vector, str):
            continue
        if not isinstance(vector, list) or not all(type(x) is float or type(x) is int for x in vector):
            return "an embedding is not a list of numbers"
    return _usage_problem(body.get("usage"))


_EMBEDDING_COUNTS = ("prompt_tokens", "total_tokens")


def _usage_problem(usage: Any) -> str | None:
    """An embeddings answer's usage, which its SDK reads: null or an object of whole token counts. A chat answer's
    is not held to it: the answer is good without it, and the log reads garbage counts as unknown (`token_count`)."""
    if usage is None:
        return None
    if type(usage) is not dict:
        return "its usage is not an object"
    if not all(_count_or_none(usage.get(name)) for name in _EMBEDDING_COUNTS):
        return "its usage's token counts are not whole numbers"
    return None


def _count_or_none(value: Any) -> bool:
    return value is None or (type(value) is int and value >= 0)


def embeddings_mismatch(request: dict[str, Any], body: dict[str, Any]) -> str | None:
    """An embeddings answer (of a readable shape) that is not what the request asked for: another number of vectors
    than it had inputs (a list of token ids is one input), or indices that are not theirs (past the last, or two
    vectors at one), which the client would pair with the wrong texts, or miss some; base64 when it asked for numbers
    (`encoding_format` absent or "float"), which its SDK hands on as a string."""
    request_input: Any = request.get("input")
    one = not isinstance(request_input, list) or all(type(x) is int for x in request_input)
    wanted, got = 1 if one else len(request_input), len(body["data"])
    if got != wanted:
        return f"{got} embeddings for {wanted} inputs"
    indices = [item["index"] for item in body["data"] if item.get("index") is not None]
    if any(not 0 <= i < wanted for i in indices) or len(set(indices)) != len(indices):
        return "an embedding's index is not one of its inputs"
    if request.get("encoding_format") in (None, "float") and any(isinstance(i["embedding"], str) for i in body["data"]):
        return "an embedding in base64 where numbers were asked for"
    return None


def responses_problem(body: dict[str, Any]) -> str | None:
    """What in a Responses answer (or the `response` a stream's last event carries) cannot be read: its output
    a list of items, each item's content a list of parts, each part's text (when present) text."""
    output = body.get("output")
    if output is None:
        return None
    if not isinstance(output, list) or not _objects(output):
        return "its output is not a list of objects"
    for item in output:
        content = item.get("content")
        if content is None:
            continue
        if not isinstance(content, list) or not _objects(content):
            return "an output item's content is not a list of objects"
        if not all(isinstance(part.get("text"), _TEXT) for part in content):
            return "an output part's text is not text"
    return None


def responses_answer_problem(body: dict[str, Any]) -> str | None:
    """A whole Responses answer: its output is what a client reads, so it must be there. One in chat's shape (the API
    layer turns it into a response) is checked as a chat answer."""
    if str(body.get("object", "")).startswith("chat.completion"):
        return choices_problem(body, "message", required=True)
    if body.get("output") is None:
        return "it has no output"
    return responses_problem(body)


# The Responses stream events that carry the response as it stands; the one that ends the stream is what its SDK
# returns as the answer.
_WITH_RESPONSE = frozenset(
    {"response.created", "response.in_progress", "response.queued", "response.completed", "response.incomplete"}
)


def responses_event_problem(event: dict[str, Any]) -> str | None:
    """What in a Responses stream event cannot be read: its `type` a name (it becomes the SSE `event:` line,
    so no line break), its `sequence_number` a number, every `delta` text, a `response` an answer."""
    kind = event.get("type")
    if not isinstance(kind, str) or not kind or len(kind) > MAX_EVENT_TYPE or not kind.isprintable():
        return "its type is not an event name"
    if not _int_or_none(event.get("sequence_number")):
        return "its sequence_number is not a number"
    if not isinstance(event.get("delta"), _TEXT):
        return "a delta is not text"
    response = event.get("response")
    if response is None:
        return "it has no response" if kind in _WITH_RESPONSE else None
    if not isinstance(response, dict):
        return "its response is not an object"
    return responses_problem(response)


def _objects(items: list[Any]) -> bool:
    return all(isinstance(item, dict) for item in items)


def _int_or_none(value: Any) -> bool:
    return value is None or type(value) is int  # not a bool


Check = Callable[[dict[str, Any]], str | None]
# By upstream path: what is checked in a whole answer, and in each event of a stream.
ANSWER_PROBLEMS: dict[str, Check] = {
    "/chat/completions": lambda body: choices_problem(body, "message", required=True),
    "/completions": lambda body: choices_problem(body, "text", required=True),
    "/embeddings": embeddings_problem,
    "/responses": responses_answer_problem,
}
EVENT_PROBLEMS: dict[str, Check] = {
    "/chat/completions": lambda chunk: choices_problem(chunk, "delta"),
    "/completions": lambda chunk: choices_problem(chunk, "text"),
    "/responses": responses_event_problem,
}

"""Turn a raw request body into a `Call`, or a clear 400 saying what is wrong with it."""

from __future__ import annotations

import itertools
import os
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any, Literal

import msgspec

from helix.call import Call, Endpoint, Target
from helix.errors import InvalidRequest
from helix.pii.scrub import holds_credential_or_pii, scrub_client_text
from helix.pipeline.headers import MAX_TEXT_CHARS, printable_label, text_header, timeout_header
from helix.pipeline.more_shapes import CompletionsShape, CountTokensShape, MessagesShape, ResponsesShape
from helix.virtual_keys import MAX_MODEL_CHARS, plain_model_name

_Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class _Message(msgspec.Struct):
    role: _Role
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None


class _StreamOptions(msgspec.Struct):
    include_usage: bool = False


class _ChatShape(msgspec.Struct):
    """The fields Helix relies on; everything else is passed to the provider untouched."""

    model: str
    messages: list[_Message]
    stream: bool | None = None
    stream_options: _StreamOptions | None = None
    user: str | None = None
    n: int | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    tools: list[dict[str, Any]] | None = None
    stop: str | list[str] | None = None


class _EmbeddingsShape(msgspec.Struct):
    model: str
    input: str | list[str | int | list[int]]
    user: str | None = None


MAX_CHOICES = 128  # OpenAI's own bound on n
MAX_TOKEN_LIMIT = 2**31 - 1  # beyond any model's output and any provider's integer
MAX_EMBEDDING_INPUTS = 2048  # OpenAI's own cap; each item costs a PII scan before anything is sent
_SHAPES: dict[str, type[msgspec.Struct]] = {
    "chat": _ChatShape,
    "embeddings": _EmbeddingsShape,
    "messages": MessagesShape,
    "count_tokens": CountTokensShape,
    "responses": ResponsesShape,
    "completions": CompletionsShape,
}
_decode = msgspec.json.decode


# Model names found fit (checked once each: the credential patterns take ~20 us, an exact cache hit ~100 us); emptied
# when full, so a client sending a new name each time costs memory no more than this.
_FIT_MODELS: set[str] = set()
_FIT_MODELS_MAX = 4096


def check_model_name(model: str) -> None:
    """Refuse a model name no provider has: empty, too long to echo back, beyond ASCII, or holding a credential, an
    email address or a card number (`model` routes the request, so the PII firewall leaves it as sent: it would
    reach the provider and the request log)."""
    if model in _FIT_MODELS:
        return
    if not model.strip():
        raise InvalidRequest("'model' is empty: name a model, e.g. gpt-4o-mini", param="model")
    if not plain_model_name(model):
        raise InvalidRequest(
            f"'model' must be at most {MAX_MODEL_CHARS} printable ASCII characters",
            param="model",
            code="invalid_model",
        )
    if holds_credential_or_pii(model):
        raise InvalidRequest(
            "'model' holds what looks like an API key, an email address or a card number: name a model",
            param="model",
            code="invalid_model",
        )
    if len(_FIT_MODELS) >= _FIT_MODELS_MAX:
        _FIT_MODELS.clear()
    _FIT_MODELS.add(model)


def _problem(error: msgspec.ValidationError) -> InvalidRequest:
    message, _, where = str(error).partition(" - at `")
    message = scrub_client_text(message, 200)  # msgspec quotes a value it does not take ("Invalid enum value '...'")
    param = where.rstrip("`").removeprefix("$").lstrip(".") or None
    if message.startswith("Object missing required field"):
        field = message.split("`")[1]
        param = f"{param}.{field}" if param else field
        return InvalidRequest(f"'{param}' is required", param=param, code="missing_required_parameter")
    return InvalidRequest(f"invalid '{param}': {message}", param=param, code="invalid_type")


_TOKEN_LIMITS = ("max_tokens", "max_completion_tokens", "max_output_tokens")


def _check_ranges(shape: Any) -> None:
    """The numbers Helix reads (the cache, budgets and rate limits do) within the ranges OpenAI's API takes, on each
    endpoint that has them (Anthropic's: max_tokens, top_k)."""
    n = getattr(shape, "n", None)
    if n is not None and not 1 <= n <= MAX_CHOICES:
        raise InvalidRequest(f"'n' must be between 1 and {MAX_CHOICES}", param="n", code="invalid_value")
    temperature = getattr(shape, "temperature", None)
    if temperature is not None and not 0 <= temperature <= 2:
        raise InvalidRequest("'temperature' must be between 0 and 2", param="temperature", code="invalid_value")
    top_p = getattr(shape, "top_p", None)
    if top_p is not None and not 0 <= top_p <= 1:
        raise InvalidRequest("'top_p' must be between 0 and 1", param="top_p", code="invalid_value")
    top_k = getattr(shape, "top_k", None)
    if top_k is not None and not 0 <= top_k <= MAX_TOKEN_LIMIT:
        raise InvalidRequest(f"'top_k' must be between 0 and {MAX_TOKEN_LIMIT}", param="top_k", code="invalid_value")
    for name in _TOKEN_LIMITS:
        _check_token_limit(name, getattr(shape, name, None))


def _check_token_limit(name: str, value: int | None) -> None:
    if value is not None and not 1 <= value <= MAX_TOKEN_LIMIT:
        raise InvalidRequest(f"'{name}' must be between 1 and {MAX_TOKEN_LIMIT}", param=name, code="invalid_value")


# Parts (Anthropic's blocks) whose `text` a provider reads as a string: one of another type was sent on, and the
# provider's error (a 500 from one that choked on it) came back instead of a 400 naming the field.
_TEXT_PARTS = frozenset({"text", "input_text", "output_text"})


def _check_parts(parts: Any, where: str) -> None:
    """Each text part of `parts` (a message's content, a system prompt) has a string `text`; so do those of a
    tool result's content (Anthropic's `tool_result` block holds a list of them)."""
    if not isinstance(parts, list):
        return
    for index, part in enumerate(parts):
        if not isinstance(part, dict):
            continue
        kind, here = part.get("type"), f"{where}[{index}]"
        if type(kind) is str and kind in _TEXT_PARTS and type(part.get("text")) is not str:
            raise InvalidRequest(f"'{here}.text' must be a string", param=f"{here}.text", code="invalid_type")
        if kind == "tool_result":  # its content is text or blocks: a number or a list of strings was sent on too
            content, at = part.get("content"), f"{here}.content"
            if not (content is None or type(content) is str or _blocks(content)):
                problem = f"'{at}' must be a string or a list of content blocks"
                raise InvalidRequest(problem, param=at, code="invalid_type")
            _check_parts(content, at)


def _blocks(value: Any) -> bool:
    return type(value) is list and all(type(block) is dict for block in value)


def _check_contents(shape: Any) -> None:
    """The text parts of a request's messages (Responses: input items; Anthropic's: system too)."""
    if isinstance(shape, ResponsesShape):
        messages: Any = shape.input if isinstance(shape.input, list) else ()
        name = "input"
    else:
        messages, name = shape.messages, "messages"
        _check_parts(getattr(shape, "system", None), "system")
    for index, message in enumerate(messages):
        if isinstance(message, dict):  # a Responses input item: a message's content is text or parts
            content = message.get("content")
            if "role" in message and not isinstance(content, str | list):
                where = f"input[{index}].content"
                problem = f"'{where}' must be a string or a list of content parts"
                raise InvalidRequest(problem, param=where, code="invalid_type")
        else:
            content = message.content
        if type(content) is list:
            _check_parts(content, f"{name}[{index}].content")


# A request id is this process's random prefix and a counter: as unique as a uuid4 across processes and
# restarts (64 random bits each), without asking the kernel for random bytes on every request.
_ID_PREFIX = "req_" + secrets.token_hex(8)
_ids = itertools.count(1)


def _new_prefix() -> None:
    global _ID_PREFIX, _ids
    _ID_PREFIX, _ids = "req_" + secrets.token_hex(8), itertools.count(1)


os.register_at_fork(after_in_child=_new_prefix)  # a forked worker must not repeat its parent's ids


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ids):016x}"


_BOM = b"\xef\xbb\xbf"
# A high surrogate escape with no low one after it: half of a pair (a JS string cut in the middle of an emoji).
_HALF_PAIR = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])")


def _decode_body(raw: bytes) -> Any:
    """The body's JSON; a UTF-8 byte order mark before it is ignored, as RFC 8259 allows (Windows tools write one)."""
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    if not raw.strip():
        raise InvalidRequest("the request body is empty: send a JSON object", code="invalid_json")
    try:
        return _decode(raw)
    except msgspec.DecodeError as exc:
        problem = str(exc)
        if problem.startswith("Input data was truncated") and _HALF_PAIR.search(raw):  # msgspec's word for it
            problem = "a string holds half of a UTF-16 surrogate pair: \\ud800 to \\udbff with no low one after it"
        raise InvalidRequest(f"the request body is not valid JSON ({problem})", code="invalid_json") from None
    except RecursionError:
        raise InvalidRequest("the request body is nested too deeply", code="invalid_json") from None


def parse_call(
    endpoint: Endpoint,
    raw: bytes,
    headers: Mapping[str, str],
    resolve: Callable[[str], Target],
    request_id: str | None = None,
) -> Call:
    body = _decode_body(raw)
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object", code="invalid_json")
    try:
        shape: Any = msgspec.convert(body, _SHAPES[endpoint])
    except msgspec.ValidationError as exc:
        raise _problem(exc) from None
    check_model_name(shape.model)
    if not isinstance(shape, _EmbeddingsShape | CompletionsShape):
        _check_contents(shape)
    if shape.user is not None and not printable_label(shape.user):
        # Shown by `helix spend --by user` and `helix logs`: an escape sequence or a newline in it rewrote the table.
        raise InvalidRequest(
            f"'user' must be at most {MAX_TEXT_CHARS} printable characters (no control characters)", param="user"
        )
    stream = False
    wants_usage = False
    _check_ranges(shape)
    if isinstance(shape, _ChatShape):
        if not shape.messages:
            raise InvalidRequest("'messages' is empty: send at least one message", param="messages")
        stream = bool(shape.stream)
        wants_usage = bool(stream and shape.stream_options and shape.stream_options.include_usage)
    elif isinstance(shape, MessagesShape | CountTokensShape):
        if not shape.messages:
            raise InvalidRequest("'messages' is empty: send at least one message", param="messages")
        stream = bool(shape.stream)
    elif isinstance(shape, ResponsesShape | CompletionsShape):
        stream = bool(shape.stream)
        options = getattr(shape, "stream_options", None)
        wants_usage = bool(stream and options and options.include_usage)
    elif isinstance(shape.input, list) and not shape.input:
        raise InvalidRequest("'input' is empty", param="input")
    elif isinstance(shape.input, list) and len(shape.input) > MAX_EMBEDDING_INPUTS:
        raise InvalidRequest(
            f"'input' has {len(shape.input)} items: at most {MAX_EMBEDDING_INPUTS} per request, as OpenAI's API allows",
            param="input",
        )
    timeout_header(headers)  # checked here too (the router reads it), so a cache hit refuses a bad one as a miss does
    return Call(
        id=request_id or new_request_id(),
        endpoint=endpoint,
        body=body,
        size=len(raw),
        requested_model=shape.model,
        target=resolve(shape.model),
        headers=headers,
        stream=stream,
        client_wants_usage=wants_usage,
        user=shape.user or text_header(headers, "x-helix-user") or None,
    )

"""Pure translation between OpenAI chat.completions and the Anthropic Messages API.

No I/O here: the HTTP layer decodes JSON, calls these functions and encodes the result.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import msgspec

from helix.call import is_count, token_count
from helix.pii.scrub import quoted
from helix.providers.http import error_message, error_text, given

__all__ = [
    "StreamTranslator",
    "TranslationError",
    "UpstreamStreamError",
    "from_messages_response",
    "to_messages_request",
    "translate_error",
]

JSON = dict[str, Any]

_MAX_TEMPERATURE = 1.0

# Anthropic's stop reasons in OpenAI's words; any other (pause_turn: the turn goes on when the client sends it back)
# is kept as it came, so no cache takes the answer for a whole one and /v1/messages gives its client the same reason.
_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

_ERROR_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

_STATUS_BY_ERROR_TYPE = {kind: status for status, kind in _ERROR_TYPE_BY_STATUS.items()}

_DATA_URL = re.compile(r"^data:(?P<media_type>[\w.+-]+/[\w.+-]+);base64,(?P<data>.+)$", re.DOTALL)


class TranslationError(ValueError):
    """The OpenAI request cannot be expressed as an Anthropic request (maps to HTTP 400)."""

    @property
    def param(self) -> str | None:
        """The field the message begins by naming (`messages[2]: ...`, `max_tokens must ...`), for the 400's param."""
        match = _NAMED_FIELD.match(str(self))
        return match.group(1) if match else None


_NAMED_FIELD = re.compile(r"'?([a-z_]+(?:\[\d+\])?)'?(?::| must )")


class UpstreamStreamError(Exception):
    """Anthropic sent an `error` event in the middle of a stream."""

    def __init__(self, message: str, error_type: str = "api_error") -> None:
        super().__init__(message)
        self.message = message
        self.type = error_type

    @property
    def status(self) -> int:
        """The HTTP status Anthropic answers its error type with (a rate limit's 429, which clients back off from and
        a router falls back on), 502 for a type it has none for."""
        return _STATUS_BY_ERROR_TYPE.get(self.type, 502)


# --------------------------------------------------------------------------- request


def to_messages_request(body: JSON, upstream_model: str, default_max_tokens: int = 4096) -> JSON:
    """Translate an OpenAI chat.completions request body into an Anthropic /v1/messages body."""
    _check_n(body)
    system, messages = _translate_messages(body.get("messages"))
    out: JSON = {
        "model": upstream_model,
        "max_tokens": _max_tokens(body, default_max_tokens),
        "messages": messages,
    }
    if system:
        out["system"] = system
    out.update(_sampling_params(body))
    out.update(_tool_params(body))
    if (answer_tool := _json_answer_tool(body)) is not None:
        out["tools"], out["tool_choice"] = [answer_tool], {"type": "tool", "name": JSON_ANSWER_TOOL}
    if body.get("stream"):
        out["stream"] = True
    if isinstance(body.get("user"), str) and body["user"]:
        out["metadata"] = {"user_id": body["user"]}
    # Everything else is deliberately dropped: presence/frequency_penalty, logit_bias, seed,
    # stream_options (handled by the gateway), logprobs. A response_format beside tools of the request's own is
    # dropped too (the answer tool could not be forced): the prompt usually asks for JSON anyway.
    return out


# Anthropic has no JSON mode: a response_format is a tool whose input is the answer, forced; its input comes back as
# the answer's text (`from_messages_response`, `StreamTranslator` with `json_answer`).
JSON_ANSWER_TOOL = "helix_json_answer"


def _json_answer_tool(body: JSON) -> JSON | None:
    """The forced tool a response_format of json_object or json_schema asks for, None when there is none to force:
    no response_format, or tools of the request's own."""
    fmt = body.get("response_format")
    if not isinstance(fmt, dict) or fmt.get("type") not in ("json_object", "json_schema") or body.get("tools"):
        return None
    schema: Any = {"type": "object"}
    description = "Give the answer as this tool's input."
    if fmt["type"] == "json_schema":
        spec = fmt.get("json_schema")
        spec = spec if isinstance(spec, dict) else {}
        schema = spec.get("schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise TranslationError(
                "response_format.json_schema.schema must be a JSON schema of an object: Anthropic answers in JSON "
                "through a tool, whose input is an object"
            )
        if isinstance(spec.get("description"), str):
            description += " " + spec["description"]
    return {"name": JSON_ANSWER_TOOL, "description": description, "input_schema": schema}


def answers_in_json(body: JSON) -> bool:
    """Whether a translated request forces the answer tool (`to_messages_request`)."""
    choice = body.get("tool_choice")
    return isinstance(choice, dict) and choice.get("name") == JSON_ANSWER_TOOL


def _check_n(body: JSON) -> None:
    n = body.get("n")
    if n is not None and n != 1:
        raise TranslationError("n must be 1: Anthropic does not support n > 1")


def _max_tokens(body: JSON, default: int) -> int:
    value = body.get("max_completion_tokens")
    if value is None:
        value = body.get("max_tokens")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TranslationError("max_tokens must be a positive integer")
    return value


def _sampling_params(body: JSON) -> JSON:
    out: JSON = {}
    temperature = _number(body, "temperature")
    if temperature is not None:
        # OpenAI accepts 0..2, Anthropic 0..1; clamp instead of letting upstream 400.
        out["temperature"] = min(temperature, _MAX_TEMPERATURE)
    top_p = _number(body, "top_p")
    if top_p is not None:
        out["top_p"] = top_p
    stop = body.get("stop")
    if isinstance(stop, str) and stop:
        out["stop_sequences"] = [stop]
    elif isinstance(stop, list) and any(isinstance(s, str) and s for s in stop):
        out["stop_sequences"] = [s for s in stop if isinstance(s, str) and s]
    return out


def _number(body: JSON, key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TranslationError(f"{key} must be a number")
    return value


def _translate_messages(raw: Any) -> tuple[str, list[JSON]]:
    if not isinstance(raw, list) or not raw:
        raise TranslationError("'messages' must be a non-empty array")
    system_parts: list[str] = []
    turns: list[JSON] = []
    for position, message in enumerate(raw):
        if not isinstance(message, dict):
            raise TranslationError(f"messages[{position}] must be an object")
        role = message.get("role")
        if role in ("system", "developer"):
            text = _text_of(message.get("content"), f"messages[{position}]")
            if text:
                system_parts.append(text)
        elif role == "user":
            blocks = _user_blocks(message.get("content"), position)
            if not blocks:  # left out, the turn before would be answered instead (an assistant's, as a prefill)
                raise TranslationError(f"messages[{position}]: a user message without content cannot go to Anthropic")
            turns.append({"role": "user", "content": blocks})
        elif role == "assistant":
            turns.append({"role": "assistant", "content": _assistant_blocks(message, position)})
        elif role == "tool":
            turns.append({"role": "user", "content": [_tool_result_block(message, position)]})
        else:
            raise TranslationError(f"messages[{position}]: unsupported role {quoted(role)}")
    return "\n\n".join(system_parts), _merge_same_role(turns)


def _merge_same_role(turns: list[JSON]) -> list[JSON]:
    # Anthropic requires strictly alternating roles, so adjacent same-role turns are fused.
    merged: list[JSON] = []
    for turn in turns:
        if not turn["content"]:
            continue
        if merged and merged[-1]["role"] == turn["role"]:
            merged[-1]["content"].extend(turn["content"])
        else:
            merged.append({"role": turn["role"], "content": list(turn["content"])})
    return merged


def _text_of(content: Any, where: str) -> str:
    """Flatten string-or-text-parts content (system, tool) into one string."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                raise TranslationError(f"{where}: only text content parts are supported here")
            texts.append(str(part.get("text", "")))
        return "\n".join(texts)
    raise TranslationError(f"{where}: content must be a string or an array of content parts")


def _user_blocks(content: Any, position: int) -> list[JSON]:
    where = f"messages[{position}]"
    if isinstance(content, str):
        return _text_blocks(content)
    if not isinstance(content, list):
        raise TranslationError(f"{where}: content must be a string or an array of content parts")
    blocks: list[JSON] = []
    for part in content:
        blocks.extend(_user_part(part, where))
    return blocks


def _text_blocks(text: str) -> list[JSON]:
    # Anthropic rejects empty text blocks.
    return [{"type": "text", "text": text}] if text else []


def _user_part(part: Any, where: str) -> list[JSON]:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        return _text_blocks(str(part.get("text", "")))
    if kind == "image_url":
        return [_image_block(part.get("image_url"), where)]
    raise TranslationError(f"{where}: unsupported content part type {quoted(kind)}")


def _image_block(image_url: Any, where: str) -> JSON:
    url = image_url.get("url") if isinstance(image_url, dict) else image_url
    if not isinstance(url, str):
        raise TranslationError(f"{where}: image_url.url must be a string")
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    match = _DATA_URL.match(url)
    if match is None:
        raise TranslationError(f"{where}: image_url must be an http(s) URL or a base64 data URL")
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": match["media_type"], "data": match["data"]},
    }


def _assistant_blocks(message: JSON, position: int) -> list[JSON]:
    where = f"messages[{position}]"
    content = message.get("content")
    thinking = message.get("thinking_blocks")
    if thinking is not None and not isinstance(thinking, list):
        raise TranslationError(f"{where}: thinking_blocks must be an array of thinking blocks")
    blocks: list[JSON] = [
        {k: v for k, v in block.items() if k != "index"}
        for block in thinking or []
        if isinstance(block, dict) and block.get("type") in THINKING_TYPES
    ]
    if isinstance(content, list):
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind not in ("text", "refusal"):
                raise TranslationError(f"{where}: unsupported assistant content part type {quoted(kind)}")
            blocks.extend(_text_blocks(str(part.get(kind, ""))))
    elif content is not None:
        blocks.extend(_text_blocks(_text_of(content, where)))
    for call in message.get("tool_calls") or []:
        blocks.append(_tool_use_block(call, where))
    return blocks


def _tool_use_block(call: Any, where: str) -> JSON:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not function.get("name") or not isinstance(function["name"], str):
        raise TranslationError(f"{where}: tool_calls entries need function.name, a string")
    if not isinstance(call.get("id") or "", str):
        raise TranslationError(f"{where}: a tool call's id must be a string")
    name = function["name"]
    tool_input = _parse_arguments(function.get("arguments"), name, where)
    if not isinstance(tool_input, dict):
        raise TranslationError(f"{where}: tool call {quoted(name)} arguments must be a JSON object")
    return {"type": "tool_use", "id": call.get("id") or _new_id("toolu_"), "name": name, "input": tool_input}


def _parse_arguments(arguments: Any, name: str, where: str) -> Any:
    """A tool call's arguments as the object Anthropic's `input` is: from a JSON string ("" or none: no arguments),
    or as given."""
    if isinstance(arguments, dict):
        return arguments
    if arguments is None:
        return {}
    if not isinstance(arguments, str):
        raise TranslationError(
            f"{where}: tool call {quoted(name)} arguments must be a JSON object, or a string of one; not "
            f"{type(arguments).__name__}"
        )
    try:
        # msgspec, not json: json takes a lone surrogate ("\\ud800"), which no body sent on can encode, and fails on
        # a number of more than 4,300 digits with a plain ValueError
        return msgspec.json.decode(arguments or "{}")
    except msgspec.MsgspecError as exc:
        raise TranslationError(f"{where}: tool call {quoted(name)} has invalid JSON arguments: {exc}") from exc
    except RecursionError:
        raise TranslationError(f"{where}: tool call {quoted(name)} has arguments nested too deeply") from None


def _tool_result_block(message: JSON, position: int) -> JSON:
    where = f"messages[{position}]"
    tool_call_id = message.get("tool_call_id")
    if not tool_call_id:
        raise TranslationError(f"{where}: tool messages need tool_call_id")
    block: JSON = {"type": "tool_result", "tool_use_id": tool_call_id}
    text = _text_of(message.get("content"), where)
    if text:
        block["content"] = text
    return block


def _tool_params(body: JSON) -> JSON:
    tools = body.get("tools")
    if not tools:
        return {}
    out: JSON = {"tools": [_tool_definition(tool, i) for i, tool in enumerate(tools)]}
    choice = _tool_choice(body.get("tool_choice"))
    if body.get("parallel_tool_calls") is False:
        choice = choice or {"type": "auto"}
        # Anthropic's "none" choice has no such flag; with no tool calls it would be moot.
        if choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
    if choice:
        out["tool_choice"] = choice
    return out


def _tool_definition(tool: Any, index: int) -> JSON:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        raise TranslationError(f"tools[{index}]: only function tools are supported")
    function = tool.get("function")
    if not isinstance(function, dict) or not function.get("name") or not isinstance(function["name"], str):
        raise TranslationError(f"tools[{index}]: function.name is required, a string")
    if not isinstance(function.get("parameters") or {}, dict):
        raise TranslationError(f"tools[{index}]: function.parameters must be an object")
    definition: JSON = {"name": function["name"]}
    if function.get("description"):
        definition["description"] = function["description"]
    definition["input_schema"] = function.get("parameters") or {"type": "object", "properties": {}}
    return definition


def _tool_choice(choice: Any) -> JSON | None:
    if choice is None:
        return None
    simple = {"auto": "auto", "required": "any", "none": "none"}
    if isinstance(choice, str) and choice in simple:
        return {"type": simple[choice]}
    if isinstance(choice, dict) and choice.get("type") == "function":
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if isinstance(name, str) and name:
            return {"type": "tool", "name": name}
    raise TranslationError(f"tool_choice: {quoted(choice)} is not one Anthropic can take")


# -------------------------------------------------------------------------- response


THINKING_TYPES = ("thinking", "redacted_thinking")


def from_messages_response(resp: JSON, model: str, json_answer: bool = False) -> JSON:
    """Translate an Anthropic message into an OpenAI chat.completion object (`json_answer`: the request forced the
    answer tool, whose input is the answer's text).

    Thinking blocks ride along as `message.thinking_blocks`, signatures included, so a client of
    /v1/messages gets them back and can send them with its next turn, as Anthropic requires."""
    blocks = resp.get("content")
    if not isinstance(blocks, list):  # no message at all (`{}`, content null): nothing to read, not an empty answer
        raise ValueError("a message without a list of content blocks")
    texts, tool_calls = _split_content(blocks)
    stop = resp.get("stop_reason")
    if json_answer:
        answers = [c["function"]["arguments"] for c in tool_calls if c["function"]["name"] == JSON_ANSWER_TOOL]
        tool_calls = [c for c in tool_calls if c["function"]["name"] != JSON_ANSWER_TOOL]
        texts += answers
        stop = "end_turn" if answers and stop == "tool_use" else stop
    message: JSON = {
        "role": "assistant",
        "content": "".join(texts) if texts or not tool_calls else None,
        "refusal": None,
    }
    thinking = [block for block in blocks if isinstance(block, dict) and block.get("type") in THINKING_TYPES]
    if thinking:
        message["thinking_blocks"] = thinking
    if tool_calls:
        message["tool_calls"] = tool_calls
    completion: JSON = {
        "id": _completion_id(resp.get("id")),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": _map_stop_reason(stop),
            }
        ],
    }
    usage = _openai_usage(resp.get("usage"))
    if usage is not None:
        completion["usage"] = usage
    return completion


def _split_content(blocks: list[JSON]) -> tuple[list[str], list[JSON]]:
    texts: list[str] = []
    tool_calls: list[JSON] = []
    for block in blocks:
        if block.get("type") == "text":
            texts.append(block.get("text", ""))
        elif block.get("type") == "tool_use":
            tool_calls.append(
                {
                    "id": block["id"],
                    "type": "function",
                    "function": {
                        "name": block["name"],
                        "arguments": json.dumps(block.get("input") or {}, ensure_ascii=False),
                    },
                }
            )
        # thinking / server-tool blocks have no chat.completions equivalent.
    return texts, tool_calls


def _map_stop_reason(stop_reason: Any) -> str | None:
    """None for none (an answer broken off before its end: never cached); a reason that is no text is no reason."""
    if not isinstance(stop_reason, str) or not stop_reason:
        return None
    return _FINISH_REASONS.get(stop_reason, stop_reason)


def _openai_usage(usage: Any) -> JSON | None:
    """Anthropic's usage in OpenAI's terms, or None when it says nothing usable (none, `{}`, no count of the input or
    of the output, a count that is no count, as `Usage.from_openai` reads one): such an answer is unmetered and charged
    its estimate, not zero tokens."""
    if not isinstance(usage, dict):
        return None
    counts = [usage.get("input_tokens"), usage.get("output_tokens")]
    if None in counts or not all(is_count(count) for count in counts):
        return None
    # Anthropic's input_tokens exclude cached tokens; OpenAI's prompt_tokens include them.
    cache_read = token_count(usage.get("cache_read_input_tokens"))
    cache_write = token_count(usage.get("cache_creation_input_tokens"))
    prompt = token_count(usage.get("input_tokens")) + cache_read + cache_write
    completion = token_count(usage.get("output_tokens"))
    details: JSON = {"cached_tokens": cache_read}
    if cache_write:
        # Not OpenAI fields: kept so an Anthropic client of /v1/messages gets its usage back as it was, and so writes
        # kept for an hour (twice an input token's price, against 1.25 times for five minutes) are charged as such.
        details["cache_creation_tokens"] = cache_write
        split = usage.get("cache_creation")
        hour = token_count(split.get("ephemeral_1h_input_tokens")) if isinstance(split, dict) else 0
        if hour:
            details["cache_creation_1h_tokens"] = min(hour, cache_write)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": details,
    }


def _completion_id(anthropic_id: Any) -> str:
    return f"chatcmpl-{anthropic_id}" if anthropic_id else _new_id("chatcmpl-")


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


# ------------------------------------------------------------------------- streaming


class StreamTranslator:
    """Turns Anthropic SSE events into OpenAI chat.completion.chunk dicts, one event at a time."""

    def __init__(self, model: str, include_usage: bool, json_answer: bool = False) -> None:
        self.model = model
        self.include_usage = include_usage
        self.json_answer = json_answer  # the answer tool's input is the answer's text
        self._answer_blocks: set[int] = set()
        self.id = _new_id("chatcmpl-")
        self.created = int(time.time())
        self._anthropic_usage: JSON | None = None
        self._output_counted = False  # a message_delta said how many tokens the answer took
        self._tool_index_by_block: dict[int, int] = {}
        self._thinking_by_block: dict[int, int] = {}
        self._blocks: list[bool] = []  # by content block index: whether it is still open
        self._finished = False
        self._stopped = False  # message_stop arrived
        # The role's chunk, held until the answer's first piece: an error event before any (an overload, a rate
        # limit, as Anthropic sends them right after message_start) is then an error the client gets as its status
        # and a router falls back on, not a stream already begun.
        self._greeting: JSON | None = None

    @property
    def finished(self) -> bool:
        """The answer ended (a stop reason or message_stop arrived), rather than being cut off."""
        return self._finished

    @property
    def usage(self) -> JSON | None:
        """OpenAI-shaped usage of the answer; None when no message_delta counted its output: message_start's count
        of it is a placeholder (1), and an answer of unknown length is charged its estimate, not one token."""
        if self._anthropic_usage is None or not self._output_counted:
            return None
        return _openai_usage(self._anthropic_usage)

    def feed(self, event: str, data: JSON) -> list[JSON]:
        handler = {
            "message_start": self._on_message_start,
            "content_block_start": self._on_block_start,
            "content_block_delta": self._on_block_delta,
            "content_block_stop": self._on_block_stop,
            "message_delta": self._on_message_delta,
            "message_stop": self._on_message_stop,
            "error": self._on_error,
        }.get(event)
        # ping and event types added later carry nothing to forward.
        if handler is None:
            return []
        if self._anthropic_usage is None and event not in ("message_start", "error"):
            # A stream that does not start with its message: not an answer (a stop alone was an empty one).
            raise ValueError(f"a {event} event before message_start")
        return self._greeted(handler(data))

    def _greeted(self, chunks: list[JSON]) -> list[JSON]:
        if self._greeting is None or not chunks:
            return chunks
        greeting, self._greeting = self._greeting, None
        return [greeting, *chunks]

    def _on_message_start(self, data: JSON) -> list[JSON]:
        message = data.get("message") or {}
        if message.get("id"):
            self.id = f"chatcmpl-{message['id']}"
        usage = message.get("usage")
        self._anthropic_usage = dict(usage) if isinstance(usage, dict) else {}
        self._greeting = self._chunk({"role": "assistant", "content": ""})
        return []

    def _block_index(self, data: JSON, *, start: bool = False) -> int:
        """The content block an event is about: the next one when it starts one (blocks are numbered in order, as
        Anthropic's SDK, which appends each, reads them), else one started and not yet stopped. Any other is part
        of the answer lost, or put in the wrong place, in the translation."""
        index = data.get("index")
        if type(index) is not int:
            raise ValueError("a content block's index is not a number")
        if start:
            if index != len(self._blocks):
                raise ValueError(f"content block {index} started out of order")
            self._blocks.append(True)
        elif not (0 <= index < len(self._blocks) and self._blocks[index]):
            raise ValueError(f"an event of content block {index}, which is not open")
        return index

    def _on_block_stop(self, data: JSON) -> list[JSON]:
        self._blocks[self._block_index(data)] = False
        return []

    def _on_block_start(self, data: JSON) -> list[JSON]:
        index = self._block_index(data, start=True)
        block = data.get("content_block") or {}
        if block.get("type") in THINKING_TYPES:
            slot = len(self._thinking_by_block)
            self._thinking_by_block[index] = slot
            return [self._chunk({"thinking_blocks": [{"index": slot, **block}]})]
        if block.get("type") == "text" and block.get("text"):
            return [self._chunk({"content": block["text"]})]
        if block.get("type") != "tool_use":
            return []
        if self.json_answer and block.get("name") == JSON_ANSWER_TOOL:
            self._answer_blocks.add(index)
            return (
                [self._chunk({"content": json.dumps(block["input"], ensure_ascii=False)})] if block.get("input") else []
            )
        tool_index = len(self._tool_index_by_block)
        self._tool_index_by_block[index] = tool_index
        arguments = json.dumps(block["input"], ensure_ascii=False) if block.get("input") else ""
        call = {
            "index": tool_index,
            "id": block.get("id"),
            "type": "function",
            "function": {"name": block.get("name"), "arguments": arguments},
        }
        return [self._chunk({"tool_calls": [call]})]

    def _on_block_delta(self, data: JSON) -> list[JSON]:
        index = self._block_index(data)
        delta = data.get("delta") or {}
        if delta.get("type") in ("thinking_delta", "signature_delta"):
            slot = self._thinking_by_block.get(index)
            field = "thinking" if delta["type"] == "thinking_delta" else "signature"
            if slot is None or not delta.get(field):
                return []
            return [self._chunk({"thinking_blocks": [{"index": slot, field: delta[field]}]})]
        if delta.get("type") == "text_delta" and delta.get("text"):
            return [self._chunk({"content": delta["text"]})]
        if delta.get("type") == "input_json_delta" and delta.get("partial_json"):
            if index in self._answer_blocks:
                return [self._chunk({"content": delta["partial_json"]})]
            tool_index = self._tool_index_by_block.get(index)
            if tool_index is None:
                return []
            call = {"index": tool_index, "function": {"arguments": delta["partial_json"]}}
            return [self._chunk({"tool_calls": [call]})]
        return []

    def _on_message_delta(self, data: JSON) -> list[JSON]:
        # message_delta usage is cumulative, so later values replace earlier ones.
        usage = data.get("usage")
        latest = {k: v for k, v in usage.items() if v is not None} if isinstance(usage, dict) else {}
        self._anthropic_usage = {**(self._anthropic_usage or {}), **latest}
        self._output_counted = self._output_counted or "output_tokens" in latest
        finish_reason = _map_stop_reason((data.get("delta") or {}).get("stop_reason"))
        if finish_reason == "tool_calls" and self._answer_blocks and not self._tool_index_by_block:
            finish_reason = "stop"  # the answer tool's input was the answer
        if finish_reason is None or self._finished:
            return []
        self._finished = True
        return [self._chunk({}, finish_reason)]

    def close(self) -> list[JSON]:
        """The chunks a stream that ended after its stop reason but before message_stop still owes (its usage)."""
        return [] if self._stopped else self._greeted(self._on_message_stop({}))

    def _on_message_stop(self, data: JSON) -> list[JSON]:
        chunks: list[JSON] = []  # a stream stopped without its stop reason says nothing of having ended
        self._finished = self._stopped = True
        usage = self.usage
        if self.include_usage and usage is not None:  # none to report: the answer is charged its estimate
            chunks.append(self._envelope([], usage))
        return chunks

    def _on_error(self, data: JSON) -> list[JSON]:
        kind, message = translate_error(502, data)
        raise UpstreamStreamError(message, kind)

    def _chunk(self, delta: JSON, finish_reason: str | None = None) -> JSON:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return self._envelope([choice], None)

    def _envelope(self, choices: list[JSON], usage: JSON | None) -> JSON:
        chunk: JSON = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if self.include_usage:
            # OpenAI sends "usage": null on every chunk but the final usage-only one.
            chunk["usage"] = usage
        return chunk


# ---------------------------------------------------------------------------- errors


def translate_error(status: int, body: JSON | None) -> tuple[str, str]:
    """(error_type, message) from an Anthropic error body, falling back to the HTTP status."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and given(error.get("message")):
        kind = error.get("type")
        return (kind if isinstance(kind, str) and kind else _error_type_for(status)), error_text(error["message"])
    if isinstance(body, dict) and (found := error_message(body)) is not None:
        return _error_type_for(status), found
    return _error_type_for(status), f"Anthropic returned HTTP {status}"


def _error_type_for(status: int) -> str:
    if status in _ERROR_TYPE_BY_STATUS:
        return _ERROR_TYPE_BY_STATUS[status]
    return "invalid_request_error" if 400 <= status < 500 else "api_error"

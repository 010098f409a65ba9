"""The pipeline's chat-completions answer as Anthropic's Messages answer: a `message`, or the stream
of events the Anthropic SDK expects (`message_start`, `content_block_*`, `message_delta`, `message_stop`)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from helix.call import token_count
from helix.translate.parts import BROKEN_OFF, ToolCalls, Untranslatable, broken_off, content_text, one_choice

JSON = dict[str, Any]

_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def message_id(chat_id: Any) -> str:
    """Anthropic's own id when the answer came from Anthropic (`chatcmpl-msg_...`), the chat answer's id after `msg_`,
    or a fresh `msg_` id when it has none that is text (an object's id was its Python repr: "msg_{'a': 1}")."""
    text = chat_id if type(chat_id) is str else ""
    if text.startswith("chatcmpl-msg_"):
        return text.removeprefix("chatcmpl-")
    return "msg_" + (text.removeprefix("chatcmpl-") or uuid.uuid4().hex[:24])


# Anthropic's own reason that OpenAI has no word for, kept by the translation of Anthropic's answers, given back.
_ANTHROPIC_ONLY = frozenset({"pause_turn"})


def stop_reason(finish_reason: Any) -> str | None:
    if finish_reason is None:
        return None
    reason = str(finish_reason)
    return reason if reason in _ANTHROPIC_ONLY else _STOP_REASONS.get(reason, "end_turn")


def anthropic_usage(usage: Any) -> JSON:
    """OpenAI usage in Anthropic's terms: input_tokens there exclude the tokens read from the prompt cache."""
    usage = usage if isinstance(usage, dict) else {}
    details = usage.get("prompt_tokens_details")
    details = details if isinstance(details, dict) else {}
    cached, written = token_count(details.get("cached_tokens")), token_count(details.get("cache_creation_tokens"))
    counts: JSON = {
        "input_tokens": max(0, token_count(usage.get("prompt_tokens")) - cached - written),
        "output_tokens": token_count(usage.get("completion_tokens")),
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": cached,
    }
    for_an_hour = min(token_count(details.get("cache_creation_1h_tokens")), written)
    if for_an_hour:
        split = {"ephemeral_5m_input_tokens": written - for_an_hour, "ephemeral_1h_input_tokens": for_an_hour}
        counts["cache_creation"] = split
    return counts


def _thinking_blocks(value: Any) -> list[JSON]:
    """The thinking blocks of a message or delta: passed on unchecked from an OpenAI-kind provider, so only
    those that are objects."""
    return [block for block in value if isinstance(block, dict)] if isinstance(value, list) else []


def _index(value: Any) -> int:
    return value if type(value) is int else 0


def _arguments(text: str) -> Any:
    try:
        value = json.loads(text or "{}")
    except (json.JSONDecodeError, RecursionError):
        return {"arguments": text}
    return value if isinstance(value, dict) else {"value": value}


def to_message(completion: JSON, model: str, provider: str) -> JSON:
    """The chat answer as an Anthropic message; a 502 when it broke off (`BROKEN_OFF`), which no stop reason says."""
    choice = (completion.get("choices") or [{}])[0]
    if choice.get("finish_reason") in BROKEN_OFF:
        raise broken_off(provider, choice["finish_reason"])
    message = choice.get("message") or {}
    content: list[JSON] = [
        {k: v for k, v in block.items() if k != "index"} for block in _thinking_blocks(message.get("thinking_blocks"))
    ]
    refusal = content_text(message.get("refusal"))
    text = content_text(message.get("content")) or refusal
    if text:
        content.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id") or "toolu_" + uuid.uuid4().hex[:24],
                "name": function.get("name"),
                "input": _arguments(function.get("arguments") or ""),
            }
        )
    return {
        "id": message_id(completion.get("id")),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "refusal" if refusal else stop_reason(choice.get("finish_reason")),
        "stop_sequence": None,
        "usage": anthropic_usage(completion.get("usage")),
    }


class MessageEvents:
    """Chat chunks in, Anthropic (event, data) pairs out; call `finish()` after the last chunk."""

    def __init__(self, model: str, provider: str) -> None:
        self.model = model
        self._provider = provider
        self._started = False
        self._block: tuple[str, int] | None = None  # ("text", -1) or ("tool", tool index) of the open block
        self._index = -1
        self._calls = ToolCalls()
        self._ids: list[str] = []  # each tool call's id, by its number
        self._live: int | None = None  # the tool call streamed as it comes
        self._unsent = ""  # its arguments' leading spaces, until they show whether they open an object; or all of
        # them, when they do not (sent at the block's end)
        self._wrapped: bool | None = None  # whether its arguments open no object; None: not yet known
        self._held: dict[int, JSON] = {}  # the others: id, name and arguments so far, sent at the end
        self._stop: str | None = None
        self._refused = False  # an OpenAI model's refusal: Anthropic's stop reason says so
        self._usage: Any = None

    def feed(self, chunk: JSON) -> list[tuple[str, JSON]]:
        events: list[tuple[str, JSON]] = []
        if not self._started:
            self._started = True
            events.append(("message_start", self._start(chunk)))
        if chunk.get("usage"):
            self._usage = chunk["usage"]
        for choice in one_choice(chunk):
            delta = choice.get("delta") or {}
            for piece in _thinking_blocks(delta.get("thinking_blocks")):
                events += self._thinking(piece)
            refusal = content_text(delta.get("refusal"))
            self._refused = self._refused or bool(refusal)
            text = content_text(delta.get("content")) or refusal
            if text:
                events += self._open(("text", -1), {"type": "text", "text": ""})
                events.append(self._delta({"type": "text_delta", "text": text}))
            for call in delta.get("tool_calls") or []:
                events += self._tool(call)
            if choice.get("finish_reason") in BROKEN_OFF:
                raise broken_off(self._provider, choice["finish_reason"])  # an error event, not a message_stop
            if choice.get("finish_reason"):
                self._stop = stop_reason(choice["finish_reason"])
        return events

    def finish(self) -> list[tuple[str, JSON]]:
        events = [] if self._started else [("message_start", self._start({}))]
        events += self._held_calls()
        events += self._close()
        usage = anthropic_usage(self._usage)
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {
                        "stop_reason": "refusal" if self._refused else self._stop,
                        "stop_sequence": None,
                    },
                    "usage": usage,
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        return events

    def _start(self, chunk: JSON) -> JSON:
        message: JSON = {
            "id": message_id(chunk.get("id")),
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            # Usage is only known at the end of an OpenAI stream: message_delta carries it.
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return {"type": "message_start", "message": message}

    def _thinking(self, piece: JSON) -> list[tuple[str, JSON]]:
        key = ("thinking", _index(piece.get("index")))
        if piece.get("type") == "redacted_thinking":
            return self._open(key, {"type": "redacted_thinking", "data": piece.get("data", "")})
        events = self._open(key, {"type": "thinking", "thinking": "", "signature": ""})
        if isinstance(thinking := piece.get("thinking"), str) and thinking:
            events.append(self._delta({"type": "thinking_delta", "thinking": thinking}))
        if isinstance(signature := piece.get("signature"), str) and signature:
            events.append(self._delta({"type": "signature_delta", "signature": signature}))
        return events

    def _tool(self, call: JSON) -> list[tuple[str, JSON]]:
        """The first tool call streams as it comes; the others are held and sent whole at the end: an Anthropic
        stream has one block open at a time, and providers interleave parallel calls' arguments."""
        function = call.get("function") or {}
        number = self._call_number(call)
        arguments = function.get("arguments") or ""
        if number in self._held:
            self._held[number]["arguments"] += arguments
            return []
        key = ("tool", number)
        if self._live is not None and number != self._live:  # a later call: held
            self._held[number] = {"id": self._ids[number], "name": function.get("name") or "", "arguments": arguments}
            return []
        if self._live is not None and self._block != key:  # text came between: its block is closed
            raise Untranslatable(f"a tool call of index {call.get('index') or 0} out of its order")
        events: list[tuple[str, JSON]] = []
        if self._live is None:
            self._live = number
            events += self._open(key, self._tool_block(self._ids[number], function.get("name") or ""))
        return events + self._live_arguments(arguments)

    def _live_arguments(self, arguments: str) -> list[tuple[str, JSON]]:
        """The live call's arguments as they come. Ones that open no object (`null`, `[1, 2]`, text that is no
        JSON) are held to the block's end and sent as a whole answer's are (`_arguments`): Anthropic's `input` is
        always an object, and only the whole text shows whether it is JSON at all."""
        if self._wrapped is None:
            self._unsent += arguments
            if not self._unsent.strip():
                return []
            arguments, self._unsent = self._unsent, ""
            self._wrapped = not arguments.lstrip().startswith("{")
        if self._wrapped:
            self._unsent += arguments
            return []
        return [self._delta({"type": "input_json_delta", "partial_json": arguments})] if arguments else []

    def _call_number(self, call: JSON) -> int:
        """Which tool call of the answer a delta belongs to (`ToolCalls`); a call the provider gave no id gets one."""
        index = call.get("index") or 0
        if index < 0:
            raise Untranslatable(f"a tool call of index {index} is no place in a list")
        number = self._calls.number(index, call.get("id"))
        if number == len(self._ids):
            self._ids.append(self._calls.ids[number] or "toolu_" + uuid.uuid4().hex[:24])
        return number

    @staticmethod
    def _tool_block(call_id: str, name: str) -> JSON:
        return {"type": "tool_use", "id": call_id, "name": name, "input": {}}

    def _held_calls(self) -> list[tuple[str, JSON]]:
        events: list[tuple[str, JSON]] = []
        for number, held in self._held.items():
            events += self._open(("tool", number), self._tool_block(held["id"], held["name"]))
            if held["arguments"].strip():
                whole = held["arguments"]
                if not whole.lstrip().startswith("{"):
                    whole = json.dumps(_arguments(whole))
                events.append(self._delta({"type": "input_json_delta", "partial_json": whole}))
        self._held.clear()
        return events

    def _open(self, key: tuple[str, int], block: JSON) -> list[tuple[str, JSON]]:
        if self._block == key:
            return []
        events = self._close()
        self._index += 1
        self._block = key
        events.append(
            ("content_block_start", {"type": "content_block_start", "index": self._index, "content_block": block})
        )
        return events

    def _close(self) -> list[tuple[str, JSON]]:
        if self._block is None:
            return []
        events = []
        if self._wrapped and self._block == ("tool", self._live):
            self._wrapped = False
            whole, self._unsent = self._unsent, ""
            events.append(self._delta({"type": "input_json_delta", "partial_json": json.dumps(_arguments(whole))}))
        self._block = None
        return [*events, ("content_block_stop", {"type": "content_block_stop", "index": self._index})]

    def _delta(self, delta: JSON) -> tuple[str, JSON]:
        return ("content_block_delta", {"type": "content_block_delta", "index": self._index, "delta": delta})

"""The pipeline's chat-completions answer as an OpenAI Responses answer: a `response` object, or the
stream of typed events (`response.created` ... `response.output_text.delta` ... `response.completed`)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from helix.call import token_count
from helix.translate.parts import BROKEN_OFF, ToolCalls, content_text, one_choice, tool_number

JSON = dict[str, Any]
_ECHOED = (
    "instructions",
    "max_output_tokens",
    "metadata",
    "parallel_tool_calls",
    "temperature",
    "tool_choice",
    "tools",
)
_ECHO_DEFAULTS: JSON = {"parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "metadata": {}}


def _id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


def responses_usage(usage: Any) -> JSON | None:
    if not isinstance(usage, dict):
        return None
    details, completion_details = usage.get("prompt_tokens_details"), usage.get("completion_tokens_details")
    cached = token_count(details.get("cached_tokens")) if isinstance(details, dict) else 0
    reasoning = token_count(completion_details.get("reasoning_tokens")) if isinstance(completion_details, dict) else 0
    prompt, completion = token_count(usage.get("prompt_tokens")), token_count(usage.get("completion_tokens"))
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": prompt + completion,
    }


_INCOMPLETE = {"length": {"reason": "max_output_tokens"}, "content_filter": {"reason": "content_filter"}}


class ResponseShell:
    """The fields every `response` object carries, echoed from the request as OpenAI does."""

    def __init__(self, request: JSON, model: str) -> None:
        self.id = _id("resp_")
        self.created = int(time.time())
        self.model = model
        self.echo = {name: request.get(name, _ECHO_DEFAULTS.get(name)) for name in _ECHOED}
        self.echo["text"] = request.get("text") or {"format": {"type": "text"}}

    def response(self, status: str, output: list[JSON], usage: JSON | None, finish: Any = None) -> JSON:
        """The response object; one whose answer was cut (`length`), filtered or broke off (`BROKEN_OFF`) says so in
        its status, as OpenAI's does, never "completed"."""
        incomplete = _INCOMPLETE.get(finish) if isinstance(finish, str) else None
        error = None
        if status == "completed" and finish in BROKEN_OFF:
            status, error = "failed", {"code": "server_error", "message": f"the model's answer broke off ({finish})"}
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": "incomplete" if incomplete and status == "completed" else status,
            "model": self.model,
            "output": output,
            "usage": usage,
            "error": error,
            "incomplete_details": incomplete,
            "previous_response_id": None,
            "top_p": None,
            **self.echo,
        }


def _message_item(text: str, status: str = "completed", item_id: str | None = None) -> JSON:
    part = {"type": "output_text", "text": text, "annotations": []}
    return {
        "type": "message",
        "id": item_id or _id("msg_"),
        "status": status,
        "role": "assistant",
        "content": [part] if status == "completed" else [],
    }


def _call_item(call: JSON, status: str = "completed", item_id: str | None = None) -> JSON:
    function = call.get("function") or {}
    return {
        "type": "function_call",
        "id": item_id or _id("fc_"),
        "call_id": call.get("id") or _id("call_"),
        "name": function.get("name") or "",
        "arguments": function.get("arguments") or "",
        "status": status,
    }


def to_response(completion: JSON, request: JSON, model: str) -> JSON:
    choice = (completion.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    output: list[JSON] = []
    if text := content_text(message.get("content")):
        output.append(_message_item(text))
    output += [_call_item(call) for call in message.get("tool_calls") or []]
    usage = responses_usage(completion.get("usage"))
    return ResponseShell(request, model).response("completed", output, usage, choice.get("finish_reason"))


class ResponseEvents:
    """Chat chunks in, Responses stream events out (each with its sequence number); then `finish()`."""

    def __init__(self, request: JSON, model: str) -> None:
        self._shell = ResponseShell(request, model)
        self._sequence = 0
        self._started = False
        self._items: list[JSON] = []  # finished and open output items, in order
        self._open: JSON | None = None
        self._text: list[str] = []
        self._tool_item: dict[int, JSON] = {}  # a tool call's number (`ToolCalls`) -> its output item
        self._calls = ToolCalls()
        self._finish: Any = None
        self._usage: Any = None

    @property
    def sequence(self) -> int:
        """The number of the next event: an error event Helix ends the stream with takes it."""
        return self._sequence

    def _event(self, kind: str, **fields: Any) -> JSON:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event

    def feed(self, chunk: JSON) -> list[JSON]:
        events: list[JSON] = []
        if not self._started:
            self._started = True
            shell = self._shell.response("in_progress", [], None)
            events.append(self._event("response.created", response=shell))
            events.append(self._event("response.in_progress", response=shell))
        if chunk.get("usage"):
            self._usage = chunk["usage"]
        for choice in one_choice(chunk):
            delta = choice.get("delta") or {}
            if text := content_text(delta.get("content")):
                events += self._text_delta(text)
            for call in delta.get("tool_calls") or []:
                events += self._tool_delta(call)
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
        return events

    def _index(self) -> int:
        return len(self._items) - 1

    def _text_delta(self, text: str) -> list[JSON]:
        events: list[JSON] = []
        if self._open is None or self._open["type"] != "message":
            events += self._close()
            self._open = _message_item("", "in_progress")
            self._items.append(self._open)
            self._text = []
            events.append(self._event("response.output_item.added", output_index=self._index(), item=dict(self._open)))
            part = {"type": "output_text", "text": "", "annotations": []}
            events.append(self._part_event("response.content_part.added", part=part))
        self._text.append(text)
        events.append(self._part_event("response.output_text.delta", delta=text, logprobs=[]))
        return events

    def _part_event(self, kind: str, **fields: Any) -> JSON:
        assert self._open is not None
        return self._event(kind, item_id=self._open["id"], output_index=self._index(), content_index=0, **fields)

    def _tool_delta(self, call: JSON) -> list[JSON]:
        events: list[JSON] = []
        current = next((i for i, item in self._tool_item.items() if item is self._open), None)
        number = tool_number(call, self._calls, self._tool_item, current)
        item = self._tool_item.get(number)
        if item is None:
            events += self._close()
            item = _call_item(call, "in_progress")
            item["arguments"] = ""  # this delta's own arguments come as the item's first delta, below
            self._tool_item[number] = item
            self._open = item
            self._items.append(item)
            events.append(self._event("response.output_item.added", output_index=self._index(), item=dict(item)))
        arguments = (call.get("function") or {}).get("arguments") or ""
        if arguments:
            item["arguments"] += arguments
            events.append(
                self._event(
                    "response.function_call_arguments.delta",
                    item_id=item["id"],
                    output_index=self._items.index(item),
                    delta=arguments,
                )
            )
        return events

    def _close(self) -> list[JSON]:
        item, self._open = self._open, None
        if item is None:
            return []
        index = self._items.index(item)
        events: list[JSON] = []
        if item["type"] == "message":
            text = "".join(self._text)
            part = {"type": "output_text", "text": text, "annotations": []}
            common = {"item_id": item["id"], "output_index": index, "content_index": 0}
            events.append(self._event("response.output_text.done", text=text, logprobs=[], **common))
            events.append(self._event("response.content_part.done", part=part, **common))
            item.update(status="completed", content=[part])
        else:
            events.append(
                self._event(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=index,
                    name=item["name"],
                    arguments=item["arguments"],
                )
            )
            item["status"] = "completed"
        events.append(self._event("response.output_item.done", output_index=index, item=item))
        return events

    def finish(self) -> list[JSON]:
        events = self.feed({}) if not self._started else []
        for item in self._items:
            if item["status"] != "completed":
                self._open = item
                events += self._close()
        response = self._shell.response("completed", self._items, responses_usage(self._usage), self._finish)
        kind = f"response.{response['status']}"  # completed, incomplete or failed
        events.append(self._event(kind, response=response))
        return events

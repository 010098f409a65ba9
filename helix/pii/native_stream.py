"""Answers passed through in their provider's own shape, the Responses API (`response` objects and typed
events) and legacy completions (`choices[].text`), rewritten by the PII stage: placeholders restored,
and with `scan_responses = "client"` PII the model wrote redacted.

Deltas go through one channel per text (a `StreamRestorer` or a `StreamScrubber`), which may hold text
back; each channel's latest delta event is held back too, so what the channel still holds at its end
joins that event instead of needing an event of its own. Every other event (a `*.done` event, the
finished `response`) carries whole strings and is rewritten as a whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Literal, Protocol

from helix.pii.restore import restore

# What a channel's text is: the answer (JSON text when it was asked for as JSON), a tool call's arguments (JSON text),
# or other text the model wrote (its reasoning, a refusal).
TextKind = Literal["answer", "arguments", "text"]
_DELTAS: dict[str, TextKind] = {
    "response.output_text.delta": "answer",
    "response.function_call_arguments.delta": "arguments",
    "response.refusal.delta": "text",
    "response.reasoning_text.delta": "text",
    "response.reasoning_summary_text.delta": "text",
}
_DONE = {kind.removesuffix(".delta") + ".done": kind for kind in _DELTAS}


class Channel(Protocol):
    async def feed(self, delta: str) -> str: ...

    async def flush(self) -> str: ...


Event = dict[str, Any]


def restore_strings(value: Any, mapping: Mapping[str, str], json_escape: bool = False, json_text: bool = False) -> Any:
    """`value` with every placeholder in every string restored (tool `arguments` are JSON text, and so is an answer's
    `text` when it was asked for as JSON: `json_text`)."""
    if isinstance(value, str):
        return restore(value, mapping, json_escape=json_escape)
    if isinstance(value, list):
        return [restore_strings(item, mapping, json_escape, json_text) for item in value]
    if isinstance(value, dict):
        return {
            k: restore_strings(v, mapping, json_escape or k == "arguments" or (json_text and k == "text"), json_text)
            for k, v in value.items()
        }
    return value


async def transform_native_stream(
    events: AsyncIterator[Event], make: Callable[[TextKind], Channel], whole: Callable[[Event], Awaitable[Event]]
) -> AsyncIterator[Event]:
    """Rewrite each delta through a channel made by `make(kind of text)`, every other event by `whole`."""
    channels: dict[Any, Channel] = {}
    held: dict[Any, Event] = {}
    async for event in events:
        kind = event.get("type")
        if kind in _DELTAS and isinstance(event.get("delta"), str):
            key = _channel_key(event, kind)
            if key not in channels:
                channels[key] = make(_DELTAS[kind])
            previous = held.pop(key, None)
            if previous is not None:
                yield previous
            held[key] = {**event, "delta": await channels[key].feed(event["delta"])}
            continue
        if kind in _DONE:
            key = _channel_key(event, _DONE[kind])
            last, ending = held.pop(key, None), channels.pop(key, None)
            if last is not None:
                yield {**last, "delta": last["delta"] + (await ending.flush() if ending else "")}
        if "choices" in event:  # a legacy completions chunk
            yield await _completion_chunk(event, make, channels)
        else:
            yield await whole(event)
    for last in held.values():
        yield last


def _channel_key(event: Event, delta_kind: str) -> tuple[Any, ...]:
    """Which text an event writes: its item's, by its part (`content_index`) or its summary's part (`summary_index`)."""
    return (event.get("item_id"), event.get("content_index"), event.get("summary_index"), delta_kind)


async def _completion_chunk(chunk: Event, make: Callable[[TextKind], Channel], channels: dict[Any, Channel]) -> Event:
    choices = []
    for choice in chunk.get("choices") or []:
        if isinstance(choice, dict) and isinstance(choice.get("text"), str):
            key = ("choice", choice.get("index") or 0)
            if key not in channels:
                channels[key] = make("answer")
            text = await channels[key].feed(choice["text"])
            if choice.get("finish_reason"):
                text += await channels[key].flush()
            choice = {**choice, "text": text}
        choices.append(choice)
    return {**chunk, "choices": choices}

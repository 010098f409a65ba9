"""Placeholders restored in answers passed through in their provider's own shape: the Responses API
(`response` objects and typed events) and legacy completions (`choices[].text`).

Whole strings (a finished `response`, a `*.done` event) are restored in place, tool arguments JSON-aware.
Deltas go through a `StreamRestorer` per text channel, which holds back a partial placeholder; each
channel's latest delta event is held back too, so what the restorer still holds at the channel's end
joins that event instead of needing an event of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from helix.pii.restore import StreamRestorer, restore

_DELTAS = {"response.output_text.delta": False, "response.function_call_arguments.delta": True}
_DONE = {
    "response.output_text.done": "response.output_text.delta",
    "response.function_call_arguments.done": "response.function_call_arguments.delta",
}


def restore_strings(value: Any, mapping: Mapping[str, str], json_escape: bool = False) -> Any:
    """`value` with every placeholder in every string restored (tool `arguments` are JSON text)."""
    if isinstance(value, str):
        return restore(value, mapping, json_escape=json_escape)
    if isinstance(value, list):
        return [restore_strings(item, mapping, json_escape) for item in value]
    if isinstance(value, dict):
        return {k: restore_strings(v, mapping, json_escape or k == "arguments") for k, v in value.items()}
    return value


async def restore_native_stream(
    chunks: AsyncIterator[dict[str, Any]], mapping: Mapping[str, str]
) -> AsyncIterator[dict[str, Any]]:
    restorers: dict[Any, StreamRestorer] = {}
    held: dict[Any, dict[str, Any]] = {}
    async for event in chunks:
        kind = event.get("type")
        if kind in _DELTAS and isinstance(event.get("delta"), str):
            key = (event.get("item_id"), event.get("content_index"), kind)
            restorer = restorers.setdefault(key, StreamRestorer(mapping, json_escape=_DELTAS[kind]))
            previous = held.pop(key, None)
            if previous is not None:
                yield previous
            held[key] = {**event, "delta": restorer.feed(event["delta"])}
            continue
        if kind in _DONE:
            key = (event.get("item_id"), event.get("content_index"), _DONE[kind])
            last = held.pop(key, None)
            ending = restorers.pop(key, None)
            if last is not None:
                yield {**last, "delta": last["delta"] + (ending.flush() if ending else "")}
        if "choices" in event:  # a legacy completions chunk
            yield _completion_chunk(event, mapping, restorers)
        else:
            yield restore_strings(event, mapping)
    for last in held.values():
        yield last


def _completion_chunk(
    chunk: dict[str, Any], mapping: Mapping[str, str], restorers: dict[Any, StreamRestorer]
) -> dict[str, Any]:
    choices = []
    for choice in chunk.get("choices") or []:
        if isinstance(choice, dict) and isinstance(choice.get("text"), str):
            index = choice.get("index") or 0
            restorer = restorers.setdefault(("choice", index), StreamRestorer(mapping))
            text = restorer.feed(choice["text"])
            if choice.get("finish_reason"):
                text += restorer.flush()
            choice = {**choice, "text": text}
        choices.append(choice)
    return {**chunk, "choices": choices}

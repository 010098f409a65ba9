"""Find every text an upstream provider would see in an OpenAI request body and swap it in place.

Covered: chat.completions `messages[].content` (a string or a list of text/refusal parts; every role,
tool results included), `messages[].refusal`, `messages[].tool_calls[].function.arguments`, the
legacy `messages[].function_call.arguments`, embeddings `input` (a string or a list of strings;
token-id arrays are left alone) and legacy completions `prompt`.

Not covered: `messages[].name` (providers require `^[a-zA-Z0-9_-]+$`, which a placeholder breaks),
tool/function definitions (written by the developer, not the user), images, audio and files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping, MutableSequence
from typing import Any

TextsFn = Callable[[list[str]], list[str]]
Slot = tuple[Any, Any]  # (container, key): container[key] is a str

_TEXT_PART_KEYS = {"text": "text", "input_text": "text", "output_text": "text", "refusal": "refusal"}


def collect_and_replace(body: dict[str, Any], fn: TextsFn) -> int:
    """Call `fn` once with every text of `body`, write its results back; returns how many texts."""
    slots = list(_slots(body))
    if not slots:
        return 0
    replaced = fn([container[key] for container, key in slots])
    if len(replaced) != len(slots):
        raise ValueError(f"expected {len(slots)} texts back, got {len(replaced)}")
    for (container, key), text in zip(slots, replaced, strict=True):
        container[key] = text
    return len(slots)


def _slots(body: dict[str, Any]) -> Iterator[Slot]:
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict):
                yield from _message_slots(message)
    for key in ("input", "prompt"):
        yield from _str_or_list(body, key)


def _message_slots(message: dict[str, Any]) -> Iterator[Slot]:
    content = message.get("content")
    if isinstance(content, str):
        yield message, "content"
    elif isinstance(content, list):
        yield from _str_items(content)  # bare strings: not in the spec, but some clients send them
        for part in content:
            yield from _part_slots(part)
    if isinstance(message.get("refusal"), str):
        yield message, "refusal"
    for call in _list(message.get("tool_calls")):
        yield from _arguments(call.get("function") if isinstance(call, dict) else None)
    yield from _arguments(message.get("function_call"))


def _part_slots(part: Any) -> Iterator[Slot]:
    if isinstance(part, dict):
        key = _TEXT_PART_KEYS.get(part.get("type", "text"))
        if key and isinstance(part.get(key), str):
            yield part, key


def _arguments(function: Any) -> Iterator[Slot]:
    if isinstance(function, dict) and isinstance(function.get("arguments"), str):
        yield function, "arguments"


def _str_or_list(container: MutableMapping[str, Any], key: str) -> Iterator[Slot]:
    value = container.get(key)
    if isinstance(value, str):
        yield container, key
    elif isinstance(value, list):
        yield from _str_items(value)


def _str_items(items: MutableSequence[Any]) -> Iterator[Slot]:
    for i, item in enumerate(items):
        if isinstance(item, str):
            yield items, i


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []

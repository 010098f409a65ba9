"""Reading a chat answer's content, which providers send as text or as a list of parts; reading the fields a
request's translation copies into another API's request."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from helix.errors import InvalidRequest

JSON = dict[str, Any]


class Untranslatable(ValueError):
    """A provider's chat chunk that has no place in the stream of another API: the provider's fault (a 502 in an
    error event), never an answer passed on with a part missing or repeated."""


def content_text(content: Any) -> str:
    """The text of a chat message's or delta's `content`: itself when text, else its text parts joined (a
    provider that answers in parts); nothing else is text."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "".join(part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str))


def one_choice(chunk: JSON) -> list[JSON]:
    """A chunk's choices, for a client that asked for one answer (Anthropic's API, the Responses API have no `n`):
    another choice (its index checked a number already) would be text lost, or mixed into the answer."""
    choices: list[JSON] = chunk.get("choices") or []
    for choice in choices:
        if choice.get("index") or 0:
            raise Untranslatable(f"a choice of index {choice['index']} in a stream of one answer")
    return choices


def tool_index(call: JSON, seen: Container[int], current: int | None) -> int:
    """The index of a streamed tool call: one seen before must be the one still being written (`current`), as a
    block or output item once closed cannot take more arguments; a negative one is no place in a list."""
    index: int = call.get("index") or 0
    if index < 0 or (index != current and index in seen):
        raise Untranslatable(f"a tool call of index {index} out of its order")
    return index


def string_field(item: dict[str, Any], key: str, where: str, *, optional: bool = False) -> Any:
    """`item[key]`, which a translation copies as text into the other API's request (a tool's name, a call's id,
    an image's data): anything but a string (or, when `optional`, nothing) is a 400 naming it, rather than a request
    the provider refuses, or chokes on."""
    value = item.get(key)
    if not isinstance(value, str) and not (optional and value is None):
        raise InvalidRequest(f"{where}.{key} must be a string", param=f"{where}.{key}")
    return value


def object_field(item: dict[str, Any], key: str, where: str) -> Any:
    """`item[key]`, an object (a tool's schema, a call's input) a translation copies, or None when absent."""
    value = item.get(key)
    if value is not None and not isinstance(value, dict):
        raise InvalidRequest(f"{where}.{key} must be an object", param=f"{where}.{key}")
    return value

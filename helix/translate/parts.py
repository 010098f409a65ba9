"""Reading a chat answer's content, which providers send as text or as a list of parts; reading the fields a
request's translation copies into another API's request."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from helix.errors import InvalidRequest, UpstreamError

JSON = dict[str, Any]


# Finish reasons of an answer that broke off in the provider: OpenRouter's "error" (a failed generation), vLLM's
# "abort". A partial answer: never cached, and never passed to another API's client as one that ended well.
BROKEN_OFF = frozenset({"error", "abort"})


def broken_off(provider: str, reason: str) -> UpstreamError:
    """A 502 for an answer that ended with a `BROKEN_OFF` reason, for an API that has no way to say so in an answer."""
    return UpstreamError(
        f"{provider}: the provider's answer broke off (finish_reason {reason!r}): it is partial",
        status=502,
        type="upstream_error",
        code="upstream_broken_off",
        provider=provider,
    )


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


class ToolCalls:
    """Which tool call of a streamed answer each delta belongs to, numbered in the order the calls start: by the
    delta's index, and a new call when a delta of a known index brings another id (providers that send no index put
    every call at 0 and tell them apart by id alone)."""

    def __init__(self) -> None:
        self._latest: dict[int, int] = {}  # an index -> the number of the latest call at it
        self.ids: list[str | None] = []  # each call's id, by its number (None until a delta names it)

    def number(self, index: int, given_id: Any) -> int:
        fresh = given_id if isinstance(given_id, str) and given_id else None
        known = self._latest.get(index)
        if known is not None and (fresh is None or self.ids[known] in (None, fresh)):
            self.ids[known] = self.ids[known] or fresh
            return known
        self._latest[index] = len(self.ids)
        self.ids.append(fresh)
        return len(self.ids) - 1


def tool_number(call: JSON, calls: ToolCalls, seen: Container[int], current: int | None) -> int:
    """The number (`ToolCalls`) of a streamed tool call: one seen before must be the one still being written
    (`current`), as a block or output item once closed cannot take more arguments; a negative index is no place in
    a list."""
    index: int = call.get("index") or 0
    if index < 0:
        raise Untranslatable(f"a tool call of index {index} is no place in a list")
    number = calls.number(index, call.get("id"))
    if number != current and number in seen:
        raise Untranslatable(f"a tool call of index {index} out of its order")
    return number


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

"""An Anthropic Messages request (what the Anthropic SDK sends to /v1/messages) as an OpenAI chat request.

Used when a `/v1/messages` call is routed to an OpenAI-compatible provider. Calls routed to Anthropic
are sent as they came, never through here. What chat completions cannot express is dropped, not
refused: `thinking`, `top_k`, `cache_control` marks, and server tools other than custom ones.
"""

from __future__ import annotations

import json
import re
from typing import Any

from helix.errors import InvalidRequest
from helix.pii.scrub import quoted
from helix.translate.parts import object_field, string_field

JSON = dict[str, Any]

_TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}


# OpenAI's reasoning models refuse `max_tokens` ("use max_completion_tokens instead"), which many other
# OpenAI-compatible servers do not know; a provider that serves them under a prefix names them "openai/o3".
_COMPLETION_TOKENS_MODEL = re.compile(r"(?:^|/)(?:o\d+(?:-|$)|gpt-5)")


def to_chat_request(body: JSON, upstream_model: str) -> JSON:
    out: JSON = {"model": body.get("model"), "messages": _messages(body)}
    if body.get("max_tokens") is not None:
        limit = "max_completion_tokens" if _COMPLETION_TOKENS_MODEL.search(upstream_model) else "max_tokens"
        out[limit] = body["max_tokens"]
    for name in ("temperature", "top_p", "stream"):
        if body.get(name) is not None:
            out[name] = body[name]
    if body.get("stop_sequences"):
        out["stop"] = body["stop_sequences"]
    user = (body.get("metadata") or {}).get("user_id")
    if isinstance(user, str) and user:
        out["user"] = user
    out.update(_tools(body))
    return out


def _messages(body: JSON) -> list[JSON]:
    messages: list[JSON] = []
    system = _text(body.get("system"), "system")
    if system:
        messages.append({"role": "system", "content": system})
    for position, message in enumerate(body.get("messages") or []):
        where = f"messages[{position}]"
        if not isinstance(message, dict):
            raise InvalidRequest(f"{where} must be an object", param=where)
        role = message.get("role")
        if role == "user":
            messages.extend(_user(message.get("content"), where))
        elif role == "assistant":
            messages.append(_assistant(message.get("content"), where))
        else:
            raise InvalidRequest(
                f"{where}.role must be 'user' or 'assistant', got {quoted(role)}", param=f"{where}.role"
            )
    return messages


def _blocks(content: Any, where: str) -> list[JSON]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list) or not all(isinstance(block, dict) for block in content):
        raise InvalidRequest(f"{where}.content must be a string or an array of content blocks", param=where)
    return content


def _text(content: Any, where: str) -> str:
    if content is None:
        return ""
    return "\n".join(_block_text(block, where) for block in _blocks(content, where) if block.get("type") == "text")


def _block_text(block: JSON, where: str) -> str:
    text = block.get("text", "")
    if not isinstance(text, str):
        raise InvalidRequest(f"{where}: a text block's text must be a string", param=f"{where}.content")
    return text


def _user(content: Any, where: str) -> list[JSON]:
    """One user turn: its tool results become `tool` messages (first: they answer the previous turn's calls),
    the rest one user message."""
    tool_messages: list[JSON] = []
    parts: list[JSON] = []
    for block in _blocks(content, where):
        kind = block.get("type")
        if kind == "tool_result":
            tool_messages.append(_tool_result(block, where))
            parts += [_image(b, where) for b in _blocks(block.get("content") or [], where) if b.get("type") == "image"]
        elif kind == "text":
            parts.append({"type": "text", "text": _block_text(block, where)})
        elif kind == "image":
            parts.append(_image(block, where))
        elif kind == "document":
            parts.append(_document(block, where))
        else:
            raise InvalidRequest(
                f"{where}: content block type {quoted(kind)} cannot be sent to this provider", param=f"{where}.content"
            )
    user: list[JSON] = []
    if parts:
        only_text = all(p["type"] == "text" for p in parts)
        user.append({"role": "user", "content": "\n".join(p["text"] for p in parts) if only_text else parts})
    return tool_messages + user


def _tool_result(block: JSON, where: str) -> JSON:
    call_id = string_field(block, "tool_use_id", f"{where}.content[tool_result]")
    content = block.get("content")
    text = content if isinstance(content, str) else _text(content or [], where)
    if block.get("is_error"):
        text = f"Error: {text}"
    return {"role": "tool", "tool_call_id": call_id, "content": text}


def _source(block: JSON, where: str) -> JSON:
    source = block.get("source")
    if not isinstance(source, dict):
        raise InvalidRequest(f"{where}: a {quoted(block.get('type'))} block's source must be an object", param=where)
    return source


def _image(block: JSON, where: str) -> JSON:
    source = _source(block, where)
    if source.get("type") == "base64":
        url = _data_url(source, f"{where}.content[image].source")
    elif source.get("type") == "url":
        url = string_field(source, "url", f"{where}.content[image].source")
    else:
        raise InvalidRequest(f"{where}: image source type {quoted(source.get('type'))} is not supported", param=where)
    return {"type": "image_url", "image_url": {"url": url}}


def _document(block: JSON, where: str) -> JSON:
    source = _source(block, where)
    if source.get("type") == "text":
        return {"type": "text", "text": string_field(source, "data", f"{where}.content[document].source")}
    if source.get("type") == "base64":
        data = _data_url(source, f"{where}.content[document].source")
        return {"type": "file", "file": {"file_data": data, "filename": block.get("title") or "document.pdf"}}
    raise InvalidRequest(f"{where}: document source type {quoted(source.get('type'))} is not supported", param=where)


def _data_url(source: JSON, where: str) -> str:
    return f"data:{string_field(source, 'media_type', where)};base64,{string_field(source, 'data', where)}"


def _assistant(content: Any, where: str) -> JSON:
    texts: list[str] = []
    calls: list[JSON] = []
    for block in _blocks(content, where):
        kind = block.get("type")
        if kind == "text":
            texts.append(_block_text(block, where))
        elif kind == "tool_use":
            at = f"{where}.content[tool_use]"
            arguments = json.dumps(object_field(block, "input", at) or {}, ensure_ascii=False)
            function = {"name": string_field(block, "name", at), "arguments": arguments}
            call_id = string_field(block, "id", at)
            if any(call["id"] == call_id for call in calls):
                # Anthropic refuses a turn whose calls share an id; a tool message could answer only one of them.
                raise InvalidRequest(f"{at}: tool_use id {quoted(call_id)} is used twice", param=f"{at}.id")
            calls.append({"id": call_id, "type": "function", "function": function})
        # thinking and redacted_thinking blocks mean nothing to another provider.
    message: JSON = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if calls:
        message["tool_calls"] = calls
    return message


def _tools(body: JSON) -> JSON:
    tools = [
        {
            "type": "function",
            "function": {
                "name": string_field(tool, "name", f"tools[{index}]"),
                **({"description": tool["description"]} if tool.get("description") else {}),
                "parameters": object_field(tool, "input_schema", f"tools[{index}]")
                or {"type": "object", "properties": {}},
            },
        }
        for index, tool in enumerate(body.get("tools") or [])
        if isinstance(tool, dict) and tool.get("type") in (None, "custom")
    ]
    if not tools:
        return {}
    out: JSON = {"tools": tools}
    choice = body.get("tool_choice")
    if choice is None:
        return out
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind == "tool":
        out["tool_choice"] = {"type": "function", "function": {"name": string_field(choice, "name", "tool_choice")}}
    elif isinstance(kind, str) and kind in _TOOL_CHOICES:
        out["tool_choice"] = _TOOL_CHOICES[kind]
    else:
        raise InvalidRequest(
            f"tool_choice must be an object whose type is auto, any, tool or none, not {quoted(choice)}",
            param="tool_choice",
        )
    if choice.get("disable_parallel_tool_use"):
        out["parallel_tool_calls"] = False
    return out

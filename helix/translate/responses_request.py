"""An OpenAI Responses request as a chat-completions request, for providers without a Responses API.

Such providers keep no server-side state, so `previous_response_id` (and `conversation`) are refused
with a 400 that says to send the whole conversation as `input` instead; built-in tools (web search,
file search, computer use...) are refused too. Calls to OpenAI-kind providers are passed through as they
came and never reach this module.
"""

from __future__ import annotations

from typing import Any

from helix.errors import InvalidRequest
from helix.pii.scrub import quoted
from helix.translate.parts import object_field, string_field

JSON = dict[str, Any]

_PART_TYPES = {"input_text", "output_text", "text", "refusal"}


def to_chat_request(body: JSON, provider: str) -> JSON:
    for stateful in ("previous_response_id", "conversation"):
        if body.get(stateful):
            raise InvalidRequest(
                f"'{stateful}' needs a provider that keeps responses (OpenAI); '{provider}' does not: "
                "send the whole conversation as 'input' items instead",
                param=stateful,
                code="unsupported_parameter",
            )
    messages: list[JSON] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": body["instructions"]})
    messages += _items(body.get("input"))
    out: JSON = {"model": body.get("model"), "messages": messages}
    if body.get("max_output_tokens") is not None:
        out["max_tokens"] = body["max_output_tokens"]
    for name in ("temperature", "top_p", "stream", "parallel_tool_calls", "user"):
        if body.get(name) is not None:
            out[name] = body[name]
    out.update(_tools(body, provider))
    fmt = (body.get("text") or {}).get("format") if isinstance(body.get("text"), dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        out["response_format"] = {"type": "json_schema", "json_schema": schema}
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        out["response_format"] = {"type": "json_object"}
    return out


def _items(value: Any) -> list[JSON]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list):
        raise InvalidRequest("'input' must be a string or an array of input items", param="input")
    messages: list[JSON] = []
    for position, item in enumerate(value):
        where = f"input[{position}]"
        if not isinstance(item, dict):
            raise InvalidRequest(f"{where} must be an object", param=where)
        kind = item.get("type") or "message"
        if kind == "message":
            messages.append(_message(item, where))
        elif kind == "function_call":
            arguments = string_field(item, "arguments", where, optional=True) or "{}"
            name = string_field(item, "name", where)
            call = {
                "id": string_field(item, "call_id", where),
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and last.get("tool_calls") is not None:
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else "\n".join(_texts(output, f"{where}.output"))
            messages.append({"role": "tool", "tool_call_id": string_field(item, "call_id", where), "content": text})
        elif kind == "reasoning":
            continue  # another provider's reasoning means nothing here
        else:
            raise InvalidRequest(f"{where}: input item type {quoted(kind)} needs OpenAI's Responses API", param=where)
    return messages


def _message(item: JSON, where: str) -> JSON:
    role = item.get("role")
    if role not in ("user", "assistant", "system", "developer"):
        raise InvalidRequest(f"{where}.role must be user, assistant, system or developer", param=f"{where}.role")
    content = item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    parts = _parts(content, f"{where}.content")
    if role != "user" or all(p["type"] == "text" for p in parts):
        return {"role": role, "content": "".join(p.get("text", "") for p in parts)}
    return {"role": role, "content": parts}


def _parts(content: Any, where: str) -> list[JSON]:
    """The content parts at `where` (a message's `content`, a function call's `output`)."""
    if not isinstance(content, list):
        raise InvalidRequest(f"{where} must be a string or an array of content parts", param=where)
    parts: list[JSON] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if isinstance(kind, str) and kind in _PART_TYPES:
            parts.append({"type": "text", "text": str(part.get("text") or part.get("refusal") or "")})
        elif kind == "input_image" and isinstance(part.get("image_url"), str):
            image: JSON = {"url": part["image_url"]}
            if part.get("detail"):
                image["detail"] = part["detail"]
            parts.append({"type": "image_url", "image_url": image})
        elif kind == "input_file" and isinstance(part.get("file_data"), str):
            parts.append({"type": "file", "file": {"file_data": part["file_data"], "filename": part.get("filename")}})
        else:
            raise InvalidRequest(f"{where}: content part {quoted(kind)} cannot be sent to this provider", param=where)
    return parts


def _texts(content: Any, where: str) -> list[str]:
    return [p.get("text", "") for p in _parts(content or [], where) if p["type"] == "text"]


def _tools(body: JSON, provider: str) -> JSON:
    tools: list[JSON] = []
    for index, tool in enumerate(body.get("tools") or []):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            kind = tool.get("type") if isinstance(tool, dict) else None
            raise InvalidRequest(
                f"tools[{index}]: the built-in tool {quoted(kind)} needs OpenAI's Responses API; '{provider}' takes "
                "function tools only",
                param=f"tools[{index}]",
                code="unsupported_parameter",
            )
        string_field(tool, "name", f"tools[{index}]")
        object_field(tool, "parameters", f"tools[{index}]")
        function = {k: tool[k] for k in ("name", "description", "parameters", "strict") if tool.get(k) is not None}
        tools.append({"type": "function", "function": function})
    if not tools:
        return {}
    out: JSON = {"tools": tools}
    choice = body.get("tool_choice")
    if isinstance(choice, str):
        out["tool_choice"] = choice
    elif isinstance(choice, dict) and choice.get("type") == "function":
        out["tool_choice"] = {"type": "function", "function": {"name": string_field(choice, "name", "tool_choice")}}
    return out

"""Deterministic stand-in for Anthropic's /v1/messages, used by the fake upstream server in tests."""

from __future__ import annotations

import hashlib
import json
from typing import Any

TEXT_CHUNK = 4
THOUGHT = "The user wants an echo."
JSON_CHUNK = 6


def fake_messages_response(request_body: dict[str, Any]) -> dict[str, Any]:
    """A complete Anthropic message: "echo: <last user text>", or a tool call when asked about weather or when
    the request forces a tool; a signed thinking block first when thinking is enabled; the model stop-REASON stops for
    REASON (stop-null: for none)."""
    text = _last_user_text(request_body)
    tools = request_body.get("tools") or []
    forced = request_body.get("tool_choice") or {}
    if tools and ("weather" in text.lower() or forced.get("type") == "tool"):
        content = [_tool_use_block(forced.get("name") or tools[0]["name"], request_body)]
        stop_reason = "tool_use"
        output_tokens = 12
    else:
        answer = f"echo: {text}"
        content = [{"type": "text", "text": answer}]
        stop_reason = "end_turn"
        output_tokens = _count_tokens(answer)
    model = str(request_body.get("model", ""))
    if model.startswith("stop-"):  # stop-pause_turn, stop-null...: the answer's stop reason
        stop_reason = None if model == "stop-null" else model.removeprefix("stop-")
    if (request_body.get("thinking") or {}).get("type") == "enabled":
        content.insert(0, {"type": "thinking", "thinking": THOUGHT, "signature": "sig_" + _digest(request_body)[:16]})
    return {
        "id": _message_id(request_body),
        "type": "message",
        "role": "assistant",
        "model": request_body.get("model", "claude-fake"),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": _input_tokens(request_body),
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def fake_messages_stream(request_body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The same answer as fake_messages_response, as the (event, data) pairs of an SSE stream."""
    final = fake_messages_response(request_body)
    start_message = {
        **final,
        "content": [],
        "stop_reason": None,
        "usage": {**final["usage"], "output_tokens": 1},
    }
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start_message}),
        ("ping", {"type": "ping"}),
    ]
    for index, block in enumerate(final["content"]):
        events.extend(_block_events(index, block))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": final["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": final["usage"]["output_tokens"]},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def _block_events(index: int, block: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    if block["type"] == "thinking":
        start: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": piece} for piece in _split(block["thinking"], TEXT_CHUNK)]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif block["type"] == "text":
        start = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in _split(block["text"], TEXT_CHUNK)]
    else:
        start = {**block, "input": {}}
        pieces = ["", *_split(json.dumps(block["input"]), JSON_CHUNK)]
        deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in pieces]
    return [
        ("content_block_start", {"type": "content_block_start", "index": index, "content_block": start}),
        *[("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}) for delta in deltas],
        ("content_block_stop", {"type": "content_block_stop", "index": index}),
    ]


def _split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _tool_use_block(name: str, request_body: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "tool_use",
        "id": "toolu_" + _digest(request_body)[:20],
        "name": name,
        "input": {"city": "Paris"},
    }


def _last_user_text(request_body: dict[str, Any]) -> str:
    for message in reversed(request_body.get("messages") or []):
        if message.get("role") == "user":
            return " ".join(_texts(message.get("content")))
    return ""


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    texts: list[str] = []
    for block in content or []:
        if block.get("type") == "text":
            texts.append(block["text"])
        elif block.get("type") == "tool_result":
            texts.extend(_texts(block.get("content")))
    return texts


def _input_tokens(request_body: dict[str, Any]) -> int:
    system = request_body.get("system") or ""
    system_text = system if isinstance(system, str) else " ".join(_texts(system))
    words = _count_tokens(system_text)
    for message in request_body.get("messages") or []:
        words += _count_tokens(" ".join(_texts(message.get("content"))))
    return max(words, 1)


def _count_tokens(text: str) -> int:
    return len(text.split())


def _message_id(request_body: dict[str, Any]) -> str:
    return "msg_" + _digest(request_body)[:24]


def _digest(request_body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request_body, sort_keys=True).encode()).hexdigest()

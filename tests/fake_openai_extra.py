"""The fake upstream's Responses API, legacy completions, Anthropic token counting and the extra fields of
a chat answer asked for logprobs (with system_fingerprint and service_tier), for tests/fake_upstream.py."""

from __future__ import annotations

import time
from typing import Any

FINGERPRINT, SERVICE_TIER = "fp_fake", "default"


def _words(text: str) -> int:
    return max(1, len(text.split()))


def input_text(body: dict[str, Any]) -> str:
    value = body.get("input")
    if isinstance(value, str):
        return value
    for item in reversed(value or []):
        if item.get("type") == "function_call_output":
            return f"tool said {item.get('output')}"
        if item.get("role") == "user":
            content = item.get("content")
            if isinstance(content, str):
                return content
            return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def response_object(
    body: dict[str, Any], written: str | None = None, other: tuple[str, str] | None = None
) -> dict[str, Any]:
    """A Responses answer: `written`, else "echo: <last user text>", or a function call when asked about
    weather with tools; `other`: ("reasoning_summary", text), a reasoning item before the message, or ("refusal",
    text), a refusal instead of its text."""
    text = input_text(body)
    if body.get("tools") and "weather" in text.lower():
        output = [
            {
                "type": "function_call",
                "id": "fc_fake",
                "call_id": "call_fake",
                "name": body["tools"][0]["name"],
                "arguments": '{"city": "Paris"}',
                "status": "completed",
            }
        ]
    else:
        part: dict[str, Any] = {"type": "output_text", "text": written or f"echo: {text}", "annotations": []}
        if other is not None and other[0] == "refusal":
            part = {"type": "refusal", "refusal": other[1]}
        output = [{"type": "message", "id": "msg_fake", "status": "completed", "role": "assistant", "content": [part]}]
        if other is not None and other[0] == "reasoning_summary":
            summary = [{"type": "summary_text", "text": other[1]}]
            output.insert(0, {"type": "reasoning", "id": "rs_fake", "summary": summary})
    prompt, answer = _words(text) + 8, _words(f"echo: {text}")
    return {
        "id": "resp_fake" + str(len(text)),
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "model": body.get("model"),
        "output": output,
        "previous_response_id": body.get("previous_response_id"),
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": answer,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + answer,
        },
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": body.get("tools") or [],
    }


def response_events(
    body: dict[str, Any], written: str | None = None, other: tuple[str, str] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    final = response_object(body, written, other)
    shell = {**final, "status": "in_progress", "output": [], "usage": None}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": shell},
        {"type": "response.in_progress", "response": shell},
    ]
    for index, item in enumerate(final["output"]):
        events.append({"type": "response.output_item.added", "output_index": index, "item": {**item, "content": []}})
        if item["type"] == "reasoning":
            text = item["summary"][0]["text"]
            where = {"item_id": item["id"], "output_index": index, "summary_index": 0}
            events.append({"type": "response.reasoning_summary_part.added", **where, "part": {**item["summary"][0]}})
            for i in range(0, len(text), 4):
                events.append({"type": "response.reasoning_summary_text.delta", **where, "delta": text[i : i + 4]})
            events.append({"type": "response.reasoning_summary_text.done", **where, "text": text})
            events.append({"type": "response.reasoning_summary_part.done", **where, "part": item["summary"][0]})
        elif item["type"] == "message":
            part = item["content"][0]
            refused = part["type"] == "refusal"
            field, kind = ("refusal", "response.refusal") if refused else ("text", "response.output_text")
            text = part[field]
            where = {"item_id": item["id"], "output_index": index, "content_index": 0}
            events.append({"type": "response.content_part.added", **where, "part": {**part, field: ""}})
            for i in range(0, len(text), 4):
                events.append({"type": f"{kind}.delta", **where, "delta": text[i : i + 4], "logprobs": []})
            events.append({"type": f"{kind}.done", **where, field: text, "logprobs": []})
            events.append({"type": "response.content_part.done", **where, "part": part})
        else:
            where = {"item_id": item["id"], "output_index": index}
            events.append({"type": "response.function_call_arguments.delta", **where, "delta": item["arguments"]})
            events.append({"type": "response.function_call_arguments.done", **where, "arguments": item["arguments"]})
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    events.append({"type": "response.completed", "response": final})
    return [(event["type"], {**event, "sequence_number": n}) for n, event in enumerate(events)]


def text_completion(body: dict[str, Any], written: str | None = None) -> dict[str, Any]:
    prompt = body.get("prompt")
    text = prompt if isinstance(prompt, str) else " ".join(map(str, prompt or []))
    answer = f" {written}" if written else f" echo: {text}"
    return {
        "id": "cmpl-fake",
        "object": "text_completion",
        "created": int(time.time()),
        "model": body.get("model"),
        "choices": [{"index": 0, "text": answer, "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": _words(text), "completion_tokens": _words(answer), "total_tokens": 0},
    }


def text_completion_chunks(body: dict[str, Any], written: str | None = None) -> list[dict[str, Any]]:
    whole = text_completion(body, written)
    answer = whole["choices"][0]["text"]
    base = {k: whole[k] for k in ("id", "object", "created", "model")}
    chunks = [
        {**base, "choices": [{"index": 0, "text": answer[i : i + 4], "logprobs": None, "finish_reason": None}]}
        for i in range(0, len(answer), 4)
    ]
    chunks.append({**base, "choices": [{"index": 0, "text": "", "logprobs": None, "finish_reason": "stop"}]})
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks.append({**base, "choices": [], "usage": whole["usage"]})
    return chunks


def count_tokens(body: dict[str, Any]) -> dict[str, Any]:
    words = sum(len(str(m.get("content")).split()) for m in body.get("messages") or [])
    return {"input_tokens": words + len(str(body.get("system") or "").split()) + 3}


def _logprob(token: str) -> dict[str, Any]:
    return {"token": token, "logprob": -0.5, "bytes": list(token.encode()), "top_logprobs": []}


def decorate_chat(body: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """A chat completion or chunk as OpenAI sends it when logprobs were asked for."""
    if not body.get("logprobs"):
        return answer
    answer = {**answer, "system_fingerprint": FINGERPRINT, "service_tier": SERVICE_TIER}
    choices = []
    for choice in answer.get("choices") or []:
        text = (choice.get("delta") or choice.get("message") or {}).get("content")
        choices.append({**choice, "logprobs": {"content": [_logprob(text)] if text else [], "refusal": None}})
    return {**answer, "choices": choices}

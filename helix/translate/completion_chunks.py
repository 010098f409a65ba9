"""A whole chat completion as the stream of chunks it would have been: for a cached answer replayed to a streaming
client, and for a provider that answers a streaming request with a whole answer."""

from __future__ import annotations

from typing import Any

# Fields of every chunk that say how the answer was made, kept and replayed as they came.
ENVELOPE = ("system_fingerprint", "service_tier")
# Parts of a message besides its text, tool calls and thinking: a legacy function call, spoken audio, a web search's
# citations; each replayed as one delta of its own.
OTHER_PARTS = ("function_call", "audio", "annotations")
# A model's reasoning as text beside its answer: DeepSeek's `reasoning_content`; OpenRouter's, Groq's and vLLM's
# `reasoning`. Replayed before the answer, as it came.
REASONING = ("reasoning_content", "reasoning")


def completion_to_chunks(completion: dict[str, Any]) -> list[dict[str, Any]]:
    """The chunks a stream of this completion would have had; the usage chunk is always included
    (the API layer drops it for clients that did not ask for usage)."""
    base = {
        "id": completion.get("id"),
        "object": "chat.completion.chunk",
        "created": completion.get("created"),
        "model": completion.get("model"),
        **{name: completion[name] for name in ENVELOPE if completion.get(name) is not None},
    }
    chunks: list[dict[str, Any]] = []
    for choice in completion.get("choices") or []:
        index = choice.get("index", 0)
        message = choice.get("message") or {}
        first: dict[str, Any] = {"role": message.get("role", "assistant"), "content": message.get("content") or ""}
        if message.get("refusal"):
            first["refusal"] = message["refusal"]
        if message.get("thinking_blocks"):
            blocks = [{"index": i, **block} for i, block in enumerate(message["thinking_blocks"])]
            chunks.append(
                {**base, "choices": [{"index": index, "delta": {"thinking_blocks": blocks}, "finish_reason": None}]}
            )
        for name in REASONING:
            if isinstance(message.get(name), str) and message[name]:
                chunks.append(
                    {**base, "choices": [{"index": index, "delta": {name: message[name]}, "finish_reason": None}]}
                )
        opening: dict[str, Any] = {"index": index, "delta": first, "finish_reason": None}
        if choice.get("logprobs") is not None:
            opening["logprobs"] = choice["logprobs"]
        chunks.append({**base, "choices": [opening]})
        if message.get("tool_calls"):
            calls = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
            chunks.append(
                {**base, "choices": [{"index": index, "delta": {"tool_calls": calls}, "finish_reason": None}]}
            )
        for part in OTHER_PARTS:
            if message.get(part):
                chunks.append(
                    {**base, "choices": [{"index": index, "delta": {part: message[part]}, "finish_reason": None}]}
                )
        chunks.append(
            {**base, "choices": [{"index": index, "delta": {}, "finish_reason": choice.get("finish_reason")}]}
        )
    if completion.get("usage"):
        chunks.append({**base, "choices": [], "usage": completion["usage"]})
    return chunks

"""Between one `chat.completion` and a stream of `chat.completion.chunk`s: chunks assembled into a completion here,
a completion replayed as chunks by `helix/translate/completion_chunks.py`.

The cache stores every answer as a completion. A streamed miss is assembled into one as its chunks
pass by (they are forwarded immediately, never held back), and a hit for a `stream: true` request is
replayed as chunks at once, with no artificial delay. What the original stream carried comes back:
text, reasoning, refusals, tool calls, logprobs, finish reasons, `system_fingerprint` and `service_tier`, and
Anthropic's thinking blocks (`thinking_blocks`, signatures included). A server that streams a whole answer
it was asked for (helix/providers/openai_compat.py) is assembled the same way.
"""

from __future__ import annotations

import time
from typing import Any

from helix.translate.completion_chunks import ENVELOPE, OTHER_PARTS, REASONING
from helix.translate.parts import ToolCalls


class ChunkAssembler:
    """Builds the completion a stream amounts to: text, tool calls, finish reasons and usage per choice."""

    def __init__(self) -> None:
        self.id: str | None = None
        self.model: str | None = None
        self.created: int | None = None
        self.usage: dict[str, Any] | None = None
        self.extra: dict[str, Any] = {}  # system_fingerprint, service_tier
        self.size = 0  # characters of text and tool arguments so far
        self._choices: dict[int, dict[str, Any]] = {}

    def feed(self, chunk: dict[str, Any]) -> None:
        self.id = self.id or chunk.get("id")
        self.model = self.model or chunk.get("model")
        self.created = self.created or chunk.get("created")
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for name in ENVELOPE:
            if chunk.get(name) is not None:
                self.extra[name] = chunk[name]
        for choice in chunk.get("choices") or []:
            self._feed_choice(choice)

    def _feed_choice(self, choice: dict[str, Any]) -> None:
        index = int(choice.get("index") or 0)
        state = self._choices.get(index)
        if state is None:  # built once per choice, not for every chunk
            state = self._choices[index] = {
                "content": [],
                "tool_calls": {},  # by number (`ToolCalls`)
                "calls": ToolCalls(),
                "role": "assistant",
                "finish_reason": None,
                "refusal": [],
                "logprobs": {},
                "thinking": {},
                "function_call": None,
                "audio": None,
                "annotations": [],
                "reasoning": {},  # by field (`REASONING`): its pieces
            }
        delta = choice.get("delta") or {}
        if delta.get("role"):
            state["role"] = delta["role"]
        if delta.get("content"):
            state["content"].append(delta["content"])
            self.size += len(delta["content"])
        if delta.get("refusal"):
            state["refusal"].append(delta["refusal"])
            self.size += len(delta["refusal"])
        for name in REASONING:
            if (reasoning := delta.get(name)) and isinstance(reasoning, str):
                state["reasoning"].setdefault(name, []).append(reasoning)
                self.size += len(reasoning)
        for piece in delta.get("thinking_blocks") or []:
            block = state["thinking"].setdefault(int(piece.get("index") or 0), {})
            for key, value in piece.items():
                if key == "index":
                    continue
                if key in ("thinking", "signature") and isinstance(value, str):
                    block[key] = block.get(key, "") + value
                    self.size += len(value)
                else:
                    block[key] = value
        for call in delta.get("tool_calls") or []:
            number = state["calls"].number(int(call.get("index") or 0), call.get("id"))
            slot = state["tool_calls"].setdefault(
                number, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
            )
            slot["id"] = call.get("id") or slot["id"]
            self._feed_function(slot["function"], call.get("function") or {})
        if isinstance(delta.get("function_call"), dict):
            state["function_call"] = state["function_call"] or {"name": "", "arguments": ""}
            self._feed_function(state["function_call"], delta["function_call"])
        if isinstance(delta.get("audio"), dict):
            self._feed_audio(state, delta["audio"])
        if isinstance(delta.get("annotations"), list):
            state["annotations"].extend(delta["annotations"])
        if choice.get("finish_reason"):
            state["finish_reason"] = choice["finish_reason"]
        logprobs = choice.get("logprobs")
        if isinstance(logprobs, dict):
            for kind in ("content", "refusal"):
                if isinstance(logprobs.get(kind), list):
                    state["logprobs"].setdefault(kind, []).extend(logprobs[kind])

    def _feed_function(self, function: dict[str, str], piece: dict[str, Any]) -> None:
        """A tool call's function or a legacy function call: its name, then its arguments in pieces."""
        function["name"] += piece.get("name") or ""
        function["arguments"] += piece.get("arguments") or ""
        self.size += len(piece.get("arguments") or "")

    def _feed_audio(self, state: dict[str, Any], piece: dict[str, Any]) -> None:
        """Spoken audio: its data and transcript in pieces, its id and expiry once."""
        audio = state["audio"] = state["audio"] or {}
        for key, value in piece.items():
            if key in ("data", "transcript") and isinstance(value, str):
                audio[key] = audio.get(key, "") + value
                self.size += len(value)
            else:
                audio[key] = value

    @property
    def finish_reasons(self) -> list[str | None]:
        return [state["finish_reason"] for state in self._choices.values()]

    def completion(self) -> dict[str, Any]:
        choices = []
        for index, state in sorted(self._choices.items()):
            message: dict[str, Any] = {"role": state["role"], "content": "".join(state["content"]) or None}
            if state["refusal"]:
                message["refusal"] = "".join(state["refusal"])
            if state["tool_calls"]:
                message["tool_calls"] = [call for _, call in sorted(state["tool_calls"].items())]
            if state["thinking"]:
                message["thinking_blocks"] = [block for _, block in sorted(state["thinking"].items())]
            for name, pieces in state["reasoning"].items():
                message[name] = "".join(pieces)
            for part in OTHER_PARTS:
                if state[part]:
                    message[part] = state[part]
            choice: dict[str, Any] = {"index": index, "message": message, "finish_reason": state["finish_reason"]}
            if state["logprobs"]:
                choice["logprobs"] = {"content": None, "refusal": None, **state["logprobs"]}
            choices.append(choice)
        body: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created or int(time.time()),
            "model": self.model,
            "choices": choices,
            **self.extra,
        }
        if self.usage:
            body["usage"] = self.usage
        return body

"""What makes two requests the same question: canonical forms and the keys hashed from them.

The exact key covers everything that changes the answer (the resolved provider/model, every message,
tools, sampling parameters...) and nothing that does not (`stream`, `stream_options`, `user`, ...).
The partition key covers the same minus the last user message's words: a semantic match is only looked
for among entries that share the model, the parameters, the whole preceding context and what the last
message holds besides its text (an image, a file). Both include the
scope (tenant and namespace), so one tenant never receives another's answer.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from typing import Any

import msgspec

# Request fields that do not change the answer; everything else is part of the key.
_IGNORED_FIELDS = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "user",
        "metadata",
        "store",
        "service_tier",
        "parallel_tool_calls_hint",
        "safety_identifier",
        "prompt_cache_key",
    }
)
_encode = msgspec.json.Encoder(order="sorted").encode


def _text(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()


def _canonical_content(content: Any) -> Any:
    if isinstance(content, str):
        return _text(content)
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                part = {**part, "text": _text(part["text"])}
            parts.append(part)
        # A single text part means the same as a plain string.
        if len(parts) == 1 and isinstance(parts[0], dict) and parts[0].get("type") == "text":
            return parts[0].get("text")
        return parts
    return content


def _canonical_message(message: dict[str, Any]) -> dict[str, Any]:
    canonical = {k: v for k, v in message.items() if v is not None}
    if "content" in canonical:
        canonical["content"] = _canonical_content(canonical["content"])
    return canonical


def _is_text(part: Any) -> bool:
    return isinstance(part, dict) and part.get("type") == "text"


def message_text(message: dict[str, Any]) -> str:
    content = _canonical_content(message.get("content"))
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


@dataclass(frozen=True, slots=True)
class Fingerprint:
    exact: bytes
    partition: bytes
    prompt: str  # the last user message: what the semantic cache embeds and verifies
    scope: str


def fingerprint(body: dict[str, Any], target: str, scope: str, shaped_by: dict[str, str] | None = None) -> Fingerprint:
    """`shaped_by`: what else decides the answer besides the body (the endpoint that reads it, the feature headers
    passed on to the provider: `anthropic-beta`, `OpenAI-Beta`)."""
    given = [m for m in body.get("messages", []) if isinstance(m, dict)]
    messages = [_canonical_message(m) for m in given]
    params = {k: v for k, v in body.items() if k not in _IGNORED_FIELDS and v is not None}
    last = messages[-1] if messages else {}
    prompt = message_text(last) if last.get("role") == "user" else ""
    context = [target, scope, params, messages[:-1], {k: v for k, v in last.items() if k != "content"}]
    if shaped_by:
        context.append(shaped_by)
    content = last.get("content")
    if isinstance(content, list) and (attached := [p for p in content if not _is_text(p)]):
        # What the last message holds besides its text (images, audio, files): the same words about another image
        # are another question, and only the words are embedded and judged.
        context.append(attached)
    partition = hashlib.sha256(_encode(context)).digest()[:16]
    # An answer begun for the model to go on from (a prefill) is continued from its very last character: its spaces
    # and line ends are part of the question ("def answer():" and "def answer():\n    " are answered differently)
    ending = given[-1].get("content") if last.get("role") == "assistant" else last.get("content")
    exact = hashlib.sha256(partition + _encode(ending)).digest()[:16]
    return Fingerprint(exact=exact, partition=partition, prompt=prompt, scope=scope)

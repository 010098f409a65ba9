"""Reading a chat answer's content, which providers send as text or as a list of parts."""

from __future__ import annotations

from typing import Any


def content_text(content: Any) -> str:
    """The text of a chat message's or delta's `content`: itself when text, else its text parts joined (a
    provider that answers in parts); nothing else is text."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "".join(part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str))

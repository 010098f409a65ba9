"""Client headers meant for the provider (API betas, versions, organisation), passed on per provider config.

Helix always calls providers with the operator's key, so only headers the operator allows are passed:
by default the feature switches (`OpenAI-Beta`; `anthropic-version`, `anthropic-beta`). Headers that pick
whose account is billed (`OpenAI-Organization`, `OpenAI-Project`) pass only when listed in
`[providers.NAME] forward_headers`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

DEFAULT_FORWARD = {"openai": ("openai-beta",), "anthropic": ("anthropic-version", "anthropic-beta")}
_MAX_VALUE_CHARS = 512


def allowed_headers(kind: str, configured: Iterable[str] | None) -> tuple[str, ...]:
    names = DEFAULT_FORWARD.get(kind, ()) if configured is None else configured
    return tuple(name.lower() for name in names)


def forwarded(headers: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """The allowed headers the client sent, with sane values only (printable ASCII, bounded length: the HTTP client
    sends ASCII only, and raised on anything else, a 500)."""
    out: dict[str, str] = {}
    for name in names:
        value = headers.get(name)
        if value and len(value) <= _MAX_VALUE_CHARS and value.isascii() and value.isprintable():
            out[name] = value
    return out


PASSED_BACK = ("x-request-id", "request-id")
"""The provider's own request id, answered back to the client (the SDKs expose it as `_request_id`)."""

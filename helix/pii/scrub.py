"""Credentials out of text Helix passes on from elsewhere (a provider's error message may echo its key)."""

from __future__ import annotations

import regex

from helix.pii.secret_patterns import (
    API_KEY_PATTERNS,
    AWS_ACCESS_KEY_PATTERNS,
    FLAGS,
    JWT_PATTERNS,
    PASSWORD_PATTERNS,
    PRIVATE_KEY_PATTERNS,
    SECRET_PATTERNS,
    SecretPattern,
)

REDACTED = "[redacted]"
# Patterns that stand on their own; the weak ones that need context words (a bare 40-character AWS
# secret) would blank out request ids.
_SPECS: list[tuple[SecretPattern, regex.Pattern[str]]] = [
    (spec, regex.compile(spec.regex, FLAGS))
    for spec in (
        *API_KEY_PATTERNS,
        *AWS_ACCESS_KEY_PATTERNS,
        *PRIVATE_KEY_PATTERNS,
        *JWT_PATTERNS,
        *PASSWORD_PATTERNS,
        *SECRET_PATTERNS,
    )
    if spec.score >= 0.5
]


def scrub_secrets(text: str) -> str:
    """`text` with every credential-looking value replaced by [redacted]."""
    lowered = text.lower()
    spans: list[tuple[int, int]] = []
    for spec, compiled in _SPECS:
        if spec.hints and not any(h in lowered for h in spec.hints):
            continue
        has_value = "value" in compiled.groupindex
        for match in compiled.finditer(text):
            start, end = match.span("value") if has_value else match.span()
            if spec.check is None or spec.check(text[start:end]):
                spans.append((start, end))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + REDACTED + text[end:]
    return text

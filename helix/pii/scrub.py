"""Credentials out of text Helix passes on from elsewhere (a provider's error message may echo its key)."""

from __future__ import annotations

import msgspec
import regex

from helix.pii.id_checks import luhn
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


# A client's values that Helix's own errors quote back must not come back as sent: they may be huge, hold control
# characters, or be a secret or PII a client planted to see it echoed (or, in a shared client, read by another).
MAX_QUOTED_CHARS = 64
_EMAIL = regex.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+")
_LONG_NUMBER = regex.compile(r"\+?\d(?:[ ().-]{0,2}\d){8,}")  # 9 digits or more: a phone, a card, an SSN, an account

# As cards are written: 13 to 19 digits in a row, or four groups of four (not a timestamp's 2024-08-08-00-30-11).
_CARD = regex.compile(r"(?<!\d)(?:\d{13,19}|\d{4}(?:[ -]\d{4}){3})(?!\d)")
_NOT_DIGIT = regex.compile(r"\D")


def holds_credential_or_pii(text: str) -> bool:
    """Whether `text` holds what looks like an API key (or another credential), an email address or a card number
    (that passes the Luhn check)."""
    if scrub_secrets(text) != text or _EMAIL.search(text) is not None:
        return True
    return any(luhn(digits) for digits in (_NOT_DIGIT.sub("", m) for m in _CARD.findall(text)))


def scrub_client_text(text: str, limit: int = MAX_QUOTED_CHARS) -> str:
    """`text` (a client's) cut to `limit` characters (… marks the cut), with credentials, email addresses and long
    numbers [redacted] and characters that do not print escaped (\\x1b)."""
    window = text[: limit * 4]  # bounded work, however long the text
    window = _LONG_NUMBER.sub(REDACTED, _EMAIL.sub(REDACTED, scrub_secrets(window)))
    if not window.isprintable():
        window = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in window)
    return window if len(window) <= limit and len(text) <= limit * 4 else window[:limit] + "…"


def quoted(value: object, limit: int = MAX_QUOTED_CHARS) -> str:
    """A client's value as Helix's own error quotes it: a string in quotes, anything else as (cut) JSON, never a
    Python repr; scrubbed as `scrub_client_text`."""
    if isinstance(value, str):
        return f"'{scrub_client_text(value, limit)}'"
    try:
        text = msgspec.json.encode(value).decode()
    except (TypeError, RecursionError, OverflowError):  # not JSON (NaN is), or nested too deeply to encode
        return "a value of an unreadable shape"
    return scrub_client_text(text, limit)

"""Process-wide logging for `helix serve`: Helix's own messages at the configured level, chatty libraries quiet."""

from __future__ import annotations

import logging

# Per-request INFO lines from the HTTP clients and Presidio's recognizer registry are noise on a proxy.
_QUIET = ("httpx", "httpx2", "presidio-analyzer", "presidio-anonymizer")


# Control characters (and Unicode line breaks) in a message are the client's, never real line breaks:
# escaped, so a model name or header with "\r\n" in it cannot forge a log line.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(32), 127, 0x85)} | {0x2028: "\\u2028", 0x2029: "\\u2029"}
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def escape_controls(text: str) -> str:
    return text.translate(_ESCAPES)


class EscapingFormatter(logging.Formatter):
    """Escapes control characters in the message; tracebacks that follow it keep their lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(EscapingFormatter(FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))

"""Process-wide logging for `helix serve`: Helix's own messages at the configured level, chatty libraries quiet."""

from __future__ import annotations

import logging

# Per-request INFO lines from the HTTP clients and Presidio's recognizer registry are noise on a proxy.
_QUIET = ("httpx", "httpx2", "presidio-analyzer", "presidio-anonymizer", "aiosqlite")


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))

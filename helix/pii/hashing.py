"""Keyed hashing: correlates a value across requests and logs without storing it (light to import:
the CLI and start-up use it before any detection engine is loaded)."""

from __future__ import annotations

import hashlib
import hmac


def keyed_hash(value: str, key: bytes | str) -> str:
    """HMAC-SHA256 hex digest of `value` under `key`."""
    raw_key = key.encode() if isinstance(key, str) else key
    return hmac.new(raw_key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

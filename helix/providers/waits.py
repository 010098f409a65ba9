"""How long a provider asked to wait (Retry-After, retry-after-ms): read safely for the router's retries and
cooldowns, and passed on to clients in whole seconds."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

# The longest wait a provider's Retry-After is taken for, by the router and by the client Helix passes it to: a
# 1e9 or a date in 2099 (a broken or hostile provider's) must not park a deployment, or a client, for years.
MAX_RETRY_AFTER_SECONDS = 3600.0


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds a provider asked to wait, at most MAX_RETRY_AFTER_SECONDS: retry-after-ms, then Retry-After as
    seconds or an HTTP date (one in the past is 0); None when neither says a number of seconds (junk, NaN,
    infinity, a negative number)."""
    ms = _seconds(headers.get("retry-after-ms"))
    if ms is not None:
        return min(ms / 1000, MAX_RETRY_AFTER_SECONDS)
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _seconds(value)
    if seconds is None:
        try:
            seconds = max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError, OverflowError):
            return None
    return min(seconds, MAX_RETRY_AFTER_SECONDS)


def _seconds(value: str | None) -> float | None:
    """A finite, non-negative number in `value`, or None."""
    if value is None or len(value) > 40:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def wait_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A provider's wait as Helix passes it on: Retry-After in whole seconds (as RFC 9110 has it, an HTTP date
    turned into them) and retry-after-ms (which OpenAI's SDKs read first); none when it could not be read."""
    wait = retry_after(headers)
    if wait is None:
        return {}
    return {"retry-after": str(math.ceil(wait)), "retry-after-ms": str(math.ceil(wait * 1000))}

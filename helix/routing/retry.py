"""What a failed attempt means for the next one, and how long to wait before it.

RETRY  worth trying again, here or elsewhere: connection errors, timeouts before the first byte,
       invalid JSON, 429, 500, 502, 503, 504, 529
NEXT   this deployment cannot serve it, another might: its credentials were refused, the model is not
       there, it cannot take this request (no embeddings, too long, content policy), or it asks for a
       wait longer than [routing] max_retry_wait
STOP   the client's own fault (400, 413, 422...): every deployment would say the same
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from enum import Enum

from helix.errors import HelixError, InvalidRequest, ProviderNotConfigured, UpstreamUnavailable

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504, 529})
_ELSEWHERE_CODES = frozenset(
    {"upstream_auth_error", "context_length_exceeded", "content_filter", "content_policy_violation"}
)
_ELSEWHERE_STATUS = frozenset({403, 404})


class Verdict(Enum):
    RETRY = "retry"
    NEXT = "next"
    STOP = "stop"


def classify(error: HelixError, max_wait: float) -> Verdict:
    if isinstance(error, UpstreamUnavailable):  # and UpstreamTimeout
        return Verdict.RETRY
    if isinstance(error, (ProviderNotConfigured, InvalidRequest)) and error.provider is not None:
        return Verdict.NEXT  # raised by our adapter for this provider (e.g. no embeddings API), not upstream
    if error.provider is None:
        return Verdict.STOP
    if error.code in _ELSEWHERE_CODES or error.status in _ELSEWHERE_STATUS:
        return Verdict.NEXT
    if error.status in RETRYABLE_STATUS:
        wait = retry_after(error.headers)
        return Verdict.NEXT if wait is not None and wait > max_wait else Verdict.RETRY
    return Verdict.STOP


def counts_against(error: HelixError) -> bool:
    """Whether the failure says something about the deployment's health (not the request's)."""
    return (
        isinstance(error, UpstreamUnavailable)
        or error.status in RETRYABLE_STATUS
        or error.code == "upstream_auth_error"
    )


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


def backoff(retry: int, base: float, cap: float, asked: float | None) -> float:
    """Exponential backoff with equal jitter (half fixed, half random); never shorter than what was asked."""
    step = min(cap, base * (2 ** (retry - 1)))
    wait = step / 2 + random.random() * step / 2
    return max(wait, asked or 0.0)

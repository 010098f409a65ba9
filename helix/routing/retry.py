"""What a failed attempt means for the next one, and how long to wait before it.

RETRY  worth trying again, here or elsewhere: connection errors, timeouts before the first byte,
       invalid JSON, 429, 500, 502, 503, 504, 529
NEXT   this deployment cannot serve it, another might: its credentials were refused, the model is not
       there, it cannot take this request (no embeddings, too long, content policy), or it asks for a
       wait longer than [routing] max_retry_wait
STOP   the client's own fault (400, 413, 422...): every deployment would say the same
"""

from __future__ import annotations

import random
from enum import Enum

from helix.errors import HelixError, InvalidRequest, ProviderNotConfigured, UpstreamUnavailable
from helix.providers.waits import retry_after

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


def backoff(retry: int, base: float, cap: float, asked: float | None) -> float:
    """Exponential backoff with equal jitter (half fixed, half random); never shorter than what was asked."""
    step = min(cap, base * (2 ** (retry - 1)))
    wait = step / 2 + random.random() * step / 2
    return max(wait, asked or 0.0)

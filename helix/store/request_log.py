"""The request log: one row per request, written through the single writer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from helix.call import Call

_encode = msgspec.json.encode

COLUMNS = (
    "id",
    "ts",
    "endpoint",
    "key_id",
    "user",
    "model_requested",
    "provider",
    "model",
    "stream",
    "status",
    "error_code",
    "cache",
    "latency_ms",
    "overhead_ms",
    "ttft_ms",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cost_usd",
    "saved_usd",
    "helix_headers",
)
_KNOWN = frozenset(COLUMNS)
INSERT = f"INSERT INTO requests ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def fields(call: Call) -> dict[str, Any]:
    """What the log knows of a call, by column."""
    usage = call.usage
    return {
        "id": call.id,
        "ts": call.ts,
        "endpoint": call.endpoint,
        "key_id": call.key.id if call.key is not None else None,
        "user": call.user,
        "model_requested": call.requested_model,
        "provider": call.target.provider.name,
        "model": call.target.model,
        "stream": int(call.stream),
        "status": call.status,
        "error_code": call.error_code,
        "cache": call.cache,
        "latency_ms": ms(call.finished),
        "overhead_ms": ms(call.overhead_seconds),
        "ttft_ms": ms(call.ttft),
        "prompt_tokens": usage.prompt_tokens if usage else None,
        "completion_tokens": usage.completion_tokens if usage else None,
        "cached_tokens": usage.cached_tokens if usage else None,
        "cost_usd": call.cost,
        "saved_usd": call.saved,
        # The headers only this request's stages set (cache similarity, budget left, attempts), as JSON, for
        # the dashboard's request detail; the usual ones (request id, cache, cost...) follow from the row.
        "helix_headers": _encode(call.response_headers).decode() if call.response_headers else None,
    }


def row(known: Mapping[str, Any]) -> tuple[Any, ...]:
    """The INSERT's parameters: the columns `known` gives, NULL for the rest."""
    if not _KNOWN.issuperset(known):
        raise ValueError(f"not columns of the request log: {', '.join(sorted(set(known) - _KNOWN))}")
    return tuple(map(known.get, COLUMNS))

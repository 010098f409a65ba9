"""The request log: one row per request, written through the single writer."""

from __future__ import annotations

from typing import Any

from helix.call import Call

INSERT = (
    "INSERT INTO requests (id, ts, endpoint, key_id, user, model_requested, provider, model, stream, status,"
    " error_code, cache, latency_ms, overhead_ms, ttft_ms, prompt_tokens, completion_tokens, cached_tokens,"
    " cost_usd, saved_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# The headers only this request's stages set (cache similarity, budget left), as JSON, for the dashboard's
# request detail; the usual ones (request id, cache, cost...) follow from the row itself.
SET_HELIX_HEADERS = "UPDATE requests SET helix_headers = ? WHERE id = ?"


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def row(call: Call) -> tuple[Any, ...]:
    usage = call.usage
    return (
        call.id,
        call.ts,
        call.endpoint,
        call.key_id,
        call.user,
        call.requested_model,
        call.target.provider.name,
        call.target.model,
        int(call.stream),
        call.status,
        call.error_code,
        call.cache,
        _ms(call.finished),
        _ms(call.overhead_seconds),
        _ms(call.ttft),
        usage.prompt_tokens if usage else None,
        usage.completion_tokens if usage else None,
        usage.cached_tokens if usage else None,
        call.cost,
        call.saved,
    )


def rejected_row(
    request_id: str, ts: float, endpoint: str, status: int, code: str | None, latency: float, user: str | None
) -> tuple[Any, ...]:
    """A request refused before it could be parsed or routed (bad JSON, unknown provider...)."""
    return (
        request_id,
        ts,
        endpoint,
        None,
        user,
        None,
        None,
        None,
        0,
        status,
        code,
        None,
        _ms(latency),
        _ms(latency),
        None,
        None,
        None,
        None,
        None,
        None,
    )

"""Every error Helix returns, in OpenAI's shape, defined in one place.

`{"error": {"message", "type", "param", "code"}}` with the matching HTTP status. Messages say what
to do next; they never carry prompt text, PII or keys.
"""

from __future__ import annotations

from typing import Any


class HelixError(Exception):
    """An error that becomes an OpenAI-shaped JSON response."""

    status = 500
    type = "api_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        provider: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if type is not None:
            self.type = type
        if code is not None:
            self.code = code
        self.param = param
        self.headers = headers or {}
        self.provider = provider

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.type,
            "param": self.param,
            "code": self.code,
        }
        if self.provider:
            error["provider"] = self.provider
        return {"error": error}


class InvalidRequest(HelixError):
    status = 400
    type = "invalid_request_error"


class PayloadTooLarge(InvalidRequest):
    status = 413
    code = "413"  # as Litestar's own 413 has always said


def body_too_large(when: str = "") -> PayloadTooLarge:
    """A body past [server] max_body_mb (`when`: " once decompressed"), wherever it is found out."""
    return PayloadTooLarge(f"the request body is too large{when}: raise [server] max_body_mb if this is intended")


class ClientGone(HelixError):
    """The client left before its answer (499), or stalled past [server] client_read_timeout (408) while sending
    its body: logged, though there is no one left to answer."""

    status = 499
    type = "invalid_request_error"
    code = "client_closed"


class Unauthorized(HelixError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class Forbidden(HelixError):
    status = 403
    type = "permission_error"


class NotFound(HelixError):
    status = 404
    type = "invalid_request_error"


class RateLimited(HelixError):
    status = 429
    type = "rate_limit_error"


class ProviderNotConfigured(HelixError):
    status = 400
    type = "invalid_request_error"
    code = "provider_not_configured"


class UpstreamError(HelixError):
    """The provider answered with an error; status, type and message are passed on as they came."""

    type = "upstream_error"


class UpstreamUnavailable(HelixError):
    """The provider could not be reached or did not answer in time."""

    status = 502
    type = "upstream_error"
    code = "upstream_unreachable"


class UpstreamTimeout(UpstreamUnavailable):
    status = 504
    code = "upstream_timeout"


class DatabaseUnavailable(HelixError):
    """Helix's database cannot be reached (PostgreSQL restarting, the network): try again shortly."""

    status = 503
    code = "database_unavailable"

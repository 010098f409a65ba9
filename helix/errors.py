"""Every error Helix returns, in OpenAI's shape, defined in one place.

`{"error": {"message", "type", "param", "code"}}` with the matching HTTP status. Messages say what
to do next; they never carry prompt text, PII or keys.
"""

from __future__ import annotations

import asyncio
from typing import Any

# Anthropic's API (/v1/messages, /v1/messages/count_tokens): its errors are answered in its shape.
ANTHROPIC_API = "/v1/messages"
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_ANTHROPIC_SERVER_KINDS = frozenset({"overloaded_error", "timeout_error"})


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

    def anthropic_body(self) -> dict[str, Any]:
        """The error in Anthropic's shape, for its API (ANTHROPIC_API): all its SDK reads. Its type is Anthropic's for
        the status; a status Anthropic has no type for (502) keeps a provider's server-side type of Anthropic's own
        (an overloaded_error event in a stream) rather than saying api_error."""
        kind = _ANTHROPIC_TYPES.get(self.status)
        if kind is None:
            if self.status < 500:
                kind = "invalid_request_error"
            else:
                kind = self.type if self.type in _ANTHROPIC_SERVER_KINDS else "api_error"
        return {"type": "error", "error": {"type": kind, "message": self.message}}

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


class NotForThisProvider(InvalidRequest):
    """The request cannot be put to this provider as asked (`n` > 1, or an audio part, to Anthropic): a 400 when no
    other deployment of the model could be tried; a fallback that cannot take it is passed over."""


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


# The message of a cancellation by the server itself: Helix's second stop signal, or uvicorn's once [server]
# shutdown_grace has passed. A client going away cancels with none.
SERVER_CUT = "helix: the server is stopping"
_SERVER_CUTS = frozenset({SERVER_CUT, "Task cancelled, timeout graceful shutdown exceeded"})


def cut_by_server(cancelled: BaseException) -> bool:
    """Whether a request's cancellation is the server stopping (answered 503), not its client leaving (499)."""
    return bool(cancelled.args) and cancelled.args[0] in _SERVER_CUTS


def answer_server_cut(cancelled: asyncio.CancelledError) -> None:
    """A cancellation by the server stopping becomes its 503 (`ServerStopping`): the client is told, in its API's
    shape, rather than given uvicorn's plain-text 500. Any other cancellation is left to go on."""
    if cut_by_server(cancelled):
        task = asyncio.current_task()
        assert task is not None
        task.uncancel()
        raise ServerStopping() from None


class ServerStopping(HelixError):
    """Helix stopped before the answer was complete (a second stop signal, or past [server] shutdown_grace)."""

    status = 503
    code = "server_stopping"

    def __init__(self) -> None:
        super().__init__("Helix is stopping and cut this request before its answer was complete; send it again")


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

"""The one pooled upstream HTTP client, error mapping and server-sent-event parsing.

httpx's own async transport adds ~0.7 ms per request and loses throughput under concurrency, so the
client runs on an aiohttp transport (`helix/providers/transport.py`): the httpx API on aiohttp's connection
pool. Requests go to that transport directly (`httpx.Request` in, `httpx.Response` out): the client's own
layers around it (merging defaults, cookies, auth and redirect handling, none of which a proxy uses) cost
~9% of a proxied request. Each request is built with its headers complete (the client's defaults, `Host`,
`Content-Length`: what `httpx.Request(content=...)` would add, in the same order), which costs a third of
letting httpx work them out again for every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from codecs import BOM_UTF8
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aiohttp
import httpx
import msgspec

from helix.call import Call
from helix.config import UpstreamConfig
from helix.errors import HelixError, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from helix.pii.scrub import REDACTED, scrub_secrets
from helix.providers.forward import PASSED_BACK, allowed_headers, forwarded
from helix.providers.transport import AnswerTooLarge, UpstreamTransport, iter_body, read_body
from helix.providers.waits import wait_headers

_json_decode = msgspec.json.decode
_json_encode = msgspec.json.encode
_MAX_MESSAGE_CHARS = 2000
# An error's type or code as providers write them ("invalid_request_error", "context_length_exceeded", "429"): a word
# of letters, digits and "_.:-", no run of six digits. Anything else (an address, a name, a card: a provider that
# echoes the request into them) is not kept: they become the log row's error code, shown by `helix logs`.
_ERROR_WORD = re.compile(r"(?!.*\d{6})[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")


def make_client(config: UpstreamConfig) -> httpx.AsyncClient:
    # httpx logs every request at INFO; that is noise on a proxy's hot path.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    limits = httpx.Limits(max_connections=config.max_connections, max_keepalive_connections=config.max_connections)
    timeout = httpx.Timeout(config.read_timeout, connect=config.connect_timeout)
    return httpx.AsyncClient(transport=UpstreamTransport(limits=limits), timeout=timeout)


ErrorReader = Callable[[int, Any], tuple[str, str]]
# Headers whose values are credentials (Authorization's, x-api-key's, a gateway's own): by a word in their name.
_CREDENTIAL_HEADER = re.compile(r"(?i)auth|key|token|secret")
_SCHEMES = ("Bearer ", "bearer ", "Basic ", "basic ", "Token ", "token ")


def _credentials(headers: Mapping[str, str]) -> tuple[str, ...]:
    """The credentials Helix sends a provider with every request, as they would appear in an error that echoes them."""
    found = []
    for name, value in headers.items():
        if _CREDENTIAL_HEADER.search(name):
            value = value.removeprefix(next((s for s in _SCHEMES if value.startswith(s)), "")).strip()
            if len(value) >= 8:
                found.append(value)
    return tuple(found)


def _scrubbing(read: ErrorReader, credentials: tuple[str, ...]) -> ErrorReader:
    """`read`, with the provider's own credentials out of the messages it reads: a 401 may echo the key Helix sent, in
    a format no pattern knows (an Azure key of 32 hex digits, a self-hosted server's), to whichever client asked."""
    if not credentials:
        return read

    def scrubbed(status: int, body: Any) -> tuple[str, str]:
        kind, message = read(status, body)
        for credential in credentials:
            message = message.replace(credential, REDACTED)
        return kind, message

    return scrubbed


def read_openai_error(status: int, body: Any) -> tuple[str, str]:
    """(type, message) from an OpenAI-shaped error body, or a fallback naming the status."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            kind, message = error.get("type"), error.get("message")
            text = error_text(message) if given(message) else f"HTTP {status}"
            return (kind if isinstance(kind, str) and kind else "upstream_error"), text
        if (found := error_message(body)) is not None:
            return "upstream_error", found
    return "upstream_error", f"the provider answered HTTP {status}"


_MESSAGE_KEYS = ("message", "msg", "detail")
_MAX_DEPTH = 4  # how deep an error's message is looked for; below that it is shown as JSON
_MAX_ITEMS = 10  # of a list of errors, the first ones are shown


def given(value: Any) -> bool:
    """A value that says something: not null, nor an empty string, list or object."""
    return value is not None and value != "" and value != [] and value != {}


def error_message(body: dict[str, Any]) -> str | None:
    """The text of an error body without an `error` object: its `error` (a string, a list of errors), or the
    `message` or `detail` some servers (FastAPI's validation) answer with; None when it has none of them."""
    for name in ("error", *_MESSAGE_KEYS):
        if given(found := body.get(name)):
            return error_text(found)
    return None


def error_text(value: Any, depth: int = 0) -> str:
    """A provider's error message as text for the client, whatever its type: a string as it is, an object's
    `message` (`msg`, `detail`), a list's messages joined, anything else as JSON; never a Python repr."""
    if isinstance(value, str):
        return value
    if depth < _MAX_DEPTH:
        if isinstance(value, dict):
            for name in _MESSAGE_KEYS:
                if given(inner := value.get(name)):
                    return error_text(inner, depth + 1)
        elif isinstance(value, list) and value:
            return "; ".join(error_text(item, depth + 1) for item in value[:_MAX_ITEMS])
    try:
        return _json_encode(value).decode()[:_MAX_MESSAGE_CHARS]
    except (TypeError, RecursionError):
        return "an error of an unreadable shape"


def _decode_or_none(raw: bytes) -> Any:
    """The JSON in `raw`, or None when it is not JSON Helix can read (also when nested too deeply to decode); a byte
    order mark before it is skipped, as RFC 8259 lets a reader."""
    try:
        return _json_decode(raw.removeprefix(BOM_UTF8))
    except (msgspec.DecodeError, RecursionError):
        return None


_LAST_HTTP_STATUS = 599
# A provider's 5xx that says something a client acts on is passed on as it came: 503 (overloaded, try later), 504
# (its own upstream timed out) and 529 (Anthropic's overloaded); any other (500, 501, 507...) is a 502.
_PASSED_ON_5XX = frozenset({502, 503, 504, 529})


def upstream_error(
    provider: str, status: int, raw: bytes, read: ErrorReader, headers: Mapping[str, str] | None = None
) -> HelixError:
    # an error body in the charset its Content-Type declares (latin-1 from some servers) is read as such, not as
    # UTF-8, which made it no JSON or garbled its message
    recoded = _recoded(raw, headers) if headers is not None else None
    return error_from_body(provider, status, _decode_or_none(raw if recoded is None else recoded), read, headers)


def _recoded(raw: bytes, headers: Mapping[str, str]) -> bytes | None:
    """`raw` as UTF-8 when its Content-Type declares another charset it decodes in; None otherwise."""
    if (charset := _charset(headers.get("content-type"))) is None:
        return None
    try:
        return raw.decode(charset).encode()
    except (LookupError, UnicodeError):
        return None


_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([A-Za-z0-9._:-]{1,40})", re.IGNORECASE)
_UTF8_NAMES = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


def _charset(content_type: str | None) -> str | None:
    """The charset a Content-Type declares other than UTF-8 (or ASCII, a part of it), or None."""
    found = _CHARSET.search(content_type) if content_type else None
    if found is None or found.group(1).lower() in _UTF8_NAMES:
        return None
    return found.group(1)


# How providers that give no code say a request is longer than the model reads: Anthropic ("prompt is too long: 250123
# tokens > 200000 maximum", "input length and `max_tokens` exceed context limit"), vLLM and other OpenAI-compatible
# servers ("This model's maximum context length is 4096 tokens").
_TOO_LONG = re.compile(
    r"(?i)prompt is too long|maximum context length|exceeds? (?:the )?(?:model'?s? )?context (?:limit|window|length)"
)


def error_from_body(
    provider: str, status: int, body: Any, read: ErrorReader, headers: Mapping[str, str] | None = None
) -> HelixError:
    """The provider's error in OpenAI's shape: its message with credentials scrubbed, its Retry-After passed on
    (in whole seconds, at most an hour: `wait_headers`).

    A provider's 401 means Helix's key for it is wrong, not the client's: a 502 `upstream_auth_error`, so
    it cannot be mistaken for a bad Helix key. A provider's 500 (or another 5xx but 503, 504 and 529) is its own
    failure: a 502 (a gateway's 500 says the gateway broke), code `upstream_server_error` unless it gave one. A
    status HTTP does not have (999) is a 502: passed on, it would cut the client's connection."""
    if status > _LAST_HTTP_STATUS:
        return UpstreamError(
            f"{provider}: the provider answered with status {status}, which is not an HTTP status",
            status=502,
            type="upstream_error",
            provider=provider,
        )
    error_type, message = read(status, body)
    if _ERROR_WORD.fullmatch(error_type) is None:
        error_type = "upstream_error"  # it becomes the client's error type and the log row's error code
    message = scrub_secrets(message[:_MAX_MESSAGE_CHARS])
    if status == 401:
        return UpstreamError(
            f"{provider}: the provider refused Helix's credentials ({message}); check its api_key in helix.toml",
            status=502,
            type="upstream_error",
            code="upstream_auth_error",
            provider=provider,
        )
    code = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        found = body["error"].get("code")
        if isinstance(found, int) and not isinstance(found, bool):
            found = str(found)
        # a code of another type (an object, a list) says nothing a client could match: left out
        code = found if isinstance(found, str) and _ERROR_WORD.fullmatch(found) is not None else None
    if code is None and status in (400, 413) and _TOO_LONG.search(message):
        code = "context_length_exceeded"  # OpenAI's code for what others only say, so a router falls back for it too
    if status >= 500 and status not in _PASSED_ON_5XX:
        # The provider failed: to the client, the gateway's upstream did (502); its words and type are kept.
        if not message.endswith(f"answered HTTP {status}"):  # a body with no message says only that already
            message = f"{message} (the provider answered HTTP {status})"
        status, code = 502, code or "upstream_server_error"
    return UpstreamError(
        f"{provider}: {message}",
        status=status,
        type=error_type,
        code=code,
        provider=provider,
        headers=wait_headers(headers) if headers is not None else None,
    )


def carried_error(provider: str, body: Any, read: ErrorReader) -> HelixError | None:
    """The error a 200 answer Helix cannot read carries instead (some servers and proxies answer so, as a stream's
    event may): a 502 with the provider's message, rather than one saying the answer was of an unexpected shape."""
    return error_from_body(provider, 502, body, read) if isinstance(body, dict) and given(body.get("error")) else None


def unreadable(provider: str, what: str, code: str, detail: str = "") -> UpstreamError:
    """The provider sent `what` ("an answer", "a stream event") of a shape Helix cannot read: a 502."""
    message = f"{provider}: the provider sent {what} of an unexpected shape" + (f" ({detail})" if detail else "")
    return UpstreamError(message, status=502, type="upstream_error", code=code, provider=provider)


def stream_ended(provider: str, response: httpx.Response, evented: bool) -> UpstreamError:
    """A stream that ended before its answer did: cut short, said so rather than a cut answer passed off as whole;
    or, with no event at all and a type that says it was never events (an HTML error page, NDJSON), said so."""
    kind = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    if not evented and kind and kind != "text/event-stream":
        return unreadable(provider, "a stream", "upstream_bad_stream", f"{kind}, not events")
    return UpstreamError(
        f"{provider}: the provider's stream ended before the answer was finished",
        status=502,
        type="upstream_error",
        code="upstream_truncated_stream",
        provider=provider,
    )


def decode_event(provider: str, data: str | bytes) -> dict[str, Any]:
    """One stream event's JSON; a garbled event is the provider's fault: a 502, never a 500 or a cut stream."""
    try:
        event = _json_decode(data)
    except (msgspec.DecodeError, RecursionError):
        event = None
    if not isinstance(event, dict):
        raise unreadable(provider, "a stream event", "upstream_bad_stream", "not a JSON object")
    return event


# What a broken upstream can raise while Helix sends to it or reads from it: httpx's transport errors, a body
# that does not decode (a bad gzip), and aiohttp's own errors that httpx-aiohttp passes through unmapped
# (an answer that is not HTTP at all). Each is the provider's failure: a 502 or 504, never a 500.
UPSTREAM_FAILURES = (httpx.TransportError, httpx.DecodingError, aiohttp.ClientError)


def transport_error(provider: str, exc: Exception, *, answering: bool = False) -> HelixError:
    """`exc` as the error a client gets: a connection refused, a timeout, or a connection that failed before the
    provider answered or (`answering`) while its answer was being read: it was reached, and broke off."""
    # httpx-aiohttp maps aiohttp's errors coarsely (a refused connection arrives as ConnectTimeout), so
    # judge by the original aiohttp exception where there is one.
    cause = exc.__cause__ if isinstance(exc, httpx.HTTPError) else exc
    refused = isinstance(cause, aiohttp.ClientConnectorError) or (cause is None and isinstance(exc, httpx.ConnectError))
    timed_out = isinstance(cause, (TimeoutError, aiohttp.ServerTimeoutError)) or (
        cause is None and isinstance(exc, httpx.TimeoutException)
    )
    if refused:
        return UpstreamUnavailable(
            f"{provider}: cannot connect to the provider ({_detail(exc, cause)}); check its base_url and that it is up",
            provider=provider,
        )
    if timed_out:
        return UpstreamTimeout(
            f"{provider}: the provider did not answer in time; raise [upstream] read_timeout if it is just slow",
            provider=provider,
        )
    if answering:
        return UpstreamUnavailable(
            f"{provider}: the provider's answer broke off ({_detail(exc, cause)})",
            code="upstream_cut_off",
            provider=provider,
        )
    return UpstreamUnavailable(
        f"{provider}: the connection to the provider failed ({_detail(exc, cause)})", provider=provider
    )


_MAX_DETAIL_CHARS = 200


def _detail(exc: Exception, cause: BaseException | None) -> str:
    """What went wrong, in one short line: the error's first line, never the bytes it quotes after it (a broken
    answer's, which may hold what the model wrote) nor the URL aiohttp adds to a response's error."""
    found = cause if cause is not None else exc
    text = found.message if isinstance(found, aiohttp.ClientResponseError) else str(found)
    line = text.split("\n", 1)[0]
    # aiohttp words some failures with a repr: of the bytes it read (`... when reading: b'...'`, or `bytearray(...)`),
    # of its own exception inside another's (`<ContentLengthError: 400, message='...'>`), or of the socket's error
    # (`ConnectionResetError(104, 'Connection reset by peer')`): the words only.
    line = _QUOTED_BYTES.sub("", _WRAPPED_ERROR.sub(r"\2", _OS_ERROR.sub(r"\2", line)))
    line = _OBJECT_REPR.sub("", line).strip().rstrip(":.(")
    return scrub_secrets(line[:_MAX_DETAIL_CHARS]) or type(found).__name__


_QUOTED_BYTES = re.compile(r"""\s*:?\s*\b(?:b['"]|bytearray\().*""")
# an object's repr and all after it: the half-read response of a connection closed in its headers
# (`... (<RawResponseMessage(version=HttpVersion(major=1, minor=1), code=200, ...`)
_OBJECT_REPR = re.compile(r"\s*\(?<[A-Z]\w*\(.*")
_WRAPPED_ERROR = re.compile(r"""<\w+: \d+, message=(['"])(.*?)\1>""")
# an OSError's repr inside another's words: "... ConnectionResetError(104, 'Connection reset by peer')" -> its words
_OS_ERROR = re.compile(r"""\b\w+Error\(-?\d+, (['"])(.*?)\1\)""")


@asynccontextmanager
async def open_request(
    client: httpx.AsyncClient,
    transport: httpx.AsyncBaseTransport,
    call: Call | None,
    provider: str,
    url: httpx.URL | str,
    body: dict[str, Any] | None,
    headers: httpx.Headers,
    read_error: ErrorReader,
    method: str = "POST",
    timeout: httpx.Timeout | None = None,
) -> AsyncIterator[httpx.Response]:
    """Send a request through `transport` (the `client`'s for this URL) with the `client`'s default headers and
    `Host` already in `headers`; yield the response once its status is OK; raise an OpenAI-shaped error
    otherwise.

    Time spent waiting for the upstream's headers is added to `call.upstream_seconds`.
    """
    content = _json_encode(body) if body is not None else b""
    extensions = {"timeout": (timeout or client.timeout).as_dict()}
    request = httpx.Request(method, url, headers=headers, stream=httpx.ByteStream(content), extensions=extensions)
    request.read()
    if body is not None:
        request.headers["Content-Length"] = str(len(content))
    began = time.perf_counter()
    try:
        response = await transport.handle_async_request(request)
    except UPSTREAM_FAILURES as exc:
        raise transport_error(provider, exc) from None
    finally:  # a client that left meanwhile (cancelled) was waiting for the provider too, not for Helix
        if call is not None:
            call.upstream_seconds += time.perf_counter() - began
    try:
        if response.status_code >= 400:
            raw = await _read(response, provider, call, MAX_ERROR_BYTES)
            raise upstream_error(provider, response.status_code, raw, read_error, response.headers)
        if response.status_code >= 300:
            raise UpstreamUnavailable(
                f"{provider}: the provider answered HTTP {response.status_code} (a redirect, which Helix does not"
                " follow); check its base_url",
                code="upstream_redirect",
                provider=provider,
            )
        if call is not None:
            for name in PASSED_BACK:
                # ASCII: a header Helix answers with carries latin-1 at most (UTF-8 here was a 500)
                if (
                    (value := response.headers.get(name))
                    and len(value) <= 200
                    and value.isascii()
                    and value.isprintable()
                ):
                    call.upstream_headers[name] = value
        if call is not None:
            call.answering = True
        try:
            yield response
        except HelixError as error:
            if call is not None and not call.stream and _broke_off(error):
                # a whole answer the provider began (its headers came) and broke off or stalled: billed all the same.
                # A stream's is charged as the stream it was (`estimate.unmetered`), not twice.
                call.cut_answers += (call.target,)
            raise
    finally:
        await response.aclose()


def _broke_off(error: HelixError) -> bool:
    return isinstance(error, UpstreamTimeout) or error.code in ("upstream_cut_off", "upstream_truncated_stream")


# The most bytes of a whole answer Helix reads, decoded: beyond any real one, short of letting a provider (or a gzip
# bomb from one) fill the memory. Embeddings are the largest (2,048 embeddings of 3,072 numbers are ~130 MB of JSON);
# 64 MB of text is millions of tokens, or the log-probabilities of a long answer. An error says what it must in far
# less: an endless one reached gigabytes of memory, three attempts at a time.
MAX_ANSWER_BYTES = 256 * 1024 * 1024
MAX_TEXT_ANSWER_BYTES = 64 * 1024 * 1024
MAX_ERROR_BYTES = 8 * 1024 * 1024


def _answer_limit(call: Call | None) -> int:
    return MAX_ANSWER_BYTES if call is not None and call.endpoint == "embeddings" else MAX_TEXT_ANSWER_BYTES


async def _read(response: httpx.Response, provider: str, call: Call | None, limit: int) -> bytes:
    began = time.perf_counter()
    try:
        return await read_body(response, limit)
    except AnswerTooLarge:
        raise unreadable(provider, "an answer", "upstream_bad_answer", f"over {limit >> 20} MB") from None
    except httpx.DecodingError as exc:
        # whole, in an encoding it does not decode from (said to be gzip, and not): of no use, as an answer that is
        # not JSON is, and not billed as one that broke off is (faults round 28: charged at the estimate, retried)
        raise UpstreamUnavailable(
            f"{provider}: the provider's answer does not decode as its Content-Encoding says ({_detail(exc, None)})",
            code="upstream_bad_answer",
            provider=provider,
        ) from None
    except UPSTREAM_FAILURES as exc:
        raise transport_error(provider, exc, answering=True) from None
    finally:
        if call is not None:
            call.upstream_seconds += time.perf_counter() - began


async def read_json(response: httpx.Response, provider: str, call: Call | None) -> Any:
    return (await read_json_raw(response, provider, call))[0]


async def read_json_raw(response: httpx.Response, provider: str, call: Call | None) -> tuple[Any, bytes]:
    """The answer decoded, and its bytes as received, less any byte order mark (some servers write one)."""
    raw = (await _read(response, provider, call, _answer_limit(call))).removeprefix(BOM_UTF8)
    body = _decode_or_none(raw)
    if body is None and (recoded := _recoded(raw, response.headers)) is not None:
        raw, body = recoded, _decode_or_none(recoded)  # not UTF-8: in the charset it declares, then as UTF-8
    if body is None:
        # retried as an unavailable provider is, and said to be what it is: reached, with an answer of no use
        raise UpstreamUnavailable(
            f"{provider}: the provider's answer was not valid JSON", code="upstream_bad_answer", provider=provider
        )
    return body, raw


# The most bytes one stream event (or one line of it) may take: far beyond any real event, short of letting an
# upstream that never ends a line fill the memory.
MAX_EVENT_BYTES = 32 * 1024 * 1024
# Bytes looked for as numbers: `b"\n" in data` first tries `b"\n"` as an int, and raises and clears a TypeError
# inside before it searches (~0.5 µs each time; `10 in data` is a memchr).
LF, CR = ord("\n"), ord("\r")


# After an answer's last chunk, what a provider still owes (its usage, `[DONE]`, message_stop) comes at once: one that
# sent its answer whole and kept the stream open is not waited for past this (its client was held for the read timeout
# and given an error after the whole answer).
AFTER_THE_END_SECONDS = 2.0


async def _piece_before(pieces: AsyncIterator[bytes], end_by: float) -> bytes | None:
    """The next piece of a stream whose answer has ended, or None when none came by `end_by` (or the read timed out, or
    the connection broke: the answer was whole, and its client is not given an error after it); StopAsyncIteration
    when the stream ended."""
    # Read apart, and given up on without cancelling this task: a transport may make a cancelled read its own timeout
    # error.
    next_one = asyncio.ensure_future(anext(pieces))
    try:
        await asyncio.wait((next_one,), timeout=max(0.0, end_by - asyncio.get_running_loop().time()))
    finally:  # past the wait, or this task cancelled (its client gone): the read is not left behind
        if not next_one.done():
            next_one.cancel()
            with contextlib.suppress(BaseException):
                await next_one
    try:
        return next_one.result()
    except (asyncio.CancelledError, *UPSTREAM_FAILURES):
        return None


async def iter_sse(
    response: httpx.Response, provider: str, ended: Callable[[], bool] | None = None
) -> AsyncIterator[tuple[str, bytes, bool]]:
    """Yield (event, data, more) of a server-sent-event stream as they arrive; `more`: the next event came in
    the same network read, so it follows at once. `data` is bytes as sent (JSON decoders take them as is).

    Lines end with LF, CRLF or a lone CR, as the SSE format allows; the last line needs no ending. A byte order mark
    before the first line is skipped, as the format says (read as part of a field's name, it lost the first event).
    Keep-alive comments (": ping") keep each read short, so the read timeout bounds the time between events too: a
    stream that sent only them for that long stopped answering (it was kept open for ever).

    `ended()` says when the answer is whole: from then the stream is read for AFTER_THE_END_SECONDS at most (pings
    after it do not hold the stream open: the time counts from the end). Asked once a network read, not once an
    event: a layer of its own around the events cost every chunk of every stream."""
    quiet_limit = _read_timeout(response)
    last_event = time.monotonic()
    buffer = b""  # line endings made LF; what has come of the event not yet ended by a blank line
    started = False  # past where a byte order mark may be
    # Pieces with no line end, joined once one comes: added one by one, a long line sent in small pieces cost time
    # in the square of its length (16 MB in 2 KB pieces: 5 s of CPU).
    unended: list[bytes] = []
    unended_bytes = 0
    pieces = iter_body(response)
    next_piece = pieces.__anext__
    end_by: float | None = None
    try:
        while True:
            if end_by is None and ended is not None and ended():
                end_by = asyncio.get_running_loop().time() + AFTER_THE_END_SECONDS
            if end_by is None:
                try:
                    piece = await next_piece()
                except StopAsyncIteration:
                    break
            else:
                try:
                    late = await _piece_before(pieces, end_by)
                except StopAsyncIteration:
                    break
                if late is None:
                    logging.getLogger("helix.providers").info("a stream kept open after its answer's end is closed")
                    return
                piece = late
            if started and LF not in piece and CR not in piece:
                unended.append(piece)
                unended_bytes += len(piece)
                if len(buffer) + unended_bytes > MAX_EVENT_BYTES:
                    raise _too_long(provider)
                continue
            if unended:
                buffer = b"".join((buffer, *unended, piece))
                unended.clear()
                unended_bytes = 0
            else:
                buffer += piece
            if not started:
                if len(buffer) < len(BOM_UTF8) and BOM_UTF8.startswith(buffer):
                    continue  # perhaps the first part of one: decided by the next read
                buffer, started = buffer.removeprefix(BOM_UTF8), True
            if LF not in piece and CR not in piece:
                if len(buffer) > MAX_EVENT_BYTES:
                    raise _too_long(provider)
                continue
            held = b""
            if CR in buffer:
                if buffer.endswith(b"\r"):  # perhaps the first half of a CRLF: decided by the next read
                    buffer, held = buffer[:-1], b"\r"
                buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            blocks = buffer.split(b"\n\n")
            buffer = blocks.pop() + held
            ready = None  # each event is yielded once the next one of this read is found, or the read is done
            for block in blocks:
                if (event := _sse_event(block, provider)) is not None:
                    if ready is not None:
                        yield (*ready, True)
                    ready = event
            if ready is not None:
                last_event = time.monotonic()
                yield (*ready, False)
            elif end_by is None and quiet_limit is not None and time.monotonic() - last_event > quiet_limit:
                raise UpstreamTimeout(
                    f"{provider}: the stream sent only keep-alives for {quiet_limit:g} s; raise [upstream] read_timeout"
                    " if the model is just slow",
                    provider=provider,
                )
            if len(buffer) > MAX_EVENT_BYTES:  # after the events that did end
                raise _too_long(provider)
        buffer = b"".join((buffer, *unended))
        if (event := _sse_event(buffer.rstrip(b"\r"), provider)) is not None:  # the last event, ended or not
            if not _whole_data(event[1]):  # cut inside its data: the stream ended before the answer did
                raise stream_ended(provider, response, evented=True)
            yield (*event, False)
    except UPSTREAM_FAILURES as exc:
        raise transport_error(provider, exc, answering=True) from None


def _read_timeout(response: httpx.Response) -> float | None:
    """The read timeout the request was sent with (the deployment's or [upstream] read_timeout), if any."""
    try:
        timeout = response.request.extensions.get("timeout")
    except RuntimeError:  # a response made without a request (tests)
        return None
    read = timeout.get("read") if isinstance(timeout, dict) else None
    return float(read) if isinstance(read, (int, float)) else None


def _whole_data(data: bytes) -> bool:
    """Whether an event's data is all there: `[DONE]` or JSON that parses (not cut off by the stream's end)."""
    if data.strip() == b"[DONE]":
        return True
    try:
        _json_decode(data)
    except (msgspec.DecodeError, RecursionError):
        return False
    return True


def _sse_event(block: bytes, provider: str) -> tuple[str, bytes] | None:
    """The event (name, data) of an event's lines (ended by LF), or None when they carry no data."""
    if len(block) > MAX_EVENT_BYTES:
        raise _too_long(provider)
    if block.startswith(b"data:") and LF not in block:  # most events: one line of data
        return "message", block[5:].lstrip(b" ")
    name = ""
    data: list[bytes] = []
    for line in block.split(b"\n"):
        if line.startswith(b"data:"):
            data.append(line[5:].lstrip(b" "))
        elif line.startswith(b"event:"):
            name = line[6:].strip().decode(errors="replace")
    return (name or "message", b"\n".join(data)) if data else None


def _too_long(provider: str) -> UpstreamError:
    return unreadable(provider, "a stream event", "upstream_bad_stream", f"over {MAX_EVENT_BYTES >> 20} MB")


class HttpAdapter:
    """What the HTTP provider adapters share: where the upstream is, the headers every request carries
    (plus the client's headers this provider may see), and one way to open a request there."""

    name: str
    kind: str

    def __init__(
        self,
        name: str,
        base: str,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        read_error: ErrorReader,
        forward: list[str] | None,
        timeout: httpx.Timeout | None,
    ) -> None:
        self.name = name
        self._base = base
        self._client = client
        # What the client would choose and add for each request, chosen and merged once.
        url = httpx.URL(base)
        self._transport = client._transport_for_url(url)
        self._headers = {**client.headers, **headers}
        if "host" not in (name.lower() for name in self._headers):
            self._headers = {"Host": url.netloc.decode("ascii"), **self._headers}
        self._prepared = httpx.Headers(self._headers)  # copied per request, not normalised again
        self._urls: dict[str, httpx.URL] = {}  # by path: parsed once, not per request
        self._read_error = _scrubbing(read_error, _credentials(self._headers))
        self.forward = allowed_headers(self.kind, forward)
        self._timeout = timeout

    def _open(
        self, call: Call | None, path: str, body: dict[str, Any] | None
    ) -> AbstractAsyncContextManager[httpx.Response]:
        """POST `body` to `path` (GET when there is no body) for `call`; see `open_request`."""
        headers = self._prepared
        if call is not None and (extra := forwarded(call.headers, self.forward)):
            headers = httpx.Headers({**self._headers, **extra})
        method = "GET" if body is None else "POST"
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx.URL(self._base + path)
        return open_request(
            self._client,
            self._transport,
            call,
            self.name,
            url,
            body,
            headers,
            self._read_error,
            method,
            self._timeout,
        )

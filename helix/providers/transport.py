"""The upstream client's transport: httpx-aiohttp's, with less work per request.

Helix's upstream calls use the httpx API (`httpx.Request` in, `httpx.Response` out) on aiohttp's connection
pool, through httpx-aiohttp's `AiohttpTransport`. That transport's own layers cost about as much as aiohttp's
request itself: per request a new `aiohttp.ClientTimeout`, the URL printed and parsed again, the headers
decoded into a new multidict; per piece of the body a context manager and a 16 KB re-chunking generator.
This transport does the same work with those made once (timeouts by value, URLs by text) and reads the body
as aiohttp hands it over. aiohttp's errors are mapped to httpx's as httpx-aiohttp maps them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
from aiohttp.client_proto import ResponseHandler
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import map_aiohttp_exceptions
from multidict import CIMultiDict
from yarl import URL

_HTTP_1_1 = b"HTTP/1.1"
_NO_TIMEOUT: dict[str, float | None] = {}


def _mapped(exc: Exception) -> Exception:
    """aiohttp's `exc` as httpx-aiohttp maps it (the original as its cause), or itself when unmapped."""
    try:
        with map_aiohttp_exceptions():
            raise exc
    except Exception as mapped:
        return mapped


# How often an upstream body being read checks that its connection has not failed under it (see `_watch`).
WATCH_SECONDS = 0.25


class _Watch:
    """Wakes a read of a response's body that its connection can no longer answer. When the body turns malformed
    after it began (a chunk size that is not one), aiohttp closes the connection and records the error on it, but the
    body's reader is never told and waits forever, past every timeout (aiohttp 3.14). Checked every WATCH_SECONDS
    until the body ends or `cancel()`."""

    __slots__ = ("_content", "_handle", "_loop", "_protocol")

    def __init__(self, protocol: ResponseHandler, content: aiohttp.StreamReader) -> None:
        self._protocol, self._content = protocol, content
        self._loop = asyncio.get_running_loop()
        self._handle = self._loop.call_later(WATCH_SECONDS, self._check)

    def _check(self) -> None:
        failure = self._protocol.exception()
        if failure is not None and not self._content.is_eof():
            reason = str(getattr(failure, "message", None) or failure).splitlines()[0]
            message = f"the provider's answer broke off: {reason}"
            self._content.set_exception(aiohttp.ClientPayloadError(message), failure)
        elif not self._content.is_eof():
            self._handle = self._loop.call_later(WATCH_SECONDS, self._check)

    def cancel(self) -> None:
        self._handle.cancel()


class UpstreamBody(httpx.AsyncByteStream):
    """An aiohttp response's body, piece by piece as received."""

    __slots__ = ("_response",)

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        connection = self._response.connection
        protocol = connection.protocol if connection is not None else None
        watch = _Watch(protocol, content) if protocol is not None and not content.is_eof() else None
        try:
            while True:
                try:
                    piece = await content.readany()
                except Exception as exc:
                    raise _mapped(exc)  # noqa: B904 - it carries aiohttp's error as its cause
                if not piece:
                    return
                yield piece
        finally:
            if watch is not None:
                watch.cancel()

    async def read(self) -> bytes:
        try:
            return await self._response.read()
        except Exception as exc:
            raise _mapped(exc)  # noqa: B904 - it carries aiohttp's error as its cause

    async def aclose(self) -> None:
        try:
            await self._response.__aexit__(None, None, None)
        except Exception as exc:
            raise _mapped(exc)  # noqa: B904 - it carries aiohttp's error as its cause


def _raw_body(response: httpx.Response) -> UpstreamBody | None:
    """The body as received when it is also the body as decoded (no content-encoding) and this transport's."""
    stream = response.stream
    if isinstance(stream, UpstreamBody) and "content-encoding" not in response.headers:
        return stream
    return None


class AnswerTooLarge(Exception):
    """An upstream's body (decoded) past the most Helix reads of one."""


async def read_body(response: httpx.Response, limit: int) -> bytes:
    """`response.aread()`, without httpx's decoding and re-chunking layers when there is nothing to decode, and never
    more than `limit` bytes (decoded: a small gzip body may inflate to gigabytes): AnswerTooLarge first."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise AnswerTooLarge
    body = _raw_body(response)
    if body is not None and declared.isdigit():
        return await body.read()  # aiohttp reads the declared length, checked above
    pieces: list[bytes] = []
    size = 0
    async for piece in iter_body(response):
        size += len(piece)
        if size > limit:
            pieces.clear()  # now, not when the exception's traceback lets go of this frame
            raise AnswerTooLarge
        pieces.append(piece)
    return b"".join(pieces)


def iter_body(response: httpx.Response) -> AsyncIterator[bytes]:
    """`response.aiter_bytes()`, the pieces as received when there is nothing to decode."""
    body = _raw_body(response)
    return body.__aiter__() if body is not None else response.aiter_bytes()


class UpstreamTransport(AiohttpTransport):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._timeouts: dict[tuple[float | None, float | None, float | None], aiohttp.ClientTimeout] = {}
        self._urls: dict[str, URL] = {}
        proxy = self.proxy
        self._proxy: dict[str, Any] = {
            "proxy": str(proxy.url) if proxy else None,
            "proxy_auth": aiohttp.BasicAuth(*proxy.auth) if proxy and proxy.auth else None,
            "proxy_headers": proxy.headers if proxy else None,
        }

    def _timeout(self, extensions: dict[str, Any]) -> aiohttp.ClientTimeout:
        given = extensions.get("timeout", _NO_TIMEOUT)
        key = (given.get("connect"), given.get("read"), given.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = self._timeouts[key] = aiohttp.ClientTimeout(sock_connect=key[0], sock_read=key[1], connect=key[2])
        return timeout

    def _url(self, request: httpx.Request) -> URL:
        text = str(request.url)
        url = self._urls.get(text)
        if url is None:
            if len(self._urls) >= 1024:  # paths are few; a bound in case a caller varies them
                self._urls.clear()
            url = self._urls[text] = URL(text)
        return url

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        extensions = request.extensions
        try:
            data: bytes | httpx.AsyncByteStream | None = request.content or None
        except httpx.RequestNotRead:
            data = request.stream  # type: ignore[assignment]
            request.headers.pop("transfer-encoding", None)  # aiohttp chunks it itself
        try:
            response = await self.client.request(
                request.method,
                self._url(request),
                headers=CIMultiDict(request.headers.multi_items()),
                data=data,
                allow_redirects=False,
                auto_decompress=False,
                compress=False,
                timeout=self._timeout(extensions),
                server_hostname=extensions.get("sni_hostname"),
                **self._proxy,
            )
        except Exception as exc:
            raise _mapped(exc)  # noqa: B904 - it carries aiohttp's error as its cause
        reason = response.reason
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=UpstreamBody(response),
            request=request,
            extensions={"http_version": _HTTP_1_1, "reason_phrase": reason.encode()}
            if reason
            else {"http_version": _HTTP_1_1},
        )

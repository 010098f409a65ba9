"""How `helix serve` runs uvicorn: the HTTP protocol with caps on the request head, writing each answer at once.

httptools (uvicorn's fast parser) keeps reading a header for as long as the client sends it: one
100 MB header costs 200 MB of memory and stalls the event loop. The protocol here counts the bytes of
the request head as they arrive and answers 431 once it passes [server] max_header_kb (or the request
has more than max_headers headers), before the app, and so before authentication, sees anything. A client
has [server] client_read_timeout seconds to send a whole request (head and body) once it begins one, or to
begin one on a new connection: one that stalls gets a 408 and its connection closed, so slow or idle
clients cannot hold connections open for ever (between requests, uvicorn's keep-alive timeout closes an
idle connection). A request the parser cannot read is a 400 in OpenAI's error shape, not plain text.

uvicorn writes a response's head as soon as the app sends it, then its body: two writes (two system calls,
two packets) for every answer. The protocol's transport (`Coalescing`) holds what is written during one turn
of the event loop and sends it in one write at the end of that turn, or before the connection closes.

`GracefulServer` is how it stops: on SIGTERM (or Ctrl-C) it stops accepting, lets requests and streams in
flight finish for up to [server] shutdown_grace seconds (then cuts them: each is answered and logged as the
server's cut, a 503 `server_stopping` or that error as a stream's last event), drains the
log writer and exits 0; a second signal exits at once (status 1), after cutting what is in flight and
writing the log's rows (the cut requests' too). SIGHUP re-reads the config (helix/reload.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from types import FrameType
from typing import TYPE_CHECKING, Any, cast

import msgspec
import uvicorn

from helix.config import Config, ServerConfig
from helix.errors import ANTHROPIC_API, SERVER_CUT, HelixError, InvalidRequest

if TYPE_CHECKING:
    from helix.gateway import Gateway

# How long a second stop signal may take to cut the requests in flight and write their log rows and those
# already queued, before the process exits anyway.
FORCED_EXIT_SECONDS = 2.0
Flush = Callable[[float], Awaitable[bool]]


def _answer(status: str, error: HelixError, *, anthropic: bool = False) -> bytes:
    """A whole HTTP answer, in OpenAI's error shape (or, for Anthropic's API, its own), for a request the app never
    sees; the connection then closes."""
    body = msgspec.json.encode(error.anthropic_body() if anthropic else error.body())
    head = f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
    return head.encode() + b"connection: close\r\n\r\n" + body


Refusal = tuple[bytes, bytes]


def _answers(status: str, error: HelixError) -> Refusal:
    """`_answer` in OpenAI's error shape and in Anthropic's, for a request to its API."""
    return _answer(status, error), _answer(status, error, anthropic=True)


_HEAD_TOO_LARGE = _answers(
    "431 Request Header Fields Too Large",
    InvalidRequest(
        "the request headers are too large or too many; send fewer or smaller headers",
        code="request_header_fields_too_large",
    ),
)
_LATE = InvalidRequest("the request was not sent in time ([server] client_read_timeout)", code="request_timeout")
_TIMED_OUT = _answers("408 Request Timeout", _LATE)
_UPGRADE = InvalidRequest(
    "the request asks to switch protocols (Upgrade) and sends its body in chunks: Helix speaks HTTP/1.1 only;"
    " send it without the Upgrade header, or with a Content-Length",
    code="unsupported_upgrade",
)
_CHUNKED_UPGRADE = _answers("400 Bad Request", _UPGRADE)
_ANTHROPIC_PATH = ANTHROPIC_API.encode()


# The most bytes of a request's body skipped after it was answered unread (a 401, a 413): a client that sends a
# small body after such an answer keeps its connection; one that goes on sending a large one is cut off.
MAX_DRAIN_BYTES = 1024 * 1024

# Set in a request's ASGI scope when the server hangs up on a client that stalled while sending its body.
TIMED_OUT = "helix.timed_out"


class HeadRefused(Exception):
    """Raised in a parser callback to stop reading a request head; `_refusal` holds the answer."""


class Coalescing:
    """A connection's transport whose writes during one turn of the event loop go out as one write."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(data)

    def flush(self) -> None:
        if self._held:
            data = b"".join(self._held) if len(self._held) > 1 else self._held[0]
            self._held.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def writelines(self, data: Iterable[bytes]) -> None:
        for piece in data:
            self.write(piece)

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def protocol_options(server: ServerConfig) -> dict[str, Any]:
    """uvicorn.run() keyword arguments that cap the request head and the time to send a request."""
    max_bytes, max_count, read_timeout = server.max_header_kb * 1024, server.max_headers, server.client_read_timeout
    try:
        import httptools
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # no httptools on this platform: h11 caps the head itself (with a 400), with no read timeout
        return {"http": "h11", "h11_max_incomplete_event_size": max_bytes}

    class CappedHttpTools(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._in_head = True
            self._head_bytes = 0
            self._heads = 0  # request heads completed on this connection
            self._refused = False
            self._refusal: Refusal | None = None  # the answer to a head refused while it is parsed
            # Bytes of the body still to come of a request whose Upgrade (h2c) is ignored; None: no such request
            self._upgrade_body: int | None = None
            # When the request being read began (None between requests); one watchdog timer a connection, not
            # one a request, checks it.
            self._reading_since: float | None = None
            self._drain_left: int | None = None  # bytes of an answered request's body still to skip, at most
            self._watchdog: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(cast(asyncio.Transport, Coalescing(transport)))
            self._reading_since = self.loop.time()
            self._watchdog = self.loop.call_later(read_timeout, self._watch)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._watchdog is not None:
                self._watchdog.cancel()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._drain_left is not None:  # the body of a request answered before it was read
                self._drain_left -= len(data)
                if self._drain_left < 0:
                    self.transport.close()
                    return
            if self._reading_since is None:
                self._reading_since = self.loop.time()
            if self._upgrade_body:
                data = self._body_after_upgrade(data)
            was_in_head, heads = self._in_head, self._heads
            self._parse(data)
            if was_in_head and heads == self._heads and not self._refused:
                # The whole chunk is head (it did not even finish the headers): count it. A chunk that finished
                # a head also carried a body, perhaps a whole one (and so left the next request in its head):
                # its bytes are no head's.
                self._head_bytes += len(data)
                if self._head_bytes > max_bytes:
                    self._refuse(_HEAD_TOO_LARGE)

        def on_header(self, name: bytes, value: bytes) -> None:
            if len(self.headers) >= max_count:
                self._refusal = _HEAD_TOO_LARGE
                raise HeadRefused
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            size = len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers)
            if size > max_bytes:
                self._refusal = _HEAD_TOO_LARGE
                raise HeadRefused
            self._in_head = False
            self._heads += 1
            if self.parser.should_upgrade() and not self._should_upgrade():
                self._ignore_upgrade()
            super().on_headers_complete()

        def _ignore_upgrade(self) -> None:
            """A request that asks to switch protocols (`Upgrade: h2c`, as `curl --http2` sends) to one Helix does not
            speak is answered in HTTP/1.1, as the protocol lets a server. llhttp ends such a request at its head and
            leaves the rest to the new protocol: its body is read here (uvicorn dropped it, and the app read an
            empty body)."""
            headers = dict(self.headers)
            if b"transfer-encoding" in headers:
                self._refusal = _CHUNKED_UPGRADE
                raise HeadRefused
            length = headers.get(b"content-length", b"0")
            self._upgrade_body = int(length) if length.isdigit() and length != b"0" else None

        def _parse(self, data: bytes) -> None:
            """uvicorn's `data_received`, but for the bytes after the head of a request whose Upgrade is ignored: its
            body, and the requests after it."""
            self._unset_keepalive_if_required()
            while data:
                try:
                    self.parser.feed_data(data)
                    return
                except httptools.HttpParserError:
                    self.logger.warning("Invalid HTTP request received.")
                    self.send_400_response("Invalid HTTP request received.")
                    return
                except httptools.HttpParserUpgrade as upgrade:
                    if self._should_upgrade():
                        self.handle_websocket_upgrade()
                        return
                    data = data[upgrade.args[0] :]
                    if self._upgrade_body:
                        data = self._body_after_upgrade(data)

        def _body_after_upgrade(self, data: bytes) -> bytes:
            """Pass on what of `data` is the body of the request whose Upgrade is ignored; what follows it is left."""
            left = self._upgrade_body or 0
            piece, rest = data[:left], data[left:]
            if piece:
                self.on_body(piece)
            self._upgrade_body = left - len(piece)
            if not self._upgrade_body:
                self._upgrade_body = None
                self.on_message_complete()
            return rest

        def on_message_complete(self) -> None:
            if self._upgrade_body:  # llhttp ended the message at its head: its body is still to come
                return
            super().on_message_complete()
            self._in_head, self._head_bytes, self._reading_since, self._drain_left = True, 0, None, None

        def on_response_complete(self) -> None:
            cycle = self.cycle
            if cycle is not None and cycle.more_body:
                # Answered before its body was all read (a 401, a 413 by its Content-Length): the parser skips the
                # rest of the body, so the next request on the connection is read as itself, but no more than
                # MAX_DRAIN_BYTES of it; past that the connection is closed (a 1 GB body was read to its end).
                self._drain_left = MAX_DRAIN_BYTES
            super().on_response_complete()

        def send_400_response(self, msg: str) -> None:
            # The parser reports an exception raised in a callback as a parse error: say what it was.
            if self._refusal is not None:
                self._refuse(self._refusal)
            else:
                self._refuse(
                    _answers(
                        "400 Bad Request",
                        InvalidRequest(f"the request is not valid HTTP: {msg}", code="invalid_http_request"),
                    )
                )

        def _watch(self) -> None:
            since, now = self._reading_since, self.loop.time()
            if since is not None and now - since >= read_timeout:
                cycle = self.cycle
                if cycle is not None and cycle.response_started and not cycle.response_complete:
                    self.transport.close()  # the app is answering before reading it all: no 408 in the middle
                else:
                    anthropic = False
                    if cycle is not None:  # the app is reading the body: it sees the client leave, and why
                        cycle.scope[TIMED_OUT] = True  # type: ignore[literal-required]
                        anthropic = cycle.scope["path"].startswith(ANTHROPIC_API)
                    self._refuse(_TIMED_OUT, anthropic)
                return
            self._watchdog = self.loop.call_later(read_timeout - (now - since if since is not None else 0), self._watch)

        def _refuse(self, answers: Refusal, anthropic: bool | None = None) -> None:
            """Answer in Anthropic's error shape when the request (as far as it was read) is to its API."""
            self._refused = True
            if anthropic is None:
                anthropic = getattr(self, "url", b"").startswith(_ANTHROPIC_PATH)  # no url before a request begins
            if self.transport is not None and not self.transport.is_closing():
                self.transport.write(answers[1] if anthropic else answers[0])
                self.transport.close()

    protocol: type[asyncio.Protocol] = CappedHttpTools
    return {"http": protocol}


class GracefulServer(uvicorn.Server):
    _flush: Flush | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    # A worker of `helix serve --workers N` ignores SIGINT: its supervisor turns each stop into one SIGTERM.
    ignores_sigint = False

    def flush_log_on_exit(self, flush: Flush) -> None:
        """Have a second stop signal first write the rows queued for the log (`Writer.flush`); call on the loop."""
        self._flush, self._loop = flush, asyncio.get_running_loop()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGINT and self.ignores_sigint:
            return
        if self.should_exit:
            # The second signal: exit now, losing no log row. Requests in flight are cut (each answered and logged
            # as the server's cut, 503), then the rows queued for the log are written: FORCED_EXIT_SECONDS at most
            # in all.
            logging.getLogger("helix").warning("second stop signal: exiting at once")
            if self._flush is None or self._loop is None or self._loop.is_closed():
                os._exit(1)
            # A signal handler runs between two steps of the event loop's thread: it cannot wait there. The
            # requests and the writer's task run on that loop, so the exit is scheduled on it, with a timer
            # as a backstop in case the loop itself is stuck.
            backstop = threading.Timer(FORCED_EXIT_SECONDS + 0.5, os._exit, (1,))
            backstop.daemon = True
            backstop.start()
            self._loop.call_soon_threadsafe(self._loop.create_task, self._cut_and_exit(self._flush))
            return
        if sig == signal.SIGTERM:
            # A stop asked for, not an interruption: uvicorn would re-raise it once drained, and the process
            # would end "killed by SIGTERM"; after a clean drain it exits 0 instead.
            self.should_exit = True
            return
        super().handle_exit(sig, frame)

    async def _cut_and_exit(self, flush: Flush) -> None:
        try:
            began = time.monotonic()
            requests = list(self.server_state.tasks)
            for task in requests:
                task.cancel(SERVER_CUT)
            if requests:
                await asyncio.wait(requests, timeout=FORCED_EXIT_SECONDS / 4)
            if not await flush(max(0.1, FORCED_EXIT_SECONDS - (time.monotonic() - began))):
                logging.getLogger("helix").error("rows queued for the log were not all written before the exit")
        finally:
            os._exit(1)


def ignore_sighup() -> None:
    """Until the app can reload, a SIGHUP must not end the process (its default action)."""
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)


def reload_on_sighup(gateway: Gateway, loader: Callable[[], Config]) -> None:
    from helix.reload import reload

    if not hasattr(signal, "SIGHUP"):
        return
    loop = asyncio.get_running_loop()
    running: set[asyncio.Task[Any]] = set()

    def on_signal() -> None:
        logging.getLogger("helix").info("SIGHUP: re-reading the config")
        task = loop.create_task(reload(gateway, loader))
        running.add(task)
        task.add_done_callback(running.discard)

    loop.add_signal_handler(signal.SIGHUP, on_signal)

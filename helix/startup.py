"""Listen first, load after: the ASGI app `helix serve` hands to uvicorn.

Importing and building the real app (Litestar, Presidio and spaCy, NiceGUI, onnxruntime) takes
seconds. `DeferredApp` lets uvicorn open the port at once and builds the real app in a worker thread
once the server runs, then runs its lifespan. Until it is ready:
- `/health` answers 200 (the process is alive), `/health/ready` answers 503 with status "loading";
- any other request waits for the app (up to `wait_seconds`) and then goes through as usual, so a
  client that connects early is served, only later.
If building or starting the real app fails, `on_failure` is called (the server then exits with the
error) and waiting requests get a 503.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from helix import __version__

log = logging.getLogger("helix")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class StartupFailed(RuntimeError):
    """The real app could not be built or its start-up failed."""


class DeferredApp:
    def __init__(
        self,
        build: Callable[[], ASGIApp],
        on_failure: Callable[[BaseException], None],
        wait_seconds: float = 120.0,
        after_start: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._build = build
        self._on_failure = on_failure
        self._after_start = after_start
        self._wait_seconds = wait_seconds
        self._app: ASGIApp | None = None
        self._ready: asyncio.Event | None = None
        self._loader: asyncio.Task[None] | None = None
        self._inner: asyncio.Future[None] | None = None
        self._to_inner: asyncio.Queue[Message] = asyncio.Queue()
        self._from_inner: asyncio.Queue[Message] = asyncio.Queue()
        self.error: BaseException | None = None
        self.load_seconds: float | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        app = self._app
        if app is None:
            if scope["type"] == "http" and scope["path"] == "/health":
                await _json(send, 200, {"status": "ok", "version": __version__})
                return
            if scope["type"] == "http" and scope["path"] == "/health/ready":
                await _json(send, 503, {"status": "loading", "version": __version__})
                return
            app = await self._wait()
        if app is None:
            if scope["type"] == "http":
                await _unavailable(send, self.error)
            return  # a websocket that is never accepted is refused by the server
        await app(scope, receive, send)

    async def _wait(self) -> ASGIApp | None:
        assert self._ready is not None, "the lifespan has not started"
        try:
            await asyncio.wait_for(self._ready.wait(), self._wait_seconds)
        except TimeoutError:
            return None
        return self._app

    # -- lifespan -------------------------------------------------------------------------------------

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        self._ready = asyncio.Event()
        self._loader = asyncio.create_task(self._load(scope))
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        self._loader.cancel()
        await asyncio.gather(self._loader, return_exceptions=True)
        if self._app is not None and self._inner is not None:
            await self._to_inner.put({"type": "lifespan.shutdown"})
            try:
                await self._from_inner_or_end()
            except StartupFailed as exc:
                log.error("shutdown: %s", exc)
        await send({"type": "lifespan.shutdown.complete"})

    async def _load(self, scope: Scope) -> None:
        assert self._ready is not None
        started = time.perf_counter()
        try:
            app = await asyncio.to_thread(self._build)
            self._inner = asyncio.ensure_future(app(scope, self._to_inner.get, self._from_inner.put))
            await self._to_inner.put({"type": "lifespan.startup"})
            reply = await self._from_inner_or_end()
            if reply["type"] != "lifespan.startup.complete":
                # The app sent a traceback as the message and then raises the error itself: report that.
                await asyncio.gather(self._inner, return_exceptions=True)
                failure = self._inner.exception()
                raise StartupFailed(_first_cause(failure) if failure else "the application's start-up failed")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.error = exc
            log.error("Helix cannot start: %s", exc)
            self._ready.set()
            self._on_failure(exc)
            return
        self._app = app
        self.load_seconds = time.perf_counter() - started
        self._ready.set()
        log.info("ready: everything loaded %.1f s after the port opened", self.load_seconds)
        if self._after_start is not None:
            await self._after_start()

    async def _from_inner_or_end(self) -> Message:
        """The inner app's next lifespan message; if its lifespan task ends without one, why."""
        assert self._inner is not None
        reply: asyncio.Future[Any] = asyncio.ensure_future(self._from_inner.get())
        done, _ = await asyncio.wait({reply, self._inner}, return_when=asyncio.FIRST_COMPLETED)
        if reply in done:
            return reply.result()
        reply.cancel()
        failure = self._inner.exception()
        raise StartupFailed(_first_cause(failure) if failure else "the application's lifespan ended early")


def _first_cause(error: BaseException) -> str:
    """One line for an error that task groups may have wrapped in exception groups."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return str(error) or type(error).__name__


async def _json(send: Send, status: int, body: dict[str, Any], *extra: tuple[bytes, bytes]) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _unavailable(send: Send, error: BaseException | None) -> None:
    message = (
        f"Helix could not start: {error}"
        if error is not None
        else "Helix is still loading its models; retry in a few seconds"
    )
    body = {"error": {"message": message, "type": "server_error", "param": None, "code": "loading"}}
    await _json(send, 503, body, (b"retry-after", b"2"))

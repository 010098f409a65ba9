"""A TCP forwarder in front of the test PostgreSQL that can fail like a restarting server, without touching
the server the other tests share: `down()` cuts every connection and refuses new ones until `up()`;
`silent()` cuts them and takes new ones without ever answering (a host gone from the network);
`cut_after_commit()` lets the next COMMIT reach the server and cuts the connection before its answer
comes back (the commit landed, the client cannot know)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from helix.dburl import PostgresUrl

CHUNK = 65536


class PgProxy:
    def __init__(self, target: PostgresUrl) -> None:
        parts = urlsplit(target)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 5432
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="pg-proxy")
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._cut_after_commit = False
        self._silent = False
        self.commits_cut = 0
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = PostgresUrl(urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{self.port}")))

    def start(self) -> PgProxy:
        self._thread.start()
        self.up()
        return self

    def up(self, silent: bool = False) -> None:
        self._silent = silent
        self._call(self._listen())

    def down(self) -> None:
        """As a server shutting down: every connection closed, new ones refused."""
        self._call(self._stop())

    def silent(self) -> None:
        self.down()
        self.up(silent=True)

    def cut_after_commit(self) -> None:
        self._cut_after_commit = True

    def stop(self) -> None:
        self.down()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _call(self, work: object) -> None:
        asyncio.run_coroutine_threadsafe(work, self._loop).result(10)  # type: ignore[arg-type]

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _serve(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        if self._silent:
            self._open.add(client_out)
            await client_in.read()  # everything the client sends, unanswered, until either side gives up
            return
        try:
            server_in, server_out = await asyncio.open_connection(self._host, self._port)
        except OSError:
            client_out.transport.abort()
            return
        self._open |= {client_out, server_out}
        await asyncio.gather(self._pump(client_in, server_out, client_out), self._pump(server_in, client_out, None))

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, back: asyncio.StreamWriter | None
    ) -> None:
        """Pass on what `source` sends; `back` is the client's side, when `source` is the client."""
        try:
            while data := await source.read(CHUNK):
                sink.write(data)
                await sink.drain()
                if back is not None and self._cut_after_commit and b"COMMIT\x00" in data:
                    self._cut_after_commit = False
                    self.commits_cut += 1
                    back.transport.abort()  # the server's answer is never passed on
                    await asyncio.sleep(0.2)  # while the server commits
                    return
        except (ConnectionError, OSError):
            pass
        finally:
            self._open.discard(sink)
            sink.transport.abort()


@contextmanager
def proxied(target: PostgresUrl) -> Iterator[PgProxy]:
    proxy = PgProxy(target).start()
    try:
        yield proxy
    finally:
        proxy.stop()


def wait_for(check: object, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.05)

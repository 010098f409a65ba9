"""`helix serve --workers N`: N `helix serve` processes accepting on one listening socket.

The parent binds the port once and starts N children that inherit the socket (the kernel hands each new
connection to one of them), then waits: a stop signal (SIGINT, SIGTERM) or SIGHUP (reload) goes to every
child, and when one dies the others are stopped too, so a supervisor sees one service. Each child is a
whole Helix instance; what they share lives in the database, which is why this needs PostgreSQL: one
SQLite file has one writer, and in-memory budgets and rate limits would each be one process's view.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from types import FrameType

from helix.config import Config
from helix.dburl import is_shared

WORKER_FD_OPTION = "--worker-fd"
REFUSED = (
    '--workers needs a database the workers can share: set [storage] url = "postgresql://..." '
    "(or --db postgresql://...; docs/scale-out.md). A SQLite file has one writer: run one worker on it"
)


def refusal(cfg: Config, workers: int) -> str | None:
    """Why `workers` workers cannot serve this config (None: they can)."""
    if workers < 1:
        return "--workers must be at least 1"
    if workers > 1 and not is_shared(cfg.db_path()):
        return REFUSED
    return None


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def supervise(cfg: Config, workers: int, argv: list[str]) -> int:
    """Start `workers` children of `helix serve` (`argv`: this command's own arguments) on one socket and
    wait until all have ended; return the status of the child that ended on its own, or after a stop
    signal, the worst status of all (1 if a second signal cut one short)."""
    sock = listening_socket(cfg.server.host, cfg.server.port)
    command = [*helix_command(), "serve", *argv, WORKER_FD_OPTION, str(sock.fileno())]
    children = [subprocess.Popen(command, pass_fds=(sock.fileno(),)) for _ in range(workers)]
    sock.close()  # the children hold it now
    stop_asked = False

    def forward(sig: int, frame: FrameType | None) -> None:
        nonlocal stop_asked
        stop_asked = stop_asked or sig != getattr(signal, "SIGHUP", None)
        # Workers ignore SIGINT (a terminal's Ctrl-C reaches the whole process group, so each worker would
        # see it twice, and a second stop signal cuts the requests in flight): each stop becomes one SIGTERM.
        sent = signal.SIGTERM if sig == signal.SIGINT else sig
        for child in children:
            if child.poll() is None:
                child.send_signal(sent)

    for sig in (signal.SIGINT, signal.SIGTERM, *((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ())):
        signal.signal(sig, forward)
    on_its_own: int | None = None  # the status of a worker that ended before any stop signal
    while any(child.poll() is None for child in children):
        ended = [child.returncode for child in children if child.returncode is not None]
        if ended and not stop_asked:
            # One worker gone on its own: stop the rest rather than limp on. Once a stop is under way the
            # workers drain at their own pace: another SIGTERM here would cut the slower one short.
            on_its_own = _status(ended[0])
            forward(signal.SIGTERM, None)
        time.sleep(0.2)
    statuses = [_status(child.returncode) for child in children]
    return on_its_own if on_its_own is not None else max(statuses)


def _status(returncode: int | None) -> int:
    """A child's exit status as a shell reports it (killed by signal N: 128 + N)."""
    return 0 if returncode is None else returncode if returncode >= 0 else 128 - returncode


def helix_command() -> list[str]:
    """How to start this same Helix again: the binary itself when frozen (PyInstaller), else its Python."""
    return [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "helix"]


def inherited_socket(fd: int) -> socket.socket:
    """The parent's listening socket, as this worker's own: closed when the worker stops serving, so a connection
    made while it drains is refused at once (a duplicate left the inherited descriptor listening, and such a
    connection waited in its queue until the worker exited and reset it)."""
    return socket.socket(fileno=fd)


def reload_workers() -> None:
    """A worker's reload for all: the supervisor sends SIGHUP to every worker, this one included."""
    os.kill(os.getppid(), signal.SIGHUP)

"""NiceGUI's FastAPI host, set up once per process: NiceGUI keeps global state (one app, one page registry).

Pages are registered once; each request carries its own dashboard in the ASGI scope (see mount.py), so
a process may build many apps. Only one dashboard can run at a time, though: NiceGUI starts one event
loop's worth of background tasks.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from helix.web.guard import PREFIX

if TYPE_CHECKING:
    from fastapi import FastAPI

_RUNNING = threading.Lock()


@functools.cache
def host_app() -> FastAPI:
    # Imported here: a process without a dashboard (tests, the CLI) never loads NiceGUI.
    from fastapi import FastAPI
    from nicegui import ui

    import helix.web.pages.routes as routes

    routes.register()
    host = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    ui.run_with(
        host,
        mount_path=PREFIX,
        title="Helix",
        favicon=routes.FAVICON,
        show_welcome_message=False,
        # The dashboard uses no bindings: no 10-per-second polling loop on the proxy's event loop.
        binding_refresh_interval=None,
    )
    return host


@asynccontextmanager
async def running() -> AsyncIterator[None]:
    """NiceGUI's own lifespan; without it, its pages answer 500."""
    if not _RUNNING.acquire(blocking=False):
        raise RuntimeError(
            "a dashboard already runs in this process (NiceGUI allows one): set [dashboard] enabled = false"
        )
    try:
        host = host_app()
        async with host.router.lifespan_context(host):
            yield
    finally:
        _RUNNING.release()

"""The dashboard page: the panels, refreshed from the feed every `[dashboard] refresh_seconds`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request
from nicegui import ui

from helix.web.asgi import SCOPE_KEY
from helix.web.format import clock
from helix.web.panels import cache, keys, overview, pii, requests, spend, timeline
from helix.web.panels.common import Update
from helix.web.snapshot import Snapshot

if TYPE_CHECKING:
    from helix.web.mount import Dashboard

FAVICON = "🧬"


def register() -> None:
    ui.page("/", title="Helix dashboard")(show)


def _header(dashboard: Dashboard) -> ui.label:
    with ui.header().classes("bg-white text-gray-900 border-b items-center px-6 py-3"):
        ui.label("Helix").classes("text-xl font-bold text-indigo-600")
        ui.label("dollars spent and saved, live").classes("text-sm text-gray-500")
        ui.space()
        updated = ui.label().classes("text-xs text-gray-500")
        if dashboard.access == "login":
            ui.link("Log out", "/logout").classes("text-sm")
    return updated


async def show(request: Request) -> None:
    dashboard: Dashboard = request.scope[SCOPE_KEY]
    ui.query("body").classes("bg-gray-50")
    updated = _header(dashboard)
    with ui.column().classes("w-full max-w-screen-2xl mx-auto p-4 gap-4"):
        panels: list[Update] = [overview.build(), timeline.build(), spend.build(), requests.build()]
        with ui.grid().classes("w-full gap-4 grid-cols-1 lg:grid-cols-2"):
            panels += [cache.build(), pii.build()]
        panels.append(keys.build())
    shown: list[Snapshot] = []

    def render(snapshot: Snapshot) -> None:
        updated.set_text(f"updated {clock(snapshot.taken_at)}")
        if shown and shown[0] is snapshot:
            return
        shown[:] = [snapshot]
        for panel in panels:
            panel(snapshot)

    render(await dashboard.feed.latest())  # the first paint carries data, before the socket connects

    async def refresh() -> None:
        render(await dashboard.feed.latest())

    ui.timer(dashboard.feed.refresh_seconds, refresh, immediate=False)

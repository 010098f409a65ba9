"""A user's page and a model's page: the standard view narrowed to one of them (a model's page can also clear
the model's cache entries)."""

from __future__ import annotations

from fastapi import Request
from nicegui import ui

from helix.store.db import Connection
from helix.web import data
from helix.web.data import View
from helix.web.pages.common import confirm, frame, keep_live, view_sections
from helix.web.timerange import TimeRange
from helix.web.widgets import page_title


async def user(request: Request) -> None:
    user_id = request.query_params.get("id", "")
    _, rng, updated = frame(request, "/user", {"id": user_id})
    with ui.column().classes("w-full max-w-screen-2xl mx-auto p-2 sm:p-4 gap-4"):
        page_title(f"User {user_id}", f"{rng.label}; the `user` field or x-helix-user header")
        render = view_sections(rng, ["model", "key"], {"user": user_id})

    def load(conn: Connection, current: TimeRange, now: float) -> View:
        return data.view(conn, current, now, user=user_id)

    await keep_live(request, rng, load, render, updated)


async def model(request: Request) -> None:
    name = request.query_params.get("name", "")
    dashboard, rng, updated = frame(request, "/model", {"name": name})
    with ui.column().classes("w-full max-w-screen-2xl mx-auto p-2 sm:p-4 gap-4"):
        with ui.row().classes("w-full items-center gap-4 flex-wrap"):
            page_title(f"Model {name}", rng.label)

            async def clear() -> None:
                deleted = await dashboard.actions.clear_cache(name)
                ui.notify(f"deleted {deleted:,} cache entries of {name}", type="positive")

            ui.button("Clear its cache", on_click=lambda: confirm(f"Delete every cache entry of {name}?", clear)).props(
                "dense outline color=negative data-action=clear-cache"
            )
        render = view_sections(rng, ["key", "user"], {"model": name})

    def load(conn: Connection, current: TimeRange, now: float) -> View:
        return data.view(conn, current, now, model=name)

    await keep_live(request, rng, load, render, updated)

"""The overview: where the money goes and what Helix saved, over the page's range."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from nicegui import ui
from nicegui.events import EChartPointClickEventArguments

from helix.format import money, when
from helix.store.db import Connection
from helix.web import charts, data
from helix.web.data import Row, View
from helix.web.pages.common import frame, keep_live, view_sections
from helix.web.timerange import TimeRange
from helix.web.widgets import Chart, Table, card, go, grid, link_to, page_title

KEY_COLUMNS = [
    ("name", "key", "left"),
    ("prefix", "secret starts", "left"),
    ("status", "status", "left"),
    ("budget", "this budget period", "left"),
    ("limits", "rpm / tpm", "right"),
    ("last_used", "last used", "left"),
]


@dataclass(frozen=True)
class Overview:
    view: View
    keys: list[Row]


def load(conn: Connection, rng: TimeRange, now: float) -> Overview:
    return Overview(view=data.view(conn, rng, now), keys=data.keys(conn, now, include_revoked=False))


def budget_text(key: Row) -> str:
    spent = money(key["spent_usd"])
    if key["budget_usd"] is None:
        return f"{spent} (no budget)"
    period = "" if key["budget_period"] == "total" else f" / {key['budget_period']}"
    return f"{spent} of {money(key['budget_usd'])}{period} ({key['budget_used']:.0%})"


def key_rows(keys: list[Row], rng: TimeRange) -> list[Row]:
    return [
        {
            "id": k["id"],
            "name": k["name"],
            "name_href": link_to("/key", rng, name=k["name"]),
            "prefix": k["key_prefix"],
            "status": k["status"],
            "budget": budget_text(k),
            "limits": f"{k['rpm'] or '-'} / {k['tpm'] or '-'}",
            "last_used": when(k["last_used_at"]),
        }
        for k in keys
    ]


async def show(request: Request) -> None:
    _, rng, updated = frame(request, "/")
    with ui.column().classes("w-full max-w-screen-2xl mx-auto p-2 sm:p-4 gap-4"):
        page_title("Where the money goes", rng.label)
        sections = view_sections(rng, ["key", "user"], {})
        with grid():
            with card("Top models by spend", "click a bar for the model's page"):

                def open_model(event: EChartPointClickEventArguments) -> None:
                    go(link_to("/model", rng, name=str(event.name)))

                models = Chart(charts.top_models, on_point_click=open_model)
            with card("Keys, closest to their budget first", "spend over each key's own budget period"):
                keys = Table(KEY_COLUMNS, "No keys yet: create one on the Keys page", links=["name"])

    def render(overview: Overview) -> None:
        sections(overview.view)
        models.show(overview.view.by_model)
        keys.show(key_rows(overview.keys, rng))

    await keep_live(request, rng, load, render, updated)

"""Deployments: how each configured deployment stands in the router right now, the same reading /health/ready
reports (the model aliases it serves; healthy, cooling down until a time, or probing; requests in flight;
peak-EWMA latency; failures counting toward a cooldown). The router keeps this in memory, not in the
database, so the page re-reads it every refresh interval instead of waiting for the database's change
marker; the table is sent only when a value changed (a cooldown shows the time it ends, not a countdown)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import Request
from nicegui import ui

from helix.format import clock, count, ms
from helix.routing.health import COOLING
from helix.web.data import Row
from helix.web.pages.common import dashboard_of, every_refresh
from helix.web.widgets import Table, card, page_title, shell

COLUMNS = [
    ("name", "deployment", "left"),
    ("models", "for models", "left"),
    ("state", "state", "left"),
    ("in_flight", "in flight", "right"),
    ("latency", "latency (peak EWMA)", "right"),
    ("failures", "recent failures", "right"),
    ("cooldowns", "cooldowns", "right"),
]
EMPTY = "No deployments configured: add [models.<alias>] deployments to helix.toml"


def state_text(state: dict[str, Any]) -> str:
    if state["state"] == COOLING and "cooling_until" in state:
        return f"cooling down until {clock(state['cooling_until'])}"
    return str(state["state"])


def rows(states: dict[str, dict[str, Any]]) -> list[Row]:
    return [
        {
            "id": name,
            "name": name,
            "models": ", ".join(state["models"]),
            "state": state_text(state),
            "in_flight": count(state["in_flight"]),
            "latency": ms(state["latency_ms"]) if state["latency_ms"] else "-",  # 0: not tried yet
            "failures": count(state["recent_failures"]),
            "cooldowns": count(state["cooldowns"]),
        }
        for name, state in sorted(states.items())
    ]


async def show(request: Request) -> None:
    dashboard = dashboard_of(request)
    updated = shell(None, "/deployments", log_out=dashboard.access == "login")
    with ui.column().classes("w-full max-w-screen-2xl mx-auto p-2 sm:p-4 gap-4"):
        page_title("Deployments", "where each model's requests go, as the router sees it now")
        with card("Routing state", "as /health/ready reports it; a failing deployment cools down, then is probed"):
            table = Table(COLUMNS, EMPTY)

    async def paint() -> None:
        table.show(rows(dashboard.deployments()))
        updated.set_text(f"updated {clock(time.time())}")

    await paint()
    every_refresh(request, paint)

"""Spend and savings over time: per hour over the last 24 hours, or per day over the last 30 days."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from helix.web.panels.common import Update, card
from helix.web.snapshot import TIMELINE_DAYS, Snapshot

HOURS = "24 hours"
DAYS = f"{TIMELINE_DAYS} days"
# Amounts per bucket are often fractions of a cent: two significant digits, not two decimals.
MONEY = "v => '$' + (Math.abs(v) >= 1 ? v.toFixed(2) : Number(v.toPrecision(2)))"


def _options() -> dict[str, Any]:
    return {
        "tooltip": {"trigger": "axis", ":valueFormatter": MONEY},
        "legend": {"top": 0},
        "grid": {"left": 8, "right": 8, "top": 32, "bottom": 4, "containLabel": True},
        "xAxis": {"type": "category", "data": []},
        "yAxis": {"type": "value", "axisLabel": {":formatter": MONEY}},
        "series": [
            {"name": "spent", "type": "bar", "data": [], "itemStyle": {"color": "#6366f1"}},
            {"name": "saved by the cache", "type": "bar", "data": [], "itemStyle": {"color": "#10b981"}},
        ],
    }


def build() -> Update:
    latest: list[Snapshot] = []
    with card("Spend and savings over time"):
        scale = ui.toggle([HOURS, DAYS], value=HOURS).props("dense no-caps size=sm")
        chart = ui.echart(_options()).classes("w-full h-64")

    def update(snapshot: Snapshot) -> None:
        latest[:] = [snapshot]
        hourly = scale.value == HOURS
        buckets, spent, saved = snapshot.timeline("hour" if hourly else "day")
        chart.options["xAxis"]["data"] = [b[11:] if hourly else b[5:] for b in buckets]  # "14:00", "11-23"
        chart.options["series"][0]["data"] = spent
        chart.options["series"][1]["data"] = saved
        chart.update()

    scale.on_value_change(lambda: update(latest[0]) if latest else None)
    return update

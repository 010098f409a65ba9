"""Headline numbers: spend, savings, requests, cache hit rate, error rate and Helix's own overhead."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from helix.web.format import count, money, ms, rate
from helix.web.panels.common import Update
from helix.web.snapshot import Snapshot

Text = Callable[[Snapshot], str]


def _hit_rate(s: Snapshot) -> str:
    c = s.cache
    return rate(c["exact_hits"] + c["semantic_hits"], c["requests"] - c["bypassed"])


def _hit_split(s: Snapshot) -> str:
    c, looked_up = s.cache, s.cache["requests"] - s.cache["bypassed"]
    return f"exact {rate(c['exact_hits'], looked_up)} · semantic {rate(c['semantic_hits'], looked_up)}"


# (caption, big number, the line under it)
CARDS: list[tuple[str, Text, Text]] = [
    ("Spent · 24 h", lambda s: money(s.day["spent_usd"]), lambda s: f"7 days: {money(s.week['spent_usd'])}"),
    (
        "Saved by the cache · 24 h",
        lambda s: money(s.day["saved_usd"]),
        lambda s: f"7 days: {money(s.week['saved_usd'])}",
    ),
    ("Requests · 24 h", lambda s: count(s.day["requests"]), lambda s: f"7 days: {count(s.week['requests'])}"),
    ("Cache hit rate · 7 days", _hit_rate, _hit_split),
    (
        "Error rate · 24 h",
        lambda s: rate(s.day["errors"], s.day["requests"]),
        lambda s: f"7 days: {rate(s.week['errors'], s.week['requests'])}",
    ),
    ("Helix overhead p50 · 24 h", lambda s: ms(s.overhead_p50_ms), lambda s: f"p99 {ms(s.overhead_p99_ms)}"),
]


def build() -> Update:
    shown: list[tuple[ui.label, Text, ui.label, Text]] = []
    with ui.grid().classes("w-full gap-4 grid-cols-2 md:grid-cols-3 xl:grid-cols-6"):
        for caption, big, small in CARDS:
            with ui.card().classes("gap-1"):
                ui.label(caption).classes("text-xs uppercase tracking-wide text-gray-500")
                value = ui.label().classes("text-2xl font-semibold text-gray-900")
                detail = ui.label().classes("text-xs text-gray-500")
            shown.append((value, big, detail, small))

    def update(snapshot: Snapshot) -> None:
        for value, big, detail, small in shown:
            value.set_text(big(snapshot))
            detail.set_text(small(snapshot))

    return update

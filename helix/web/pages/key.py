"""One key: its budget burning down over the period, rpm/tpm use, models, users, errors, and what an admin can
do to it (rotate, revoke, change the budget), each after a confirmation."""

from __future__ import annotations

from fastapi import Request
from nicegui import ui

from helix.format import count, money, when
from helix.periods import PERIODS
from helix.store.db import Connection
from helix.virtual_keys import KeyNotFound, KeyProblem
from helix.web import charts, data
from helix.web.actions import amount as parse_amount
from helix.web.data import KeyView, Row
from helix.web.pages.common import confirm, frame, keep_live, view_sections
from helix.web.pages.keys import show_secret
from helix.web.timerange import TimeRange
from helix.web.widgets import Chart, Table, card, grid, page_title

ERROR_COLUMNS = [
    ("status", "status", "left"),
    ("code", "error", "left"),
    ("requests", "requests", "right"),
    ("last", "last seen", "left"),
]


def error_rows(rows: list[Row]) -> list[Row]:
    return [
        {
            "id": f"{r['status']}/{r['code']}",
            "status": str(r["status"]),
            "code": r["code"] or "-",
            "requests": count(r["requests"]),
            "last": when(r["last_ts"]),
        }
        for r in rows
    ]


def budget_text(key: Row) -> str:
    return "none" if key["budget_usd"] is None else f"{money(key['budget_usd'])} per {key['budget_period']}"


def use_text(used: int, limit: int | None, unit: str) -> str:
    if limit is None:
        return f"{count(used)} {unit} (no limit)"
    return f"{count(used)} of {count(limit)} {unit} ({used / limit:.0%})"


async def show(request: Request) -> None:
    name = request.query_params.get("name", "")
    dashboard, rng, updated = frame(request, "/key", {"name": name})
    actions = dashboard.actions
    with ui.column().classes("w-full max-w-screen-2xl mx-auto p-2 sm:p-4 gap-4"):
        title = ui.row().classes("w-full")
        with title:
            page_title(f"Key {name}", rng.label)
        with grid():
            with card("Budget this period", "spend so far against the budget"):
                burn = Chart(lambda kv: charts.burn_down(kv.burn_labels, kv.burn_spent, kv.key["budget_usd"]))
            with card("Settings and use"):
                facts = ui.grid(columns="auto 1fr").classes("w-full gap-x-6 gap-y-1")
                with ui.row().classes("gap-2 flex-wrap"):
                    budget_button = ui.button("Change budget").props("dense outline")
                    rotate_button = ui.button("Rotate secret").props("dense outline")
                    revoke_button = ui.button("Revoke").props("dense outline color=negative")
        sections = view_sections(rng, ["model", "user"], {"key": name})
        with card("Errors", rng.label):
            errors = Table(ERROR_COLUMNS, "No errors in this range")

    shown_facts: list[tuple[str, str]] = []

    def render(kv: KeyView) -> None:
        key = kv.key
        items = [
            ("status", key["status"]),
            ("key", key["key_prefix"]),
            ("spent this period", money(key["spent_usd"]) + f" ({key['budget_period']})"),
            (
                "budget",
                "none" if key["budget_usd"] is None else f"{money(key['budget_usd'])} per {key['budget_period']}",
            ),
            ("requests now", use_text(kv.last_minute["rpm"], key["rpm"], "rpm")),
            ("tokens now", use_text(kv.last_minute["tpm"], key["tpm"], "tpm")),
            ("busiest minute", f"{count(kv.busiest['rpm'])} requests, {count(kv.busiest['tpm'])} tokens ({rng.label})"),
            ("models", ", ".join(key["models"]) if key["models"] else "any"),
            ("created", when(key["created_at"])),
            ("expires", when(key["expires_at"]) if key["expires_at"] else "never"),
            ("last used", when(key["last_used_at"])),
        ]
        if items != shown_facts:
            shown_facts[:] = items
            facts.clear()
            with facts:
                for label, value in items:
                    ui.label(label).classes("text-sm text-gray-600")
                    ui.label(value).classes("text-sm font-medium break-all")
        active = key["status"] == "active"
        for button in (budget_button, rotate_button, revoke_button):
            button.set_enabled(active)
        burn.show(kv)
        sections(kv.view)
        errors.show(error_rows(kv.view.errors))

    def load(conn: Connection, current: TimeRange, now: float) -> KeyView | None:
        try:
            return data.key_view(conn, name, current, now)
        except KeyNotFound:
            return None

    def render_or_missing(kv: KeyView | None) -> None:
        if kv is None:
            title.clear()
            with title:
                page_title(f"No key named '{name}'", "see the Keys page")
            return
        render(kv)

    async def revoke() -> None:
        try:
            await actions.revoke_key(name)
        except KeyProblem as exc:
            ui.notify(str(exc), type="negative")
            return
        ui.notify(f"revoked key {name}: requests with it are refused from now on", type="positive")

    async def rotate() -> None:
        try:
            record, secret = await actions.rotate_key(name)
        except KeyProblem as exc:
            ui.notify(str(exc), type="negative")
            return
        show_secret(record.name, secret, "rotated: the old secret stopped working")

    def ask_budget() -> None:
        with ui.dialog() as dialog, ui.card().classes("gap-2"):
            ui.label(f"Budget of {name}").classes("font-semibold")
            amount = ui.input("budget in USD (empty: none)").props("dense data-field=budget")
            period = ui.select(list(PERIODS), value="month", label="period").props("dense")

            async def save() -> None:
                try:
                    value = parse_amount(amount.value or "")
                    await actions.set_budget(name, value, str(period.value))
                except KeyProblem as exc:
                    ui.notify(str(exc), type="negative")
                    return
                dialog.close()
                ui.notify(f"budget of {name}: {money(value) if value is not None else 'none'}", type="positive")

            with ui.row():
                ui.button("Save", on_click=lambda: confirm(f"Change the budget of {name}?", save, danger=False))
                ui.button("Cancel", on_click=dialog.close).props("flat")
        dialog.open()

    budget_button.on_click(ask_budget)
    rotate_button.on_click(lambda: confirm(f"Rotate {name}? Its current secret stops working at once.", rotate))
    revoke_button.on_click(lambda: confirm(f"Revoke {name}? Requests with it will be refused.", revoke))
    await keep_live(request, rng, load, render_or_missing, updated)

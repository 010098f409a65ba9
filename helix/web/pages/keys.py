"""All keys, the closest to their budget first, and creating one (its secret shown once)."""

from __future__ import annotations

from fastapi import Request
from nicegui import ui

from helix.periods import PERIODS
from helix.store.db import Connection
from helix.virtual_keys import KeyProblem, KeySpec, parse_models
from helix.web import data
from helix.web.actions import amount, expiry, whole
from helix.web.data import Row
from helix.web.pages.common import confirm, frame, keep_live
from helix.web.pages.overview import KEY_COLUMNS, key_rows
from helix.web.timerange import TimeRange
from helix.web.widgets import Table, card, page_title


def show_secret(name: str, secret: str, note: str) -> None:
    """The new secret, this once: Helix keeps only its hash."""
    with ui.dialog().props("persistent") as dialog, ui.card().classes("gap-2 max-w-full"):
        ui.label(f"Key {name}: {note}").classes("font-semibold")
        ui.label("Copy it now: Helix keeps only its hash and cannot show it again.").classes("text-sm text-amber-700")
        ui.input(value=secret).props("readonly dense outlined data-secret").classes("w-full font-mono")
        # Closed, it leaves nothing behind: the secret is gone from the page and from the server's memory.
        ui.button("I have stored it", on_click=lambda: (dialog.close(), dialog.clear())).props("dense")
    dialog.open()


def load(conn: Connection, rng: TimeRange, now: float) -> list[Row]:
    return data.keys(conn, now, include_revoked=True)


async def show(request: Request) -> None:
    dashboard, rng, updated = frame(request, "/keys")
    with ui.column().classes("w-full max-w-screen-2xl mx-auto p-2 sm:p-4 gap-4"):
        page_title("Keys", "one per app, teammate or customer; the same keys as 'helix keys' and /admin/keys")
        with card("New key"), ui.row().classes("w-full gap-2 items-end flex-wrap"):
            name = ui.input("name").props("dense data-field=name")
            budget = ui.input("budget USD").props("dense data-field=budget").classes("w-28")
            period = ui.select(list(PERIODS), value="month", label="period").props("dense").classes("w-28")
            rpm = ui.input("rpm").props("dense").classes("w-20")
            tpm = ui.input("tpm").props("dense").classes("w-24")
            models = ui.input("models (empty: any)").props("dense")
            expires = ui.input("expires in (30d)").props("dense").classes("w-32")
            create = ui.button("Create").props("dense data-action=create")
        with card("All keys", "closest to their budget first"):
            keys = Table(KEY_COLUMNS, "No keys yet: create one above", links=["name"])

    async def create_key() -> None:
        try:
            spec = KeySpec(
                budget=amount(budget.value or ""),
                period=str(period.value),
                rpm=whole(rpm.value or "", "rpm"),
                tpm=whole(tpm.value or "", "tpm"),
                models=parse_models(models.value) if (models.value or "").strip() else None,
                expires_at=expiry(expires.value or ""),
            )
            record, secret = await dashboard.actions.create_key(name.value or "", spec)
        except KeyProblem as exc:
            ui.notify(str(exc), type="negative")
            return
        for field in (name, budget, rpm, tpm, models, expires):
            field.set_value("")
        show_secret(record.name, secret, "created")

    create.on_click(lambda: confirm(f"Create a key named '{name.value}'?", create_key, danger=False))
    await keep_live(request, rng, load, lambda rows: keys.show(key_rows(rows, rng)), updated)

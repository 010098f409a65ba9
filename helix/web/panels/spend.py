"""Where the money went over the last 7 days: by model, by key (against its budget), by user."""

from __future__ import annotations

from nicegui import ui

from helix.web.format import count, money
from helix.web.panels.common import Update, card, table
from helix.web.snapshot import Row, Snapshot


def _budget(key: Row | None) -> str:
    if key is None or key["budget_usd"] is None:
        return "-"
    period = "" if key["budget_period"] == "total" else f" per {key['budget_period']}"
    used = "" if key["budget_used"] is None else f" ({key['budget_used']:.0%})"
    return f"{money(key['spent_usd'])} of {money(key['budget_usd'])}{period}{used}"


def model_rows(snapshot: Snapshot) -> list[Row]:
    return [
        {
            "id": r["grp"],
            "model": r["grp"],
            "requests": count(r["requests"]),
            "spent": money(r["cost"]),
            "saved": money(r["saved"]),
        }
        for r in snapshot.by_model
    ]


def key_rows(snapshot: Snapshot) -> list[Row]:
    keys = {key["id"]: key for key in snapshot.keys}
    return [
        {
            "id": r["grp"],
            "key": r["keys"] or r["grp"],
            "requests": count(r["requests"]),
            "spent": money(r["cost"]),
            "budget": _budget(keys.get(r["grp"])),
        }
        for r in snapshot.by_key
    ]


def user_rows(snapshot: Snapshot) -> list[Row]:
    return [
        {
            "id": r["grp"],
            "user": r["grp"],
            "keys": r["keys"] or "-",
            "requests": count(r["requests"]),
            "spent": money(r["cost"]),
        }
        for r in snapshot.by_user
    ]


def build() -> Update:
    with ui.grid().classes("w-full gap-4 grid-cols-1 lg:grid-cols-3"):
        with card("Spend by model", "7 days"):
            models = table(
                [
                    ("model", "model", "left"),
                    ("requests", "requests", "right"),
                    ("spent", "spent", "right"),
                    ("saved", "saved", "right"),
                ],
                "No requests in the last 7 days",
            )
        with card("Spend by key", "7 days; budget: this budget period"):
            keys = table(
                [
                    ("key", "key", "left"),
                    ("requests", "requests", "right"),
                    ("spent", "spent", "right"),
                    ("budget", "budget", "right"),
                ],
                "No requests in the last 7 days",
            )
        with card("Top users", "7 days"):
            users = table(
                [
                    ("user", "user", "left"),
                    ("keys", "via key", "left"),
                    ("requests", "requests", "right"),
                    ("spent", "spent", "right"),
                ],
                "No requests in the last 7 days",
            )

    def update(snapshot: Snapshot) -> None:
        models.rows = model_rows(snapshot)
        keys.rows = key_rows(snapshot)
        users.rows = user_rows(snapshot)

    return update

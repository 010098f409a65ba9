"""The virtual keys: settings and spend over their budget period. Read-only; secrets are never stored."""

from __future__ import annotations

from helix.web.format import count, money, when
from helix.web.panels.common import Update, card, table
from helix.web.snapshot import Row, Snapshot

COLUMNS = [
    ("name", "name", "left"),
    ("prefix", "key", "left"),
    ("status", "status", "left"),
    ("budget", "budget", "right"),
    ("spent", "spent this period", "right"),
    ("limits", "rpm / tpm", "right"),
    ("models", "models", "left"),
    ("last_used", "last used", "left"),
    ("expires", "expires", "left"),
]
_ORDER = {"active": 0, "expired": 1, "revoked": 2}


def _budget(key: Row) -> str:
    if key["budget_usd"] is None:
        return "none"
    return money(key["budget_usd"]) + ("" if key["budget_period"] == "total" else f" / {key['budget_period']}")


def _spent(key: Row) -> str:
    used = "" if key["budget_used"] is None else f" ({key['budget_used']:.0%})"
    return money(key["spent_usd"]) + used


def rows(snapshot: Snapshot) -> list[Row]:
    ordered = sorted(snapshot.keys, key=lambda k: (_ORDER.get(k["status"], 3), k["name"]))
    return [
        {
            "id": key["id"],
            "name": key["name"],
            "prefix": key["key_prefix"],
            "status": key["status"],
            "budget": _budget(key),
            "spent": _spent(key),
            "limits": f"{count(key['rpm'])} / {count(key['tpm'])}",
            "models": ", ".join(key["models"]) if key["models"] else "any",
            "last_used": when(key["last_used_at"]),
            "expires": when(key["expires_at"]) if key["expires_at"] else "never",
        }
        for key in ordered
    ]


def build() -> Update:
    with card("Keys", "manage them with 'helix keys' or /admin/keys"):
        keys = table(COLUMNS, "No keys yet: create one with 'helix keys add NAME'")

    def update(snapshot: Snapshot) -> None:
        keys.rows = rows(snapshot)

    return update

"""What the PII firewall caught over the last 7 days: entity types, actions and counts, never values."""

from __future__ import annotations

from helix.web.format import count
from helix.web.panels.common import Update, card, table
from helix.web.snapshot import Row, Snapshot

COLUMNS = [
    ("type", "type", "left"),
    ("action", "action", "left"),
    ("requests", "requests", "right"),
    ("values", "values found", "right"),
]


def rows(snapshot: Snapshot) -> list[Row]:
    return [
        {
            "id": f"{r['entity_type']}/{r['action']}",
            "type": r["entity_type"],
            "action": r["action"],
            "requests": count(r["requests"]),
            "values": count(r["values_found"]),
        }
        for r in snapshot.pii
    ]


def build() -> Update:
    with card("PII incidents", "7 days; types and counts only"):
        incidents = table(COLUMNS, "Nothing caught in the last 7 days")

    def update(snapshot: Snapshot) -> None:
        incidents.rows = rows(snapshot)

    return update

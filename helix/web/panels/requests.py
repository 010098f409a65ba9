"""The latest requests, newest first: what the request log holds (never prompts or answers)."""

from __future__ import annotations

from helix.web.format import clock, money, ms
from helix.web.panels.common import Update, card, table
from helix.web.snapshot import RECENT, Row, Snapshot

COLUMNS = [
    ("time", "time", "left"),
    ("status", "status", "left"),
    ("model", "model", "left"),
    ("who", "key / user", "left"),
    ("cache", "cache", "left"),
    ("tokens", "tokens in/out", "right"),
    ("latency", "latency", "right"),
    ("overhead", "overhead", "right"),
    ("cost", "cost", "right"),
]
STATUS_BADGE = r"""
<q-td :props="props">
  <q-badge :color="props.row.ok ? 'positive' : 'negative'" :label="props.value" />
</q-td>
"""


def _model(row: Row) -> str:
    model = f"{row['provider']}/{row['model']}" if row["provider"] else row["model_requested"] or "-"
    return model + (" (stream)" if row["stream"] else "")


def _who(row: Row, key_names: dict[str, str]) -> str:
    key = key_names.get(row["key_id"], row["key_id"]) if row["key_id"] else None
    return " / ".join(part for part in (key, row["user"]) if part) or "-"


def rows(snapshot: Snapshot) -> list[Row]:
    return [
        {
            "id": row["id"],
            "ok": row["status"] < 400,
            "time": clock(row["ts"]),
            "status": f"{row['status']} {row['error_code']}" if row["error_code"] else str(row["status"]),
            "model": _model(row),
            "who": _who(row, snapshot.key_names),
            "cache": row["cache"] or "-",
            "tokens": "-" if row["prompt_tokens"] is None else f"{row['prompt_tokens']}/{row['completion_tokens']}",
            "latency": ms(row["latency_ms"]),
            "overhead": ms(row["overhead_ms"]),
            "cost": money(row["cost_usd"]) + (f" (saved {money(row['saved_usd'])})" if row["saved_usd"] else ""),
        }
        for row in reversed(snapshot.recent)
    ]


def build() -> Update:
    with card("Latest requests", f"the last {RECENT}, live"):
        log = table(COLUMNS, "No requests yet: point the OpenAI SDK at /v1")
        log.add_slot("body-cell-status", STATUS_BADGE)

    def update(snapshot: Snapshot) -> None:
        log.rows = rows(snapshot)

    return update

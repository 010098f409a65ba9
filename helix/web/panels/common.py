"""Layout pieces shared by the panels: a titled card, a read-only table, a column of label/value facts."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from nicegui import ui

from helix.web.snapshot import Snapshot

Update = Callable[[Snapshot], None]
Fact = tuple[str, Callable[[Snapshot], str]]


def card(title: str, note: str = "") -> ui.card:
    """A full-width card whose first line is `title` (and a grey `note`); enter it to add content."""
    box = ui.card().classes("w-full gap-2")
    with box, ui.row().classes("w-full items-baseline gap-2"):
        ui.label(title).classes("text-base font-semibold text-gray-800")
        if note:
            ui.label(note).classes("text-xs text-gray-500")
    return box


def table(columns: Sequence[tuple[str, str, str]], empty: str) -> ui.table:
    """A read-only table; `columns` are (field, label, align). Rows carry display strings and an `id`."""
    return (
        ui.table(
            columns=[{"name": f, "label": label, "field": f, "align": align} for f, label, align in columns],
            rows=[],
            row_key="id",
        )
        .props(f'flat dense wrap-cells no-data-label="{empty}"')
        .classes("w-full")
    )


def facts(items: Sequence[Fact]) -> Update:
    """Label/value lines, e.g. the cache's numbers."""
    values: list[tuple[ui.label, Callable[[Snapshot], str]]] = []
    with ui.grid(columns="auto 1fr").classes("w-full gap-x-6 gap-y-1"):
        for label, value in items:
            ui.label(label).classes("text-sm text-gray-600")
            values.append((ui.label().classes("text-sm font-medium text-right"), value))

    def update(snapshot: Snapshot) -> None:
        for element, value in values:
            element.set_text(value(snapshot))

    return update

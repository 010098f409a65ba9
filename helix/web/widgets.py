"""The pieces every dashboard page is built from: the header with the range picker, headline cards, charts
and tables that send the browser only what changed, and links between pages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from nicegui import ui

from helix.web.guard import LOGOUT, PREFIX
from helix.web.timerange import PRESETS, TimeRange

# Chart axes and tooltips write money as helix.format.money does (the same in CLI, tables and charts).
MONEY_JS = (
    "v => v == null ? '-' : v == 0 ? '$0.00' : Math.abs(v) < 0.01 ? '$' + v.toFixed(6)"
    " : Math.abs(v) < 1 ? '$' + v.toFixed(4)"
    " : '$' + v.toLocaleString('en-US', {minimumFractionDigits: 2, maximumFractionDigits: 2})"
)
MS_JS = "v => v == null ? '-' : (v < 10 ? v.toFixed(2) : v.toFixed(0)) + ' ms'"
COLORS = {
    "exact": "#10b981",
    "semantic": "#34d399",
    "miss": "#6366f1",
    "bypass": "#94a3b8",
    "rejected": "#ef4444",
    "spent": "#6366f1",
    "saved": "#10b981",
}
NAV = [("Overview", "/"), ("Requests", "/requests"), ("Keys", "/keys"), ("Deployments", "/deployments")]
# Pause the page's refresh timer while its tab is hidden (and catch up at once when it shows again).
VISIBILITY_JS = "document.addEventListener('visibilitychange', () => emitEvent('helix_visibility', !document.hidden));"


def href(path: str) -> str:
    return PREFIX + path


def link(text: str, url: str) -> ui.link:
    """A link to a dashboard URL (NiceGUI adds the mount path to the paths of its links itself)."""
    return ui.link(text, url.removeprefix(PREFIX))


def go(url: str) -> None:
    """Open a dashboard URL; NiceGUI adds the mount path to the paths it navigates to itself."""
    ui.navigate.to(url.removeprefix(PREFIX))


def link_to(path: str, rng: TimeRange | None, **params: str | None) -> str:
    """The dashboard URL of `path` (e.g. '/key'), in the range `rng`, with more query parameters."""
    query = {**(rng.query() if rng else {}), **{k: v for k, v in params.items() if v}}
    return href(path) + (f"?{urlencode(query)}" if query else "")


def shell(rng: TimeRange | None, path: str, params: dict[str, str] | None = None, log_out: bool = False) -> ui.label:
    """The header (nav, range picker, log out) for a page at `path`; returns the 'updated at' label."""
    params = params or {}
    ui.query("body").classes("bg-gray-50")
    with ui.header().classes("bg-white text-gray-900 border-b items-center px-4 py-2 gap-x-4 gap-y-1 flex-wrap"):
        link("Helix", href("/")).classes("text-xl font-bold text-indigo-600 no-underline")
        for label, target in NAV:
            link(label, link_to(target, rng))
        ui.space()
        if rng is not None:
            _range_picker(rng, path, params)
        updated = ui.label().classes("text-xs text-gray-500")
        if log_out:
            link("Log out", LOGOUT).classes("text-sm")
    return updated


def _range_picker(rng: TimeRange, path: str, params: dict[str, str]) -> None:
    def pick(query: dict[str, str]) -> None:
        go(href(path) + "?" + urlencode({**params, **query}))

    options = {name: name for name in PRESETS} | {"custom": "custom"}
    toggle = ui.toggle(options, value=rng.name).props("dense no-caps size=sm").classes("range-picker")
    with ui.dialog() as dialog, ui.card().classes("gap-2"):
        ui.label("Custom range (local time)").classes("font-semibold")
        start = ui.input("from", value=rng.start_text, placeholder="2026-11-01").props("type=date dense")
        end = ui.input("to", value=rng.end_text, placeholder="2026-11-30").props("type=date dense")
        with ui.row():
            ui.button("Show", on_click=lambda: pick({"from": start.value, "to": end.value})).props("dense")
            ui.button("Cancel", on_click=lambda: (dialog.close(), toggle.set_value(rng.name))).props("flat dense")

    def changed() -> None:
        if toggle.value == "custom":
            dialog.open()
        elif toggle.value != rng.name:
            pick({"range": toggle.value})

    toggle.on_value_change(changed)


def page_title(title: str, note: str = "") -> None:
    with ui.row().classes("w-full items-baseline gap-2 flex-wrap"):
        ui.label(title).classes("text-2xl font-semibold text-gray-900 break-all")
        if note:
            ui.label(note).classes("text-sm text-gray-500")


def card(title: str, note: str = "") -> ui.card:
    """A full-width card whose first line is `title` (and a grey `note`); enter it to add content."""
    box = ui.card().classes("w-full min-w-0 gap-2")
    with box, ui.row().classes("w-full items-baseline gap-2"):
        ui.label(title).classes("text-base font-semibold text-gray-800")
        if note:
            ui.label(note).classes("text-xs text-gray-500")
    return box


def grid(columns: str = "grid-cols-1 lg:grid-cols-2") -> ui.grid:
    return ui.grid().classes(f"w-full gap-4 {columns} [&>*]:min-w-0")


class Cards:
    """Headline numbers: a caption, a big value and a line under it."""

    def __init__(self, captions: Sequence[str]) -> None:
        self._shown: list[tuple[ui.label, ui.label]] = []
        with grid("grid-cols-2 md:grid-cols-3 xl:grid-cols-6"):
            for caption in captions:
                with ui.card().classes("gap-1 min-w-0").props(f'data-card="{caption}"'):
                    ui.label(caption).classes("text-xs uppercase tracking-wide text-gray-500")
                    value = ui.label().classes("text-2xl font-semibold text-gray-900 break-all").props("data-value")
                    detail = ui.label().classes("text-xs text-gray-500")
                self._shown.append((value, detail))

    def show(self, values: Sequence[tuple[str, str]]) -> None:
        for (value, detail), (big, small) in zip(self._shown, values, strict=True):
            value.set_text(big)  # labels send nothing when the text is unchanged
            detail.set_text(small)


class Chart:
    """An ECharts chart whose options are rebuilt from data, sent only when they differ from the last ones."""

    def __init__(self, options: Callable[[Any], dict[str, Any]], height: str = "h-64", **events: Any) -> None:
        self._options = options
        self._last: dict[str, Any] | None = None
        self.element = ui.echart({}, **events).classes(f"w-full {height}")

    def show(self, data: Any) -> None:
        options = self._options(data)
        if options == self._last:
            return
        self._last = options
        self.element.options.clear()
        self.element.options.update(options)
        self.element.update()


Column = tuple[str, str, str]  # field, label, align
LINK_CELL = """
<q-td :props="props"><a v-if="props.row['{field}_href']" :href="props.row['{field}_href']"
  class="text-indigo-700 hover:underline">{{{{ props.value }}}}</a><span v-else>{{{{ props.value }}}}</span></q-td>
"""


ALL_ROWS = ':pagination="{rowsPerPage: 0}" hide-pagination'  # the pages page themselves


class Table:
    """A read-only table sent only when its rows change; columns in `links` link to `<field>_href` of a row."""

    def __init__(self, columns: Sequence[Column], empty: str, links: Sequence[str] = ()) -> None:
        with ui.element("div").classes("w-full overflow-x-auto"):
            self.element = (
                ui.table(
                    columns=[{"name": f, "label": label, "field": f, "align": align} for f, label, align in columns],
                    rows=[],
                    row_key="id",
                )
                .props(f'flat dense wrap-cells no-data-label="{empty}" {ALL_ROWS}')
                .classes("w-full")
            )
        for field in links:
            self.element.add_slot(f"body-cell-{field}", LINK_CELL.format(field=field))

    def show(self, rows: list[dict[str, Any]]) -> None:
        if rows != self.element.rows:
            self.element.rows = rows
            self.element.update()


def facts(items: Sequence[tuple[str, str]]) -> None:
    with ui.grid(columns="auto 1fr").classes("w-full gap-x-6 gap-y-1"):
        for label, value in items:
            ui.label(label).classes("text-sm text-gray-600")
            ui.label(value).classes("text-sm font-medium break-all")

"""What the pages share: reading their range from the URL, refreshing live, the standard sections of a view
(cards, charts, breakdowns) and the table rows for spend and requests, with links for drilling down."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from fastapi import Request
from nicegui import ui
from nicegui.events import GenericEventArguments

from helix.format import clock, count, money, ms, rate
from helix.store.db import Connection
from helix.store.queries import CACHE_RESULTS
from helix.web import charts
from helix.web.asgi import SCOPE_KEY
from helix.web.data import Row, Summary, View
from helix.web.guard import LOGIN, cookie_value
from helix.web.site import Site
from helix.web.timerange import BadRange, TimeRange, parse
from helix.web.widgets import VISIBILITY_JS, Cards, Chart, Table, card, go, grid, link, link_to, shell

T = TypeVar("T")
# A live range slides with time: repaint at least this often even when nothing new was written.
SLIDE_SECONDS = 60.0
# Under steady traffic every tick has news; on a big log a page's reads take long. A page re-reads at most
# once per this many times its last read took, so it never spends more than ~5% of a core on them.
READ_BUDGET = 20.0


def dashboard_of(request: Request) -> Site:
    return request.scope[SCOPE_KEY]  # type: ignore[no-any-return]


def frame(request: Request, path: str, params: dict[str, str] | None = None) -> tuple[Site, TimeRange, ui.label]:
    """What every page starts with: its dashboard, its time range, and the shell around it (header, range
    picker, log out); the label it returns says when the page was last updated."""
    dashboard = dashboard_of(request)
    rng = range_of(request)
    return dashboard, rng, shell(rng, path, params, log_out=dashboard.access == "login")


def range_of(request: Request) -> TimeRange:
    query = dict(request.query_params)
    try:
        return parse(query)
    except BadRange as exc:
        ui.notify(f"{exc}; showing the last 24 hours", type="warning")
        return parse({})


async def keep_live(
    request: Request,
    rng: TimeRange,
    load: Callable[[Connection, TimeRange, float], T],
    render: Callable[[T], None],
    updated: ui.label,
) -> None:
    """Paint the page now, then repaint when the database changed (or a live range slid), never while the
    tab is hidden, and send the browser only the elements whose content changed."""
    feed = dashboard_of(request).feed
    seen_marker, seen_at, took = await feed.marker(), time.monotonic(), 0.0

    async def paint() -> None:
        nonlocal took
        now, started = time.time(), time.monotonic()
        current = rng.shifted_to(now)
        render(await feed.read(lambda conn: load(conn, current, now)))
        took = time.monotonic() - started
        updated.set_text(f"updated {clock(now)}")

    await paint()  # the first paint carries data, before the socket connects

    async def tick() -> None:
        nonlocal seen_marker, seen_at
        if time.monotonic() - seen_at < READ_BUDGET * took:
            return
        marker = await feed.marker()
        slid = rng.live and time.monotonic() - seen_at >= SLIDE_SECONDS
        if marker == seen_marker and not slid:
            return
        seen_marker, seen_at = marker, time.monotonic()
        await paint()

    every_refresh(request, tick)


def every_refresh(request: Request, tick: Callable[[], Awaitable[None]]) -> None:
    """Call `tick` every refresh interval while the tab is visible and the session lasts (after a log-out
    elsewhere or its expiry, the page goes to the login instead)."""
    dashboard = dashboard_of(request)
    token = cookie_value(request.scope["headers"])

    async def guarded() -> None:
        if token is not None and dashboard.guard is not None and not dashboard.guard.sessions.known_live(token):
            timer.cancel()
            go(LOGIN)
            return
        await tick()

    timer = ui.timer(dashboard.feed.refresh_seconds, guarded, immediate=False)

    def visibility(event: GenericEventArguments) -> None:
        timer.active = bool(event.args)

    ui.on("helix_visibility", visibility)
    ui.add_body_html(f"<script>{VISIBILITY_JS}</script>")


def summary_values(s: Summary) -> list[tuple[str, str]]:
    """The six headline cards of any view (see CAPTIONS)."""
    t, r = s.totals, s.results
    requests = t["requests"]
    shares = " · ".join(f"{name} {rate(r[name], requests)}" for name in CACHE_RESULTS)
    return [
        (money(t["spent_usd"]), f"{count(t['prompt_tokens'] + t['completion_tokens'])} tokens"),
        (money(t["saved_usd"]), f"{count(r['exact'] + r['semantic'])} cache hits"),
        (count(requests), f"{count(t['errors'])} errors · {count(t['users'])} users"),
        (rate(r["exact"] + r["semantic"], requests), shares),
        (
            rate(t["errors"], requests),
            f"{count(t['rate_limited'])} rate-limited · {count(t['over_budget'])} over budget",
        ),
        (ms(s.overhead_p50_ms), f"p95 {ms(s.overhead_p95_ms)} · latency p50 {ms(s.latency_p50_ms)}"),
    ]


CAPTIONS = ["Spent", "Saved by the cache", "Requests", "Cache hit rate", "Error rate", "Helix overhead p50"]

SPEND_COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    "model": [("name", "model", "left")],
    "key": [("name", "key", "left")],
    "user": [("name", "user", "left"), ("via", "via keys", "left")],
}
_SPEND_TAIL = [("requests", "requests", "right"), ("spent", "spent", "right"), ("saved", "saved", "right")]
_PAGE_OF = {"model": ("/model", "name"), "key": ("/key", "name"), "user": ("/user", "id")}


def spend_table(by: str, empty: str = "No requests in this range") -> Table:
    return Table([*SPEND_COLUMNS[by], *_SPEND_TAIL], empty, links=["name"])


def spend_rows(rows: Sequence[Row], by: str, rng: TimeRange) -> list[Row]:
    path, param = _PAGE_OF[by]
    out = []
    for r in rows:
        name = r["keys"] if by == "key" and r["keys"] else r["grp"]
        target = r["keys"] if by == "key" else r["grp"]
        linked = by != "key" or bool(r["keys"])
        out.append(
            {
                "id": r["grp"],
                "name": name,
                "name_href": link_to(path, rng, **{param: target}) if linked and not target.startswith("(") else "",
                "via": ", ".join((r["keys"] or "-").split(",")),
                "requests": count(r["requests"]),
                "spent": money(r["cost"]),
                "saved": money(r["saved"]),
            }
        )
    return out


REQUEST_COLUMNS = [
    ("time", "time", "left"),
    ("status", "status", "left"),
    ("model", "model", "left"),
    ("key", "key", "left"),
    ("user", "user", "left"),
    ("cache", "cache", "left"),
    ("tokens", "tokens in/out", "right"),
    ("latency", "latency", "right"),
    ("cost", "cost", "right"),
]


def request_table(empty: str) -> Table:
    return Table(REQUEST_COLUMNS, empty, links=["time", "model", "key", "user"])


def model_name(row: Row) -> str:
    return f"{row['provider']}/{row['model']}" if row["provider"] else "(unrouted)"


def request_rows(rows: Sequence[Row], rng: TimeRange) -> list[Row]:
    out = []
    for r in rows:
        answered = r["cache_result"] != "rejected"
        model = model_name(r)
        out.append(
            {
                "id": r["id"],
                "time": clock(r["ts"]) if rng.step < 86_400 else time.strftime("%m-%d %H:%M", time.localtime(r["ts"])),
                "time_href": link_to("/request", rng, id=r["id"]),
                "status": f"{r['status']} {r['error_code']}" if r["error_code"] else str(r["status"]),
                "model": model + (" (stream)" if r["stream"] else ""),
                "model_href": link_to("/model", rng, name=model) if r["provider"] else "",
                "key": r["key_name"] or "-",
                "key_href": link_to("/key", rng, name=r["key_name"]) if r["key_name"] else "",
                "user": r["user"] or "-",
                "user_href": link_to("/user", rng, id=r["user"]) if r["user"] else "",
                "cache": r["cache_result"],
                "tokens": "-" if r["prompt_tokens"] is None else f"{r['prompt_tokens']}/{r['completion_tokens']}",
                # A refusal before routing takes microseconds: its latency says nothing, so none is shown.
                "latency": ms(r["latency_ms"]) if answered else "-",
                "cost": money(r["cost_usd"]) + (f" (saved {money(r['saved_usd'])})" if r["saved_usd"] else ""),
            }
        )
    return out


Render = Callable[[View], None]


def view_sections(rng: TimeRange, breakdowns: Sequence[str], recent_query: dict[str, str]) -> Render:
    """The standard body of a view: cards, the four charts over time, spend breakdowns, the latest requests."""
    cards = Cards(CAPTIONS)
    with grid():
        with card("Spent and saved", "stacked: the whole bar is what it would have cost without the cache"):
            spend = Chart(charts.spend)
        with card("Requests by cache result", "share of each bucket's requests"):
            results = Chart(charts.cache_results)
        with card("Latency", "answered requests; Helix overhead is Helix's own time"):
            latency = Chart(charts.latency)
        with card("PII found", "values caught by type; never the values themselves"):
            pii = Chart(charts.pii)
    tables: dict[str, Table] = {}
    with grid("grid-cols-1 lg:grid-cols-3" if len(breakdowns) > 2 else "grid-cols-1 lg:grid-cols-2"):
        for by in breakdowns:
            with card(f"Spend by {by}", rng.label):
                tables[by] = spend_table(by)
    with card("Latest requests", rng.label):
        recent = request_table("No requests in this range")
        link("All matching requests →", link_to("/requests", rng, **recent_query)).classes("text-sm")

    def render(view: View) -> None:
        cards.show(summary_values(view.summary))
        for chart in (spend, results, latency, pii):
            chart.show(view.series)
        sources = {"model": view.by_model, "key": view.by_key, "user": view.by_user}
        for by, table in tables.items():
            table.show(spend_rows(sources[by], by, rng))
        recent.show(request_rows(view.recent, rng))

    return render


def confirm(question: str, action: Callable[[], Any], danger: bool = True) -> None:
    """Ask before doing something an admin cannot undo."""
    with ui.dialog() as dialog, ui.card().classes("gap-3"):
        ui.label(question)
        with ui.row():

            async def yes() -> None:
                dialog.close()
                result = action()
                if hasattr(result, "__await__"):
                    await result

            ui.button("Yes", on_click=yes).props(f"color={'negative' if danger else 'primary'} dense")
            ui.button("Cancel", on_click=dialog.close).props("flat dense")
    dialog.open()

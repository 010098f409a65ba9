"""The request log: filters (status, model, key, user, cache result, the page's range) and pages of 50, all in
the URL; and one request in detail (the headers Helix set, timings, cost, cache, PII types; never bodies:
Helix does not store them)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from nicegui import ui

from helix.format import count, money, ms, when
from helix.store import keys as key_store
from helix.store.db import Connection
from helix.store.queries import CACHE_RESULTS, Filters
from helix.virtual_keys import KeyNotFound
from helix.web import data
from helix.web.data import RequestDetail, RequestPage, Row
from helix.web.pages.common import frame, keep_live, model_name, request_rows, request_table
from helix.web.timerange import TimeRange
from helix.web.widgets import Table, card, facts, go, href, link, link_to, page_title

PER_PAGE = 50
FILTERS = ("status", "model", "key", "user", "cache")
STATUSES = ("ok", "error")
# What each menu offers: a value from an edited URL that it does not (`?status=404`) is no filter, not a 500 from
# the menu that cannot show it.
_OFFERED = {"status": STATUSES, "cache": CACHE_RESULTS}


def _filters(rng: TimeRange, conn: Connection, chosen: dict[str, str]) -> Filters | None:
    """The page's filters; None when they name a key that does not exist (nothing can match)."""
    only: dict[str, Any] = {}
    if chosen.get("key"):
        try:
            only["key_id"] = key_store.find(conn, chosen["key"]).id
        except KeyNotFound:
            return None
    for name in _OFFERED:
        if chosen.get(name):
            only[name] = chosen[name]
    for name, field in (("model", "model"), ("user", "user")):
        if chosen.get(name):
            only[field] = chosen[name]
    return rng.filters(data.oldest(conn), **only)


async def show(request: Request) -> None:
    chosen = {name: request.query_params.get(name, "") for name in FILTERS}
    chosen |= {name: "" for name, offered in _OFFERED.items() if chosen[name] not in offered}
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    params = {k: v for k, v in chosen.items() if v}
    _, rng, updated = frame(request, "/requests", params)

    def refilter(**changes: str) -> None:
        wanted = {**params, **changes}
        go(link_to("/requests", rng, **wanted))

    with ui.column().classes("w-full max-w-screen-2xl mx-auto p-2 sm:p-4 gap-4"):
        page_title("Requests", rng.label)
        with card("Filters"), ui.row().classes("w-full gap-2 items-end flex-wrap"):
            status = ui.select({"": "any", **{s: s for s in STATUSES}}, value=chosen["status"], label="status")
            cache = ui.select({"": "any", **{r: r for r in CACHE_RESULTS}}, value=chosen["cache"], label="cache")
            inputs = {
                name: ui.input(name, value=chosen[name]).props("dense clearable") for name in ("model", "key", "user")
            }
            for select in (status, cache):
                select.props("dense").classes("w-28")

            def apply() -> None:
                refilter(
                    status=status.value or "",
                    cache=cache.value or "",
                    **{name: (field.value or "").strip() for name, field in inputs.items()},
                    page="",
                )

            ui.button("Apply", on_click=apply).props("dense data-action=filter")
            for field in inputs.values():
                field.on("keydown.enter", apply)
        with card("Matching requests", "newest first; open one for its details"):
            summary = ui.label().classes("text-sm text-gray-600")
            table = request_table("No request matches these filters")
            with ui.row().classes("items-center gap-4"):
                previous = ui.button("← newer", on_click=lambda: refilter(page=str(page - 1))).props("dense flat")
                position = ui.label().classes("text-sm")
                following = ui.button("older →", on_click=lambda: refilter(page=str(page + 1))).props("dense flat")

    def load(conn: Connection, current: TimeRange, now: float) -> RequestPage:
        filters = _filters(current, conn, chosen)
        if filters is None:
            return RequestPage([], 0, 1, 1)
        return data.request_page(conn, filters, page, PER_PAGE)

    def render(found: RequestPage) -> None:
        summary.set_text(f"{count(found.total)} requests")
        table.show(request_rows(found.rows, rng))
        position.set_text(f"page {found.page} of {found.pages}")
        previous.set_enabled(found.page > 1)
        following.set_enabled(found.page < found.pages)

    await keep_live(request, rng, load, render, updated)


PII_COLUMNS = [
    ("type", "type", "left"),
    ("found", "values", "right"),
    ("score", "top score", "right"),
    ("action", "action", "left"),
]


def _tokens(r: Row) -> str:
    if r["prompt_tokens"] is None:
        return "-"
    cached = count(r["cached_tokens"] or 0)
    return f"{count(r['prompt_tokens'])} in ({cached} cached), {count(r['completion_tokens'])} out"


def detail_facts(r: Row, rng: TimeRange) -> list[tuple[str, str]]:
    return [
        ("time", when(r["ts"]) + f" ({r['ts']:.3f})"),
        ("endpoint", r["endpoint"] + (" (stream)" if r["stream"] else "")),
        ("status", f"{r['status']} {r['error_code'] or ''}".strip()),
        ("model asked for", r["model_requested"] or "-"),
        ("routed to", model_name(r)),
        ("key", r["key_name"] or "-"),
        ("user", r["user"] or "-"),
        ("cache", r["cache_result"] + (f" ({r['cache']})" if r["cache"] else "")),
        ("tokens", _tokens(r)),
        ("cost", money(r["cost_usd"])),
        ("saved", money(r["saved_usd"])),
        ("latency", ms(r["latency_ms"])),
        ("Helix overhead", ms(r["overhead_ms"])),
        ("time to first token", ms(r["ttft_ms"])),
    ]


async def detail(request: Request) -> None:
    request_id = request.query_params.get("id", "")
    _, rng, updated = frame(request, "/request", {"id": request_id})
    with ui.column().classes("w-full max-w-screen-lg mx-auto p-2 sm:p-4 gap-4"):
        page_title(f"Request {request_id}", "prompts and answers are never stored")
        body = ui.column().classes("w-full gap-4")

    def load(conn: Connection, current: TimeRange, now: float) -> RequestDetail | None:
        return data.request_detail(conn, request_id)

    shown: list[RequestDetail | None] = []

    def render(found: RequestDetail | None) -> None:
        if shown and shown[0] == found:
            return  # a logged request does not change: nothing to send
        shown[:] = [found]
        body.clear()
        with body:
            if found is None:
                ui.label("No such request in the log.")
                link("All requests", href("/requests"))
                return
            with card("What happened"):
                facts(detail_facts(found.row, rng))
            with card("Headers Helix set on the response"):
                facts(list(found.headers.items()))
            with card("PII found", "types and counts only"):
                Table(PII_COLUMNS, "No PII found").show(
                    [
                        {
                            "id": p["entity_type"],
                            "type": p["entity_type"],
                            "found": count(p["count"]),
                            "score": f"{p['max_score']:.2f}",
                            "action": p["action"],
                        }
                        for p in found.pii
                    ]
                )

    await keep_live(request, rng, load, render, updated)

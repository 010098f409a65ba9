"""`helix spend`: dollars spent and saved, grouped by model, key, user, day or provider."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from helix.commands.common import (
    ROWS_SHOWN_AT_MOST,
    AsJson,
    ConfigOption,
    DbOption,
    console,
    open_db,
    print_json,
    settings,
)
from helix.commands.common import since as window_start
from helix.format import money
from helix.store import queries


def spend(
    by: Annotated[queries.SpendGroup, typer.Option(help="Group by model, key, user, day or provider.")] = "model",
    since: Annotated[str, typer.Option(metavar="DURATION", help="Window to sum over, like 24h, 7d or 4w.")] = "7d",
    top: Annotated[
        int,
        typer.Option(
            "--top", "-n", metavar="N", min=1, max=ROWS_SHOWN_AT_MOST, help="Show this many groups, biggest first."
        ),
    ] = 50,
    as_json: AsJson = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Dollars spent (and saved by the cache), grouped by model, key, user or day; top spenders first."""
    start = window_start(since)
    with open_db(settings(config, db), existing=db is not None) as conn:
        rows = queries.spend(by, start, max(1, top)).rows(conn)
        (total,) = queries.spend_total(start).rows(conn)
    items = queries.spend_items(by, rows)
    if as_json:
        print_json({"by": by, "since": since, "data": items, "total": total})
        return
    if not rows:
        console.print(f"no requests in the last {since}")
        return
    table = Table(title=f"Spend by {by}, last {since}", header_style="bold")
    table.add_column(by)
    named = by in ("key", "user")  # keys by name (id beside it); users with the keys they came through
    if named:
        table.add_column("id" if by == "key" else "keys")
    for name in ("requests", "errors", "cache hits", "tokens in", "tokens out", "cost", "saved"):
        table.add_column(name, justify="right")
    for item in items:
        if by == "key":
            first = [item["key_name"] or str(item["key"]), str(item["key"]) if item["key_name"] else "-"]
        else:
            first = [str(item[by]), *([", ".join(item["keys"]) or "-"] if named else [])]
        table.add_row(
            *first,
            f"{item['requests']:,}",
            f"{item['errors']:,}",
            f"{item['cache_hits']:,}",
            f"{item['prompt_tokens']:,}",
            f"{item['completion_tokens']:,}",
            money(item["spent_usd"]),
            money(item["saved_usd"]),
        )
    table.add_section()
    table.add_row(
        "total",
        *([""] if named else []),
        f"{total['requests']:,}",
        "",
        "",
        "",
        "",
        money(total["spent_usd"]),
        money(total["saved_usd"]),
    )
    console.print(table)
    unpriced = sum(item["unpriced_requests"] or 0 for item in items)
    if unpriced:
        console.print(
            f"[yellow]{unpriced} request(s) had no known price; add \\[pricing] entries to count them[/yellow]"
        )

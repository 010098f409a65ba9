"""`helix logs`: recent requests from the request log, as a table or as JSON lines (`--json`)."""

from __future__ import annotations

import time
from typing import Annotated, Any

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
from helix.dates import local_time
from helix.format import money, ms
from helix.store import queries


def _table(rows: list[dict[str, Any]]) -> Table:
    table = Table(show_lines=False, header_style="bold")
    for name, justify in (
        ("time", "left"),
        ("status", "right"),
        ("model", "left"),
        ("user/key", "left"),
        ("cache", "left"),
        ("tokens in/out", "right"),
        ("latency", "right"),
        ("overhead", "right"),
        ("cost", "right"),
        ("id", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=name in ("time", "id"))  # type: ignore[arg-type]
    for row in rows:
        status = str(row["status"])
        style = "green" if row["status"] < 400 else "red"
        model = f"{row['provider']}/{row['model']}" if row["provider"] else row["model_requested"] or "-"
        tokens = "-" if row["prompt_tokens"] is None else f"{row['prompt_tokens']}/{row['completion_tokens']}"
        table.add_row(
            local_time(row["ts"], "%Y-%m-%d %H:%M:%S"),
            f"[{style}]{status}[/{style}]" + (f" {row['error_code']}" if row["error_code"] else ""),
            model + (" ~" if row["stream"] else ""),
            row["user"] or row["key_name"] or row["key_id"] or "-",
            row["cache"] or "-",
            tokens,
            ms(row["latency_ms"]),
            ms(row["overhead_ms"]),
            money(row["cost_usd"]),
            row["id"],
        )
    return table


def _show(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        for row in rows:
            print_json({**row, "stream": bool(row["stream"])}, one_line=True)
    else:
        console.print(_table(rows))


def logs(
    n: Annotated[
        int,
        typer.Option(
            "-n", "--lines", metavar="N", min=1, max=ROWS_SHOWN_AT_MOST, help="How many recent requests to show."
        ),
    ] = 20,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new requests as they come.")] = False,
    as_json: AsJson = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Show recent requests from the request log (works whether or not the server runs)."""
    with open_db(settings(config, db), existing=db is not None) as conn:
        rows = queries.recent_requests(n).rows(conn)
        if rows or as_json:
            _show(rows, as_json)
        else:
            console.print("no requests logged yet")
        if not follow:
            return
        last = rows[-1]["seq"] if rows else 0
        try:
            while True:
                time.sleep(0.5)
                new = queries.requests_after(last).rows(conn)
                if new:
                    _show(new, as_json)
                    last = new[-1]["seq"]
        except KeyboardInterrupt:
            pass

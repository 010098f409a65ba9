"""`helix pii incidents | test`: what the PII firewall caught, and what it would catch in a text."""

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
    fail,
    open_db,
    print_json,
    settings,
)
from helix.commands.common import since as window_start
from helix.dates import local_time
from helix.models import resolve
from helix.pii import incidents
from helix.pii.users import UserIds, user_key

app = typer.Typer(help="The PII and secrets firewall.", no_args_is_help=True)


@app.command("incidents")
def list_incidents(
    since: Annotated[str, typer.Option(metavar="DURATION", help="How far back, like 24h or 7d.")] = "7d",
    n: Annotated[
        int, typer.Option("-n", metavar="N", min=1, max=ROWS_SHOWN_AT_MOST, help="How many incidents to list.")
    ] = 50,
    as_json: AsJson = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Detections per request: entity type, count, score and action (values are never stored)."""
    with open_db(settings(config, db), existing=db is not None) as conn:
        start = window_start(since)
        rows = incidents.recent(conn, start, n)
        if as_json:
            print_json({"since": since, "data": rows, "totals": incidents.totals(conn, start)})
            return
        if not rows:
            console.print(f"no PII incidents in the last {since}")
            return
        table = Table(title=f"PII incidents, last {since}", header_style="bold")
        for name in ("time", "request", "key/user", "entity", "count", "score", "action"):
            table.add_column(name, justify="right" if name in ("count", "score") else "left")
        for row in rows:
            table.add_row(
                local_time(row["ts"], "%Y-%m-%d %H:%M:%S"),
                row["request_id"],
                row["user"] or row["key_name"] or row["key_id"] or "-",
                row["entity_type"],
                str(row["count"]),
                f"{row['max_score']:.2f}",
                row["action"],
            )
        console.print(table)
        summary = ", ".join(
            f"{r['entity_type']} {r['action']} x{r['values_found']}" for r in incidents.totals(conn, start)
        )
    console.print(f"totals: {summary}")


@app.command("test")
def test_text(
    text: Annotated[str, typer.Argument(help="The text to check; nothing is sent anywhere.")],
    config: ConfigOption = None,
) -> None:
    """Show what the firewall would detect in TEXT and the text a provider would receive."""
    from helix.pii.analyzer import PiiEngine
    from helix.pii.redact import Redactor

    cfg = resolve(settings(config))  # the spaCy model `serve` would load, wherever it is found
    try:
        engine = PiiEngine(cfg.pii)
    except Exception as exc:  # a bad spaCy model path, a broken custom recognizer...
        raise fail(f"cannot build the PII engine: {exc}") from None
    findings = engine.analyze(text)
    redaction = Redactor(engine, cfg.pii.hash_key).redact([text])
    console.print(f"mode: {engine.mode}" + (f" (not detected: {', '.join(engine.skipped)})" if engine.skipped else ""))
    if not redaction.changed:
        console.print("nothing detected")
        return
    table = Table(header_style="bold")
    for name in ("entity", "text", "score", "action"):
        table.add_column(name)
    for finding in findings:
        table.add_row(
            finding.entity_type,
            text[finding.start : finding.end],
            f"{finding.score:.2f}",
            cfg.pii.action_for(finding.entity_type),
        )
    console.print(table)
    if redaction.blocked_entities:
        console.print(
            f"[red]blocked[/red]: a request with this text is refused ({', '.join(redaction.blocked_entities)})"
        )
    else:
        console.print("provider would receive:")
        console.print(redaction.texts[0], markup=False, highlight=False)


@app.command("user-id")
def user_id(
    raw: Annotated[str, typer.Argument(help="An end-user id as clients send it (`user` field / x-helix-user).")],
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """The id a raw end-user id is stored under (logs, spend, incidents, dashboard)."""
    cfg = settings(config, db)
    if cfg.privacy.store_user == "plain":
        console.print(raw, markup=False, highlight=False)
        return
    with open_db(cfg) as conn:
        try:
            key = user_key(conn, cfg.privacy.user_hash_key)
        finally:
            conn.close()
    console.print(UserIds(key).stored(raw), markup=False, highlight=False)

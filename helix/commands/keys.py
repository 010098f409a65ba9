"""`helix keys add | list | show | update | revoke | rotate`: virtual keys in the SQLite file.

Works on the file whether or not the server runs; a running server picks changes up within a second.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import Annotated, Any

import typer
from rich.table import Table

from helix.commands.common import AsJson, ConfigOption, DbOption, console, fail, open_db, print_json, settings
from helix.config import Period
from helix.dates import local_time
from helix.format import money as _money
from helix.periods import ADJECTIVE, period_bounds
from helix.store import keys as key_store
from helix.store import spend
from helix.store.db import Connection
from helix.virtual_keys import KeyProblem, KeyRecord, KeySpec

app = typer.Typer(
    help="Virtual keys: one per app, teammate or customer, with a budget, rate limits and allowed models.",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="The key's name, e.g. the app or teammate it is for.")]
PeriodOption = Annotated[Period, typer.Option(help="Budget period: day, week, month (UTC) or total.")]


def _settings(given: dict[str, Any]) -> dict[str, Any]:
    """KeySpec fields from the options given; a bad one fails naming its option."""
    try:
        return KeySpec.parse({setting: value for setting, value in given.items() if value is not None})
    except KeyProblem as exc:
        option = f"--{exc.setting.replace('_', '-')}: " if exc.setting else ""
        raise fail(f"{option}{exc}") from None


def _connect(config: Any, db: Any) -> AbstractContextManager[Connection]:
    # A mistyped --db made a new database: its keys listed as none, and a key added there no server would take.
    return open_db(settings(config, db), existing=db is not None)


def _ago(ts: float | None, now: float) -> str:
    if ts is None:
        return "never"
    seconds = max(0.0, now - ts)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def _date(ts: float | None) -> str:
    return local_time(ts, missing="never")


def _spend(row: dict[str, Any]) -> str:
    spent = _money(row["spent_usd"])
    if row["budget_usd"] is None:
        return f"{spent} ({ADJECTIVE[row['budget_period']]}, no budget)"
    used = row["budget_used"] or 0.0
    colour = "red" if used >= 1 else "yellow" if used >= 0.8 else "green"
    return f"[{colour}]{spent} / {_money(row['budget_usd'])}[/{colour}] {ADJECTIVE[row['budget_period']]} ({used:.0%})"


def _limits(key: KeyRecord) -> str:
    parts = [f"{key.spec.rpm:,} rpm" if key.spec.rpm else "", f"{key.spec.tpm:,} tpm" if key.spec.tpm else ""]
    return ", ".join(p for p in parts if p) or "-"


def _user_budget(key: KeyRecord) -> str:
    if key.spec.user_budget is None:
        return "-"
    return f"{_money(key.spec.user_budget)} {ADJECTIVE[key.spec.user_period or 'day']}"


def _status(status: str) -> str:
    return {"active": "[green]active[/green]", "revoked": "[red]revoked[/red]", "expired": "[red]expired[/red]"}[status]


def _print_secret(record: KeyRecord, secret: str, quiet: bool, verb: str) -> None:
    if quiet:
        typer.echo(secret)
        return
    console.print(f"{verb} key [bold]{record.name}[/bold] ({record.display})")
    typer.echo(secret)
    console.print("[yellow]Store it now: Helix keeps only its hash and cannot show it again.[/yellow]")


QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the key (for scripts).")]


@app.command()
def add(
    name: NameArg,
    budget: Annotated[
        float | None, typer.Option(metavar="USD", help="Budget in USD over --period; refused with 429 beyond.")
    ] = None,
    period: PeriodOption = "total",
    user_budget: Annotated[
        float | None, typer.Option(metavar="USD", help="Budget in USD for each end user (`user` field / x-helix-user).")
    ] = None,
    user_period: Annotated[
        Period | None, typer.Option(help="Period of --user-budget (default: \\[limits] user_budget_period).")
    ] = None,
    rpm: Annotated[
        int | None, typer.Option(metavar="N", help="Requests per minute (per \\[limits] window_seconds).")
    ] = None,
    tpm: Annotated[int | None, typer.Option(metavar="N", help="Tokens (prompt + completion) per minute.")] = None,
    models: Annotated[
        str | None,
        typer.Option(metavar="MODELS", help="Allowed models, comma-separated; wildcards: gpt-4o-mini,anthropic/*."),
    ] = None,
    expires: Annotated[
        str | None, typer.Option(metavar="DURATION", help="Expire after this long: 12h, 30d, 2w.")
    ] = None,
    quiet: QuietOption = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    given = {"budget": budget, "user_budget": user_budget, "user_period": user_period, "rpm": rpm, "tpm": tpm}
    spec = KeySpec(period=period, **_settings({**given, "models": models, "expires": expires}))
    with _connect(config, db) as conn:
        try:
            record, secret = key_store.create(conn, name, spec)
        except KeyProblem as exc:
            raise fail(str(exc)) from None
    _print_secret(record, secret, quiet, "created")


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", "-a", help="Include revoked keys.")] = False,
    as_json: AsJson = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Keys with their spend against budget, limits, allowed models and last use."""
    with _connect(config, db) as conn:
        keys = key_store.list_keys(conn, include_revoked=all_)
        if as_json:
            print_json(spend.report(conn, keys))  # the fields of GET /admin/keys
            return
        if not keys:
            console.print("no keys yet: create one with [bold]helix keys add NAME[/bold] (until then /v1 is open)")
            return
        rows = spend.report(conn, keys)
    now = time.time()
    table = Table(title="Helix keys", header_style="bold")
    for column, justify in (
        ("name", "left"),
        ("key", "left"),
        ("status", "left"),
        ("spend / budget", "left"),
        ("per user", "right"),
        ("limits", "right"),
        ("models", "left"),
        ("expires", "left"),
        ("last used", "right"),
    ):
        table.add_column(column, justify=justify, no_wrap=column in ("name", "key"))  # type: ignore[arg-type]
    for key, row in zip(keys, rows, strict=True):
        table.add_row(
            key.name,
            key.display,
            _status(row["status"]),
            _spend(row),
            _user_budget(key),
            _limits(key),
            ", ".join(key.spec.models) if key.spec.models else "any",
            _date(key.spec.expires_at),
            _ago(key.last_used_at, now),
        )
    console.print(table)


@app.command()
def show(name: NameArg, config: ConfigOption = None, db: DbOption = None) -> None:
    """One key in detail, with its top end users this budget period."""
    with _connect(config, db) as conn:
        try:
            key = key_store.find(conn, name)
        except KeyProblem as exc:
            raise fail(str(exc)) from None
        (row,) = spend.report(conn, [key])
        now = time.time()
        details = Table(show_header=False, box=None, pad_edge=False)
        details.add_column(style="bold")
        details.add_column()
        for label, value in (
            ("name", key.name),
            ("id", key.id),
            ("key", key.display),
            ("status", _status(row["status"])),
            ("spend", _spend(row)),
            ("requests", f"{row['requests']:,} this period"),
            ("per-user budget", _user_budget(key)),
            ("rate limits", _limits(key)),
            ("models", ", ".join(key.spec.models) if key.spec.models else "any"),
            ("created", _date(key.created_at)),
            ("expires", _date(key.spec.expires_at)),
            ("rotated", _date(key.rotated_at)),
            ("revoked", _date(key.revoked_at)),
            ("last used", _ago(key.last_used_at, now)),
        ):
            details.add_row(label, value)
        console.print(details)
        since, _ = period_bounds(key.spec.period, now)
        users = spend.top_users(conn, key.id, since)
    if users:
        table = Table(title="Top users this period", header_style="bold")
        table.add_column("user")
        table.add_column("requests", justify="right")
        table.add_column("spent", justify="right")
        for user in users:
            table.add_row(user["user"], f"{user['requests']:,}", _money(user["spent_usd"]))
        console.print(table)


@app.command()
def update(
    name: NameArg,
    budget: Annotated[str | None, typer.Option(metavar="USD", help="New budget in USD, or 'none'.")] = None,
    period: Annotated[Period | None, typer.Option(help="New budget period.")] = None,
    user_budget: Annotated[
        str | None, typer.Option(metavar="USD", help="New per-user budget in USD, or 'none'.")
    ] = None,
    user_period: Annotated[Period | None, typer.Option(help="New per-user budget period.")] = None,
    rpm: Annotated[str | None, typer.Option(metavar="N", help="New requests per minute, or 'none'.")] = None,
    tpm: Annotated[str | None, typer.Option(metavar="N", help="New tokens per minute, or 'none'.")] = None,
    models: Annotated[
        str | None, typer.Option(metavar="MODELS", help="New allowed models (comma-separated), or '*' for any.")
    ] = None,
    expires: Annotated[
        str | None, typer.Option(metavar="DURATION", help="Expire this long from now (30d), or 'never'.")
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Change a key's budget, limits, models or expiry; the secret stays the same."""
    changes = _settings(
        {
            "budget": budget,
            "period": period,
            "user_budget": user_budget,
            "user_period": user_period,
            "rpm": rpm,
            "tpm": tpm,
            "models": models,
            "expires": expires,
        }
    )
    if not changes:
        raise fail("nothing to change: pass --budget, --period, --rpm, --tpm, --models, --expires...")
    with _connect(config, db) as conn:
        try:
            key = key_store.update(conn, name, changes)
        except KeyProblem as exc:
            raise fail(str(exc)) from None
    console.print(f"updated key [bold]{key.name}[/bold] ({key.display}): {', '.join(sorted(changes))}")


@app.command()
def revoke(name: NameArg, config: ConfigOption = None, db: DbOption = None) -> None:
    """Revoke a key: requests with it are refused (401) from now on."""
    with _connect(config, db) as conn:
        try:
            key = key_store.revoke(conn, name)
        except KeyProblem as exc:
            raise fail(str(exc)) from None
    console.print(f"revoked key [bold]{key.name}[/bold] ({key.display}); its spend stays in the log")


@app.command()
def rotate(name: NameArg, quiet: QuietOption = False, config: ConfigOption = None, db: DbOption = None) -> None:
    """Replace a key's secret; the old one stops working, budget, spend and limits stay."""
    with _connect(config, db) as conn:
        try:
            record, secret = key_store.rotate(conn, name)
        except KeyProblem as exc:
            raise fail(str(exc)) from None
    _print_secret(record, secret, quiet, "rotated")

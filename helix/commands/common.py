"""What every `helix` command shares: consoles, the --config/--db options, loading settings, failing clearly."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from helix.config import Config, ConfigError, load_config
from helix.durations import parse_duration
from helix.store.db import connect

console = Console()
errors = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Path to helix.toml (default: ./helix.toml, then the data dir)."),
]
DbOption = Annotated[Path | None, typer.Option("--db", help="Path of the SQLite file (overrides \\[storage] path).")]


def fail(message: str) -> typer.Exit:
    errors.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


def overrides(db: Path | None = None, **server: Any) -> dict[str, Any]:
    """The config keys that command-line options set."""
    found: dict[str, Any] = {}
    if db is not None:
        found["storage"] = {"path": str(db)}
    server = {k: v for k, v in server.items() if v is not None}
    if server:
        found["server"] = server
    return found


def settings(config: Path | None, db: Path | None = None, **server: Any) -> Config:
    try:
        return load_config(config, overrides=overrides(db, **server))
    except ConfigError as exc:
        raise fail(str(exc)) from None


def open_db(config: Config) -> sqlite3.Connection:
    try:
        return connect(config.db_path())
    except Exception as exc:  # a locked, corrupt or unwritable file: say which and why
        raise fail(f"cannot open the database {config.db_path()}: {exc}") from None


def duration(text: str, option: str = "") -> float:
    """Seconds in a duration given on the command line (30m, 24h, 7d), or a clean exit naming the option."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise fail(f"{option}: {exc}" if option else str(exc)) from None

"""What every `helix` command shares: consoles, the --config/--db/--json options, loading settings, opening
the database (closed when the command is done with it), printing JSON, tidy help, failing clearly."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from helix.config import Config, ConfigError, load_config
from helix.dburl import describe
from helix.durations import parse_duration
from helix.store.db import Connection, connect, is_locked
from helix.store.pg import ConnectionLost

console = Console()
errors = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", metavar="FILE", help="Path to helix.toml (default: ./helix.toml, then the data dir)."
    ),
]
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", metavar="FILE|URL", help="SQLite file or postgresql:// URL (overrides \\[storage] url and path)."
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON with stable field names instead of a table.")]
# The most rows a listing's -n asks for: a number past what SQLite binds (2**63) was a traceback, not an error.
ROWS_SHOWN_AT_MOST = 1_000_000


def fail(message: str) -> typer.Exit:
    errors.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


def overrides(db: str | None = None, **server: Any) -> dict[str, Any]:
    """The config keys that command-line options set."""
    found: dict[str, Any] = {}
    if db is not None:
        found["storage"] = {"url": db}
    server = {k: v for k, v in server.items() if v is not None}
    if server:
        found["server"] = server
    return found


def settings(config: Path | None, db: str | None = None, **server: Any) -> Config:
    try:
        return load_config(config, overrides=overrides(db, **server))
    except ConfigError as exc:
        raise fail(str(exc)) from None


@contextmanager
def open_db(config: Config, *, existing: bool = False) -> Iterator[Connection]:
    """The database for one command (`with open_db(cfg) as conn:`), closed when the block ends. `existing`: a SQLite
    file that is not there is an error, not a new empty database (for a command that only reads, given --db: a
    mistyped path made one, and the command reported nothing logged)."""
    location = config.db_path()
    if existing and isinstance(location, Path) and not location.exists():
        raise fail(f"no Helix database at {location}: check --db (`helix serve` creates the database)")
    try:
        conn = connect(config.db_path())
    except Exception as exc:  # a locked, corrupt or unwritable file: say which and why
        raise fail(f"cannot open the database {describe(config.db_path())}: {exc}") from None
    try:
        yield conn
    except sqlite3.OperationalError as exc:
        if not (is_locked(exc) or isinstance(exc, ConnectionLost)):
            raise
        # locked by another process past the busy timeout, or out of reach: one line, no traceback
        raise fail(f"the database {describe(config.db_path())} cannot be used right now: {exc}") from None
    finally:
        conn.close()


def duration(text: str, option: str = "") -> float:
    """Seconds in a duration given on the command line (30m, 24h, 7d), or a clean exit naming the option."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise fail(f"{option}: {exc}" if option else str(exc)) from None


def since(text: str) -> float:
    """The start (epoch seconds) of a `--since` window given as a duration (24h, 7d), or a clean exit."""
    return time.time() - duration(text, "--since")


def print_json(value: Any, *, one_line: bool = False) -> None:
    """JSON on stdout for scripts, never through Rich (no markup, no wrapping); `one_line` for JSON Lines."""
    separators = (",", ":") if one_line else None
    typer.echo(json.dumps(value, ensure_ascii=False, separators=separators, default=str))


def unlimited_width_when_piped() -> None:
    """Tables written to a pipe or a file keep whole lines: nothing there wraps them or needs them cut."""
    for each in (console, errors):
        if not each.is_terminal and "COLUMNS" not in os.environ:
            each.width = 100_000


def tidy_help(command: Any) -> None:
    """Help that names values instead of typing them: `--budget USD`, `--since DURATION` (explicit metavars),
    else the option's name in capitals, and nothing after a flag, where typer would print `<bool>`/`<str>`."""
    context = typer.Context(command, info_name=command.name)
    for param in [*command.params, command.get_help_option(context)]:
        if param is None:
            continue
        if param.param_type_name == "argument":
            param.metavar = param.metavar or (param.name or "").upper()
            param.display_type_rich = lambda ctx: None  # type: ignore[attr-defined]  # the name says it
        elif param.metavar is None:
            choices = getattr(getattr(param, "type_descriptor", None), "choices", None)
            if getattr(param, "is_flag", False):
                param.metavar = ""
            elif choices:
                param.metavar = "[" + "|".join(str(choice) for choice in choices) + "]"
            else:
                param.metavar = (param.name or "").upper()
    for sub in getattr(command, "commands", {}).values():
        tidy_help(sub)

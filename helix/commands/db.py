"""`helix db migrate`: bring a database's schema up to date (a SQLite file or a shared PostgreSQL database)
before the instances that use it start; `helix serve` does the same on its own at start-up."""

from __future__ import annotations

from typing import Annotated

import typer

from helix.commands.common import ConfigOption, console, fail, settings
from helix.dburl import describe, is_shared
from helix.store import migrations
from helix.store.db import connect

app = typer.Typer(help="The database: migrations.", no_args_is_help=True)


@app.command()
def migrate(
    url: Annotated[
        str | None,
        typer.Option("--url", metavar="FILE|URL", help="SQLite file or postgresql:// URL (default: [storage])."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Apply the pending named migrations and list what the database has applied."""
    location = settings(config, url).db_path()
    try:
        conn = connect(location, migrate=False)
        try:
            applied_now = migrations.migrate(conn, postgres=is_shared(location))
            done = migrations.applied(conn)
        finally:
            conn.close()
    except Exception as exc:  # unreachable server, bad credentials, a newer schema: one clear line
        raise fail(f"cannot migrate {describe(location)}: {exc}") from None
    for name in applied_now:
        console.print(f"applied  {name}", highlight=False)
    console.print(f"{describe(location)}: {len(done)} migrations applied, {len(applied_now)} just now", highlight=False)

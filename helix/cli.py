"""The `helix` command: its sub-commands (helix/commands/), init, doctor and version. Thin: the work happens
in the library."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from helix import __version__, runtime
from helix.commands import cache as cache_commands
from helix.commands import db as db_commands
from helix.commands import keys as keys_commands
from helix.commands import logs as logs_command
from helix.commands import models as models_commands
from helix.commands import pii as pii_commands
from helix.commands import reload as reload_command
from helix.commands import serve as serve_command
from helix.commands import spend as spend_command
from helix.commands.common import ConfigOption, DbOption, console, fail, settings, tidy_help, unlimited_width_when_piped
from helix.config import CONFIG_FILENAME, default_config_path
from helix.store.keys import ADMIN_KEY_PREFIX, new_secret

if TYPE_CHECKING:
    pass

app = typer.Typer(
    name="helix",
    help="Helix: an OpenAI-compatible LLM gateway in one process and one SQLite file.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        console.print(__version__, highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_print_version, is_eager=True, help="Print Helix's version and exit."),
    ] = False,
) -> None:
    """Helix: an OpenAI-compatible LLM gateway in one process and one SQLite file."""


app.add_typer(cache_commands.app, name="cache")
app.add_typer(db_commands.app, name="db")
app.add_typer(keys_commands.app, name="keys")
app.add_typer(models_commands.app, name="models")
app.add_typer(pii_commands.app, name="pii")
app.command()(serve_command.serve)
app.command()(logs_command.logs)
app.command()(spend_command.spend)
app.command("reload")(reload_command.reload)


@app.command()
def init(
    path: Annotated[Path, typer.Option(help="Where to write the config file.")] = Path(CONFIG_FILENAME),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented helix.toml to start from."""
    if path.exists() and not force:
        raise fail(f"{path} exists; pass --force to overwrite it")
    template = resources.files("helix").joinpath("example.toml").read_text(encoding="utf-8")
    # A fresh admin key for /admin and the dashboard; the file now holds a secret, so only its owner reads it.
    template = template.replace('# admin_key = "hxa-..."', f'admin_key = "{new_secret(ADMIN_KEY_PREFIX)}"', 1)
    try:
        path.write_text(template, encoding="utf-8")
        path.chmod(0o600)
    except OSError as exc:  # no such folder, a folder of that name, no right to write there
        raise fail(f"cannot write {path}: {exc.strerror or exc}") from None
    console.print(f"wrote {path}: edit it, then run [bold]helix serve --config {path}[/bold]")
    console.print("  its \\[auth] admin_key opens /admin (send it as 'Authorization: Bearer ...') and /dashboard")


@app.command()
def doctor(config: ConfigOption = None, db: DbOption = None) -> None:
    """Check the configuration, the database, sqlite-vec and which providers are usable."""
    from helix.doctor import run_checks

    cfg = settings(config, db)
    ok = True
    for check in run_checks(cfg, dict(os.environ), config or default_config_path(), db_given=db is not None):
        colour = {"ok": "green", "warn": "yellow", "fail": "red"}[check.level]
        console.print(
            f"[{colour}]{check.level.upper():>4}[/{colour}]  {check.name}: {escape(check.detail)}", highlight=False
        )
        ok = ok and check.level != "fail"
    if not ok:
        raise typer.Exit(code=1)


@app.command()
def version() -> None:
    """Print Helix's version."""
    console.print(__version__)


def main() -> None:
    unlimited_width_when_piped()
    runtime.contain()
    runtime.tie_to_launcher()
    command = typer.main.get_command(app)
    tidy_help(command)
    command(prog_name="helix")


if __name__ == "__main__":
    main()

"""The `helix` command: serve, init, logs, spend, doctor. Thin: the work happens in the library."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.markup import escape
from rich.table import Table

from helix import __version__, runtime
from helix.commands import cache as cache_commands
from helix.commands import keys as keys_commands
from helix.commands import models as models_commands
from helix.commands import pii as pii_commands
from helix.commands import reload as reload_command
from helix.commands.common import ConfigOption, DbOption, console, duration, fail, open_db, overrides, settings
from helix.config import CONFIG_FILENAME, Config, default_config_path, load_config
from helix.dates import local_time
from helix.format import money as _money
from helix.logs import configure_logging
from helix.models import Found, locate_all, resolve
from helix.startup import ASGIApp, DeferredApp
from helix.store import queries
from helix.store.keys import ADMIN_KEY_PREFIX, new_secret

if TYPE_CHECKING:
    from helix.gateway import Gateway

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
app.add_typer(keys_commands.app, name="keys")
app.add_typer(models_commands.app, name="models")
app.add_typer(pii_commands.app, name="pii")
app.command("reload")(reload_command.reload)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 4000).")] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Start the gateway (proxy on /v1, health on /health, dashboard on /dashboard)."""
    import uvicorn

    from helix.server import GracefulServer, ignore_sighup, protocol_options, reload_on_sighup

    configured = settings(config, db, host=host, port=port)
    cfg = resolve(configured)
    ignore_sighup()

    def reread() -> Config:
        return resolve(load_config(config, overrides=overrides(db, host=host, port=port)))

    configure_logging(cfg.server.log_level)
    _banner(cfg, locate_all(configured))

    built: list[Gateway] = []

    def build() -> ASGIApp:
        # The heavy imports (Litestar, Presidio and spaCy, NiceGUI, onnxruntime) happen here, in a
        # worker thread, once the port is open: /health answers meanwhile, /health/ready says "loading".
        from helix.app import create_app
        from helix.web.mount import front

        if cfg.cache.enabled and cfg.cache.semantic and not cfg.cache.embedding_model_path:
            runtime.go_offline_unless_reachable()
        application = create_app(cfg, loader=reread)
        built.append(application.state.gateway)
        return cast(ASGIApp, front(application))

    async def settle() -> None:
        # Loading the models leaves tens of MB of freed heap that glibc keeps; hand it back once, when
        # the embedding model (which loads after the app starts) is in too.
        reload_on_sighup(built[0], reread)
        cache = built[0].cache
        while cache is not None and cache.semantic_enabled and not cache.semantic_ready:
            await asyncio.sleep(0.2)
        runtime.release_memory()

    server = GracefulServer(
        uvicorn.Config(
            DeferredApp(build, on_failure=lambda _: setattr(server, "should_exit", True), after_start=settle),
            host=cfg.server.host,
            port=cfg.server.port,
            log_level=cfg.server.log_level,
            access_log=False,
            timeout_graceful_shutdown=cast(int, cfg.server.shutdown_grace),  # any number of seconds works
            **protocol_options(cfg.server),
        )
    )
    app_ = cast(DeferredApp, server.config.app)
    try:
        server.run()
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the Ctrl-C it handled: the server has shut down cleanly
    except (ValueError, OSError) as exc:
        raise fail(str(exc)) from None
    if app_.error is not None:
        raise fail(f"cannot start: {app_.error}")


def _banner(cfg: Config, models: list[Found]) -> None:
    from helix.web.guard import NOTES, access

    base = f"http://{cfg.server.host}:{cfg.server.port}"
    console.print(f"[bold]Helix {__version__}[/bold]")
    console.print(f"  proxy     {base}/v1   (point the OpenAI SDK's base_url here)")
    console.print(f"  health    {base}/health   (/health/ready once everything is loaded)")
    if cfg.dashboard.enabled:
        console.print(f"  dashboard {base}/dashboard   ({escape(NOTES[access(cfg)])})")
    console.print(f"  database  {cfg.db_path()}")
    for found in models:
        if found.used:
            console.print(f"  model     {found.spec.key}: {escape(found.describe())}", highlight=False)
    _print_pii_mode(cfg)


def _print_pii_mode(cfg: Config) -> None:
    from helix.pii.config import NAMES_HINT, find_model

    if not cfg.pii.enabled:
        console.print("  pii       [yellow]off[/yellow]: prompts reach providers unredacted")
        return
    model = find_model(cfg.pii.spacy_model)
    if model is not None:
        console.print(f"  pii       on, names and places with {escape(model)}")
    else:
        console.print(
            "  pii       on, pattern-only: [bold yellow]names and places are NOT detected[/bold yellow] "
            f"({escape(NAMES_HINT)})"
        )


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
    path.write_text(template, encoding="utf-8")
    path.chmod(0o600)
    console.print(f"wrote {path}: edit it, then run [bold]helix serve --config {path}[/bold]")
    console.print("  its \\[auth] admin_key opens /admin (send it as 'Authorization: Bearer ...') and /dashboard")


def _when(ts: float) -> str:
    return local_time(ts, "%Y-%m-%d %H:%M:%S")


def _number(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:,.1f}{unit}" if isinstance(value, float) else f"{value:,}{unit}"


def _log_table(rows: list[dict[str, Any]], title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False, header_style="bold")
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
            _when(row["ts"]),
            f"[{style}]{status}[/{style}]" + (f" {row['error_code']}" if row["error_code"] else ""),
            model + (" ~" if row["stream"] else ""),
            row["user"] or row["key_id"] or "-",
            row["cache"] or "-",
            tokens,
            _number(row["latency_ms"], " ms"),
            _number(row["overhead_ms"], " ms"),
            _money(row["cost_usd"]),
            row["id"],
        )
    return table


@app.command()
def logs(
    n: Annotated[int, typer.Option("-n", "--lines", help="How many recent requests to show.")] = 20,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new requests as they come.")] = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Show recent requests from the request log (works whether or not the server runs)."""
    conn = open_db(settings(config, db))
    rows = queries.recent_requests(n).rows(conn)
    console.print(_log_table(rows) if rows else "no requests logged yet")
    if not follow:
        return
    last = rows[-1]["seq"] if rows else 0
    try:
        while True:
            time.sleep(0.5)
            new = queries.requests_after(last).rows(conn)
            if new:
                console.print(_log_table(new))
                last = new[-1]["seq"]
    except KeyboardInterrupt:
        pass


@app.command()
def spend(
    by: Annotated[queries.SpendGroup, typer.Option(help="Group by model, key, user, day or provider.")] = "model",
    since: Annotated[str, typer.Option(help="Window to sum over, like 24h, 7d or 4w.")] = "7d",
    top: Annotated[int, typer.Option("--top", "-n", help="Show this many groups, biggest spenders first.")] = 50,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Dollars spent (and saved by the cache), grouped by model, key, user or day; top spenders first."""
    window = duration(since)
    conn = open_db(settings(config, db))
    rows = queries.spend(by, time.time() - window, max(1, top)).rows(conn)
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
    for row in rows:
        if by == "key":
            first = [row["keys"] or str(row["grp"]), str(row["grp"]) if row["keys"] else "-"]
        else:
            first = [str(row["grp"]), *([row["keys"] or "-"] if named else [])]
        table.add_row(
            *first,
            f"{row['requests']:,}",
            f"{row['errors']:,}",
            f"{row['cache_hits']:,}",
            f"{row['prompt_tokens']:,}",
            f"{row['completion_tokens']:,}",
            _money(row["cost"]),
            _money(row["saved"]),
        )
    total_cost = sum(r["cost"] for r in rows)
    table.add_section()
    table.add_row(
        "total",
        *([""] if named else []),
        f"{sum(r['requests'] for r in rows):,}",
        "",
        "",
        "",
        "",
        _money(total_cost),
        _money(sum(r["saved"] for r in rows)),
    )
    console.print(table)
    unpriced = sum(r["unpriced"] or 0 for r in rows)
    if unpriced:
        console.print(f"[yellow]{unpriced} request(s) had no known price; add [pricing] entries to count them[/yellow]")


@app.command()
def doctor(config: ConfigOption = None, db: DbOption = None) -> None:
    """Check the configuration, the database, sqlite-vec and which providers are usable."""
    from helix.doctor import run_checks

    cfg = settings(config, db)
    ok = True
    for check in run_checks(cfg, dict(os.environ), config or default_config_path()):
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
    # A narrow terminal (or none, in CI) should not wrap tables into unreadable columns.
    if not os.isatty(1) and "COLUMNS" not in os.environ:
        console.width = max(console.width, shutil.get_terminal_size((160, 24)).columns)
    runtime.contain()
    runtime.tie_to_launcher()
    app()


if __name__ == "__main__":
    main()

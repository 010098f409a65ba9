"""`helix serve`: the gateway on one port, listening before the models load.

The port opens at once (`/health` answers, `/health/ready` says "loading"); Litestar, Presidio, NiceGUI
and the models load in a worker thread behind it (helix/startup.py). Without internet, the embedding
model's hub lookup is skipped after one short probe (helix/runtime.py), or at once with HF_HUB_OFFLINE=1.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.markup import escape

from helix import __version__, runtime
from helix.commands.common import ConfigOption, DbOption, console, fail, overrides, settings
from helix.commands.workers import WORKER_FD_OPTION, inherited_socket, refusal, reload_workers, supervise
from helix.config import Config, load_config
from helix.dburl import describe
from helix.logs import configure_logging
from helix.models import Found, locate_all, resolve
from helix.startup import ASGIApp, DeferredApp

if TYPE_CHECKING:
    from helix.gateway import Gateway


def serve(
    host: Annotated[str | None, typer.Option(metavar="ADDRESS", help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(metavar="PORT", help="Port to listen on (default 4000).")] = None,
    config: ConfigOption = None,
    db: DbOption = None,
    workers: Annotated[
        int,
        typer.Option(metavar="N", help="Processes sharing the port (needs a postgresql:// database; default 1)."),
    ] = 1,
    worker_fd: Annotated[int | None, typer.Option(WORKER_FD_OPTION, hidden=True)] = None,
) -> None:
    """Start the gateway (proxy on /v1, health on /health, dashboard on /dashboard)."""
    import uvicorn

    from helix.server import GracefulServer, ignore_sighup, protocol_options, reload_on_sighup

    configured = settings(config, db, host=host, port=port)
    cfg = resolve(configured)
    refused = refusal(cfg, workers)
    if refused is not None:
        raise fail(refused)
    if workers > 1 and worker_fd is None:
        _banner(cfg, locate_all(configured))
        console.print(f"  workers   {workers} processes on one port")
        try:
            status = supervise(cfg, workers, _own_arguments(config, db, host, port))
        except OSError as exc:  # the port taken, or not ours to bind
            raise fail(f"cannot listen on {cfg.server.host}:{cfg.server.port}: {exc}") from None
        raise typer.Exit(status)
    ignore_sighup()

    def reread() -> Config:
        return resolve(load_config(config, overrides=overrides(db, host=host, port=port)))

    configure_logging(cfg.server.log_level)
    if worker_fd is None:
        _banner(cfg, locate_all(configured))

    built: list[Gateway] = []

    def build() -> ASGIApp:
        # The heavy imports (Litestar, Presidio and spaCy, NiceGUI, onnxruntime) happen here, in a
        # worker thread, once the port is open: /health answers meanwhile, /health/ready says "loading".
        from helix.app import create_app, served

        if cfg.cache.enabled and cfg.cache.semantic and not cfg.cache.embedding_model_path:
            runtime.go_offline_unless_reachable()
        application = create_app(cfg, loader=reread)
        if worker_fd is not None:
            application.state.gateway.reload_others = reload_workers
        built.append(application.state.gateway)
        return cast(ASGIApp, served(application))

    async def flush_log(seconds: float) -> bool:
        writer = built[0].writer
        return not writer.alive or await writer.flush(seconds)  # not alive: closed, so drained already

    async def settle() -> None:
        # Loading the models leaves tens of MB of freed heap that glibc keeps; hand it back once, when
        # the embedding model (which loads after the app starts) is in too.
        reload_on_sighup(built[0], reread)
        server.flush_log_on_exit(flush_log)
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
    server.ignores_sigint = worker_fd is not None
    app_ = cast(DeferredApp, server.config.app)
    try:
        server.run(sockets=[inherited_socket(worker_fd)] if worker_fd is not None else None)
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the Ctrl-C it handled: the server has shut down cleanly
    except (ValueError, OSError) as exc:
        raise fail(str(exc)) from None
    if app_.error is not None:
        raise fail(f"cannot start: {app_.error}")


def _own_arguments(config: Path | None, db: str | None, host: str | None, port: int | None) -> list[str]:
    """The options a worker is started with: this command's own, minus --workers."""
    given = {"--config": config, "--db": db, "--host": host, "--port": port}
    return [part for option, value in given.items() if value is not None for part in (option, str(value))]


def _banner(cfg: Config, models: list[Found]) -> None:
    from helix.web.guard import NOTES, access

    base = f"http://{cfg.server.host}:{cfg.server.port}"
    console.print(f"[bold]Helix {__version__}[/bold]")
    console.print(f"  proxy     {base}/v1   (point the OpenAI SDK's base_url here)")
    console.print(f"  health    {base}/health   (/health/ready once everything is loaded)")
    if cfg.dashboard.enabled:
        console.print(f"  dashboard {base}/dashboard   ({escape(NOTES[access(cfg)])})")
    console.print(f"  database  {escape(describe(cfg.db_path()))}")
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

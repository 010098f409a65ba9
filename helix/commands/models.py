"""`helix models list|pull`: which models Helix finds where, and putting them in its model folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import Progress, TaskID
from rich.table import Table

from helix import runtime
from helix.commands.common import ConfigOption, console, fail, settings
from helix.model_install import InstallError, copy_from, download, find_in, quantize_installed
from helix.models import EMBEDDING, INT8_NOTE, MODELS, ModelSpec, locate_all, models_dir

app = typer.Typer(help="The embedding and spaCy models: where each is found; installing them.", no_args_is_help=True)


@app.command("list")
def list_models(config: ConfigOption = None) -> None:
    """Each model, what uses it, and where it is found (config, env, bundled, data dir) or that it is missing."""
    table = Table(header_style="bold")
    for name in ("model", "used for", "source", "location"):
        table.add_column(name)
    for found in locate_all(settings(config)):
        purpose = found.spec.purpose + ("" if found.used else " (off in this config)")
        style = "green" if found.location else "yellow"
        table.add_row(
            f"{found.spec.key}: {found.spec.title}",
            purpose,
            f"[{style}]{found.source}[/{style}]",
            escape(found.location or f"run 'helix models pull' (or set {found.spec.env})"),
        )
    console.print(table)
    console.print(f"Helix's model folder: {models_dir()}", highlight=False)


@app.command()
def pull(
    source: Annotated[
        Path | None,
        typer.Option("--from", help="Copy from this folder (holding the model folders) instead of downloading them."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace models already in Helix's model folder.")] = False,
    int8: Annotated[
        bool,
        typer.Option(
            "--int8",
            help="Quantize the embedding model to int8 (23 MB instead of 87, ~60 MiB less memory in `helix serve`; "
            "needs the onnx package: pip install 'helix-gateway[int8]').",
        ),
    ] = False,
) -> None:
    """Put both models into Helix's model folder (~/.local/share/helix/models), where `helix serve` finds them."""
    target_dir = models_dir()
    if source is not None and not source.expanduser().is_dir():
        raise fail(f"--from {source}: not a folder")
    if source is None and not runtime.hub_reachable():
        raise fail(
            "offline (HF_HUB_OFFLINE is set or the Hugging Face hub does not answer): "
            "copy the models from a folder with --from DIR"
        )
    found_any = False
    for spec in MODELS:
        target = target_dir / spec.folder
        origin = None if source is None else find_in(spec, source.expanduser())
        if source is not None and origin is None:
            console.print(f"[yellow]skip[/yellow] {spec.key}: no {spec.title} folder in {escape(str(source))}")
            continue
        found_any = True
        if spec.complete(target) and not force:
            console.print(f"[green]have[/green] {spec.key}: {escape(str(target))} (--force replaces it)")
            _quantize(spec, target_dir, int8)
            continue
        try:
            if origin is not None:
                copy_from(spec, origin, target_dir)
            else:
                with Progress(transient=True, console=console) as bar:
                    download(spec, target_dir, os.environ, _reporter(bar))
        except (InstallError, OSError) as exc:
            raise fail(f"{spec.key}: {exc}") from None
        console.print(
            f"[green]{'copied' if origin else 'downloaded'}[/green] {spec.key}: "
            f"{escape(str(origin or spec.remote.urls(os.environ)[0][0]))} -> {escape(str(target))}"
        )
        _quantize(spec, target_dir, int8)
    if not found_any:
        raise fail(f"no model found in {source}; expected folders like {', '.join(s.folder for s in MODELS)}")


def _quantize(spec: ModelSpec, target_dir: Path, int8: bool) -> None:
    if not int8 or spec is not EMBEDDING or (target_dir / spec.folder / INT8_NOTE).is_file():
        return
    try:
        quantize_installed(spec, target_dir)
    except (InstallError, OSError) as exc:
        raise fail(f"{spec.key}: {exc}") from None
    console.print(f"[green]quantized[/green] {spec.key} to int8: {escape(str(target_dir / spec.folder))}")


def _reporter(bar: Progress) -> Callable[[str, int | None, int], None]:
    tasks: dict[str, TaskID] = {}

    def report(name: str, total: int | None, received: int) -> None:
        if name not in tasks:
            tasks[name] = bar.add_task(name, total=total)
        bar.advance(tasks[name], received)

    return report

"""`helix models list|pull`: which models Helix finds where, and putting them in its model folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from helix.commands.common import ConfigOption, console, fail, settings
from helix.models import MODELS, ModelSpec, locate_all, models_dir

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


def _candidate(spec: ModelSpec, source: Path) -> Path | None:
    """The folder under `source` holding `spec`: its usual name first, then any folder with its files."""
    if spec.complete(source / spec.folder):
        return source / spec.folder
    if spec.complete(source):
        return source
    others = sorted(p for p in source.iterdir() if p.is_dir()) if source.is_dir() else []
    return next((p for p in others if spec.complete(p)), None)


def _copy(source: Path, target: Path) -> None:
    """Copy a model folder in, atomically (a half-copied folder never looks complete), writable by its owner."""
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        shutil.copytree(source, partial, copy_function=shutil.copyfile)
        for folder, _, _ in os.walk(partial):
            Path(folder).chmod(0o755)  # copytree copies the source's (possibly read-only) folder modes
        if target.exists():
            shutil.rmtree(target)
        partial.rename(target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


@app.command()
def pull(
    source: Annotated[
        Path,
        typer.Option("--from", help="A folder holding the model folders (e.g. an unpacked release archive)."),
    ],
    force: Annotated[bool, typer.Option(help="Replace models already in Helix's model folder.")] = False,
) -> None:
    """Copy the models into Helix's model folder (~/.local/share/helix/models), where `helix serve` finds them."""
    source = source.expanduser()
    if not source.is_dir():
        raise fail(f"--from {source}: not a folder")
    target_dir = models_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    found_any = False
    for spec in MODELS:
        target = target_dir / spec.folder
        found = _candidate(spec, source)
        if found is None:
            console.print(f"[yellow]skip[/yellow] {spec.key}: no {spec.title} folder in {escape(str(source))}")
            continue
        found_any = True
        if spec.complete(target) and not force:
            console.print(f"[green]have[/green] {spec.key}: {escape(str(target))} (--force replaces it)")
            continue
        _copy(found, target)
        console.print(f"[green]copied[/green] {spec.key}: {escape(str(found))} -> {escape(str(target))}")
    if not found_any:
        raise fail(f"no model found in {source}; expected folders like {', '.join(s.folder for s in MODELS)}")

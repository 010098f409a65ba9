"""`helix cache stats | clear | search`: the response cache in the SQLite file, with or without a server."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from helix.cache import entries
from helix.cache.embedder import Embedder, EmbedderUnavailable
from helix.cache.judge import JudgeUnavailable, judge_for
from helix.commands.common import (
    ROWS_SHOWN_AT_MOST,
    AsJson,
    ConfigOption,
    DbOption,
    console,
    duration,
    fail,
    open_db,
    print_json,
    settings,
)
from helix.commands.common import since as window_start
from helix.format import money, size
from helix.models import resolve

app = typer.Typer(help="Inspect and manage the response cache.", no_args_is_help=True)


@app.command()
def stats(
    since: Annotated[
        str, typer.Option(metavar="DURATION", help="Window for hit rates and savings, like 24h or 7d.")
    ] = "7d",
    as_json: AsJson = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Entries, size, hit rates (exact and semantic) and dollars saved."""
    cfg = settings(config, db)
    start = window_start(since)
    with open_db(cfg, existing=db is not None) as conn:
        numbers = entries.stats(conn, start)
    location = cfg.db_path()
    # A shared PostgreSQL database holds more than this Helix's cache: its size says nothing here.
    file_bytes = sum(os.path.getsize(p) for p in _db_files(location)) if isinstance(location, Path) else None
    if as_json:
        bounds = {"max_entries": cfg.cache.max_entries, "max_mb": cfg.cache.max_mb, "ttl": cfg.cache.ttl}
        print_json({"since": since, **numbers, "database_bytes": file_bytes, "bounds": bounds})
        return
    requests = numbers["requests"] or 0
    looked_up = requests - numbers["bypassed"] - numbers["rejected"]

    def rate(count: int) -> str:
        return f"{count:,} ({count / looked_up:.1%})" if looked_up else f"{count:,}"

    table = Table(title="Response cache", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("entries", f"{numbers['entries']:,} ({numbers['semantic_entries']:,} with embeddings)")
    table.add_row("size of entries", size(numbers["bytes"]))
    if file_bytes is not None:
        table.add_row("database file", size(file_bytes))
    table.add_row("bounds", f"{cfg.cache.max_entries:,} entries, {cfg.cache.max_mb:,.0f} MB, ttl {cfg.cache.ttl}")
    table.add_section()
    table.add_row(f"chat requests, last {since}", f"{requests:,}")
    table.add_row("exact hits", rate(numbers["exact_hits"]))
    table.add_row("semantic hits", rate(numbers["semantic_hits"]))
    table.add_row("misses", rate(numbers["misses"]))
    table.add_row("bypassed", f"{numbers['bypassed']:,}")
    table.add_row("refused before the cache", f"{numbers['rejected']:,}")
    table.add_row("saved", money(numbers["saved_usd"]))
    console.print(table)


def _db_files(path: os.PathLike[str]) -> list[str]:
    base = os.fspath(path)
    return [p for p in (base, base + "-wal", base + "-shm") if os.path.exists(p)]


@app.command()
def clear(
    model: Annotated[
        str | None,
        typer.Option(help="Only entries of this model (provider/model or model), or of an alias's deployments."),
    ] = None,
    older_than: Annotated[
        str | None, typer.Option(metavar="DURATION", help="Only entries created longer ago than this, like 7d.")
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Delete cache entries; a running server stops serving them within a second."""
    cutoff = time.time() - duration(older_than, "--older-than") if older_than else None
    cfg = settings(config, db)
    with open_db(cfg, existing=db is not None) as conn:
        names: list[str | None] = [*cfg.stored_as(model)] if model else [None]
        deleted = sum(entries.clear(conn, name, cutoff) for name in names)
    console.print(f"deleted {deleted:,} cache entr{'y' if deleted == 1 else 'ies'}")


@app.command()
def search(
    text: Annotated[str, typer.Argument(help="A prompt to look for.")],
    limit: Annotated[
        int, typer.Option("-n", metavar="N", min=1, max=ROWS_SHOWN_AT_MOST, help="How many entries to show.")
    ] = 10,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """The stored prompts nearest to TEXT: similarity, the judge's score, and what (if anything) vetoed each."""
    cfg = resolve(settings(config, db))
    embedder = Embedder(cfg.cache.embedding_model, cfg.cache.embedding_model_path)
    try:
        vector = embedder.embed_one(text)
    except EmbedderUnavailable as exc:
        raise fail(str(exc)) from None
    with open_db(cfg, existing=db is not None) as conn:
        rows = entries.nearest_by_text(conn, vector.tobytes(), limit)
    if not rows:
        console.print("the cache holds no entries with embeddings")
        return
    judge = judge_for(cfg.cache)
    # every row gets a verdict here (floor 0), so the table shows scores even below the floor, and both orders
    # are scored, so a refused row shows the exact lower score (serving reads the second order only when needed)
    try:
        candidates = [(row["prompt"], row["similarity"]) for row in rows]
        verdicts = judge.verify(text, candidates, 0.0, both_orders=True, origins=[row["origin"] for row in rows])
    except JudgeUnavailable as exc:
        raise fail(str(exc)) from None
    close = f", {judge.close.threshold} from similarity {judge.close.similarity}" if judge.close else ""
    title = f"Nearest to {text!r} (floor {cfg.cache.threshold}, judge {cfg.cache.judge_threshold}{close})"
    table = Table(title=title, header_style="bold")
    for name in ("similarity", "judge", "would hit", "model", "prompt", "hits", "id"):
        table.add_column(name, justify="right" if name in ("similarity", "judge", "hits", "id") else "left")
    for row, verdict in zip(rows, verdicts, strict=True):
        if row["similarity"] < cfg.cache.threshold:
            would = f"[red]no[/red] (similarity below {cfg.cache.threshold:g})"
        else:
            would = "[green]yes[/green]" if verdict.accepted else f"[red]no[/red] ({verdict.reason})"
        score = "-" if verdict.score is None else f"{verdict.score:.3f}"
        table.add_row(
            f"{row['similarity']:.3f}",
            score,
            would,
            row["model"],
            row["prompt"][:80] + (f"\n[dim]kept for: {row['origin'][:70]}[/dim]" if row["origin"] else ""),
            str(row["hits"]),
            str(row["id"]),
        )
    console.print(table)
    console.print("[dim]a hit also needs the same model, parameters, preceding messages and scope[/dim]")

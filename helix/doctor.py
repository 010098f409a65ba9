"""`helix doctor`: what works, what does not, and what to do about it."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from helix.cache.embedder import Embedder, EmbedderUnavailable
from helix.config import Config
from helix.dburl import describe, is_shared
from helix.models import Found, locate_all, resolve
from helix.pii.analyzer import PiiEngine
from helix.pii.config import NAMES_HINT
from helix.providers.http import make_client
from helix.providers.registry import PRESETS, Registry
from helix.runtime import go_offline_unless_reachable
from helix.store import queries
from helix.store.db import Connection, connect
from helix.store.migrations import applied, migrations

Level = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    name: str
    level: Level
    detail: str


def run_checks(config: Config, env: dict[str, str], source: Path | None, *, db_given: bool = False) -> Iterator[Check]:
    """`db_given`: the database was named on the command line (--db), so one not there is a mistake."""
    yield Check("config", "ok", f"{source} (valid)" if source else "no helix.toml: built-in defaults and environment")
    yield from _database(config, db_given)
    yield from _providers(config, env)
    found = locate_all(config, env)
    yield from _models(found)
    resolved = resolve(config, env)
    yield from _cache(resolved, found[0])
    yield from _pii(resolved)


def _models(found: list[Found]) -> Iterator[Check]:
    for model in found:
        level: Level = "ok" if model.location or not model.used else "warn"
        unused = "" if model.used else " (not used by this config)"
        yield Check(f"model {model.spec.key}", level, f"{model.spec.title}: {model.describe()}{unused}")


def _cache(config: Config, embedding: Found) -> Iterator[Check]:
    settings = config.cache
    if not settings.enabled:
        yield Check("cache", "warn", "disabled ([cache] enabled = false)")
        return
    if not settings.semantic:
        yield Check("cache", "ok", "exact only ([cache] semantic = false)")
        return
    if embedding.location is None:
        go_offline_unless_reachable()
    embedder = Embedder(settings.embedding_model, settings.embedding_model_path, threads=1)
    try:
        started = time.perf_counter()
        embedder.embed_one("doctor")
    except EmbedderUnavailable as exc:
        yield Check("cache", "warn", f"exact only: {exc}")
        return
    where = f"{embedding.location} ({embedding.source})" if embedding.location else "the Hugging Face cache"
    yield Check(
        "cache",
        "ok",
        f"exact + semantic ({settings.embedding_model} from {where}, "
        f"loaded in {time.perf_counter() - started:.1f} s, threshold {settings.threshold})",
    )


def _pii(config: Config) -> Iterator[Check]:
    if not config.pii.enabled:
        yield Check("pii", "warn", "disabled: prompts reach providers unredacted ([pii] enabled = false)")
        return
    try:
        engine = PiiEngine(config.pii)
    except Exception as exc:
        yield Check("pii", "fail", f"cannot build the PII engine: {exc}")
        return
    screen = "Hyperscan prescreen" if engine.screened else "no Hyperscan prescreen (it did not import): slower"
    if engine.skipped:
        yield Check(
            "pii",
            "warn",
            f"{engine.mode}, {screen}: {', '.join(engine.skipped)} NOT detected, so names and places reach providers "
            f"({NAMES_HINT})",
        )
    else:
        yield Check("pii", "ok", f"{engine.mode}, {screen}")


def _database(config: Config, db_given: bool) -> Iterator[Check]:
    location = config.db_path()
    if isinstance(location, Path) and not location.exists():  # looked at, not created: a doctor changes nothing
        if db_given:
            yield Check("database", "fail", f"no Helix database at {location}: check --db")
        else:
            yield Check("database", "ok", f"{location}, not created yet: `helix serve` creates it")
        with tempfile.TemporaryDirectory() as folder, closing(connect(Path(folder) / "probe.db")) as probe:
            yield _sqlite_vec(probe)
        return
    shared = is_shared(location)
    try:
        conn = connect(location)
    except Exception as exc:
        yield Check("database", "fail", f"{describe(location)}: {exc}")
        return
    done = applied(conn)
    kind = "PostgreSQL, shared by every instance using it" if shared else "WAL"
    total = len(migrations(shared))
    yield Check("database", "ok", f"{describe(location)} ({len(done)}/{total} migrations applied, {kind})")
    try:
        if not shared:  # the semantic cache's SQLite extension; PostgreSQL needs none
            yield _sqlite_vec(conn)
        yield _writes(conn)
    finally:
        conn.close()


def _sqlite_vec(conn: Connection) -> Check:
    try:
        (version,) = conn.execute("select vec_version()").fetchone()
        return Check("sqlite-vec", "ok", f"{version} loaded")
    except Exception as exc:
        return Check("sqlite-vec", "fail", f"not usable: {exc}")


def _writes(conn: Connection) -> Check:
    failures = queries.write_failures().rows(conn)
    if not failures:
        return Check("writes", "ok", "no row ever failed to be written")
    lost = ", ".join(f"{f['rows']} {f['target']}" for f in failures)
    last = max(failures, key=lambda f: f["last_ts"])
    spend = (
        " (request-log rows carry spend: budgets undercount it)"
        if any(f["target"] == "requests" for f in failures)
        else ""
    )
    return Check("writes", "warn", f"rows not written: {lost}{spend}; last error: {last['last_error']}")


def _providers(config: Config, env: dict[str, str]) -> Iterator[Check]:
    try:
        registry = Registry(config, make_client(config.upstream), env)
    except ValueError as exc:
        yield Check("providers", "fail", str(exc))
        return
    usable = [p.name for p in registry.usable()]
    missing = [name for name in PRESETS if name not in usable]
    level: Level = "ok" if [n for n in usable if n != "ollama"] else "warn"
    detail = f"usable: {', '.join(usable) or 'none'}"
    if missing:
        detail += f"; no key for {', '.join(missing)} (set e.g. {PRESETS[missing[0]].key_env})"
    yield Check("providers", level, detail)
    default = registry.default
    yield Check(
        "routing",
        "ok" if default in usable else "warn",
        f"bare model names go to '{default}'" + ("" if default in usable else " (which has no key)"),
    )

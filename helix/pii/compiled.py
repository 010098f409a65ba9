"""Hyperscan databases compiled once a machine, not once a process: kept in Helix's cache dir (`runtime.cache_dir()`).

Compiling the prescreen's patterns is most of a PII engine's start-up (~1 s); loading a database compiled before takes
about a millisecond. Each is stored under a digest of everything that makes it: the patterns and flags, the Hyperscan
release, and this Python's Unicode tables (from which the prescreen's class of characters Hyperscan reads otherwise is
computed). A changed pattern or an upgrade compiles anew; a file Hyperscan refuses to load (cut short, or written on
another CPU) is compiled again and replaced; a cache dir that cannot be written costs only the compile. The newest
`KEPT_FILES` are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import time
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from helix.runtime import cache_dir

log = logging.getLogger("helix.pii")

KEPT_FILES = 16
_LEFT_AFTER_SECONDS = 3600
_FORMAT = "helix-hyperscan-1"
_SUFFIX = ".hsdb"


def load_or_compile(hyperscan: Any, parts: Sequence[str], flags: int, compile: Callable[[], Any]) -> Any:
    """The block-mode database `compile()` builds from what `parts` name (its patterns in order, or stand-ins for them
    that the Hyperscan release and the Unicode tables determine), from the cache when compiled before."""
    folder = cache_dir() / "hyperscan"
    path = folder / (_digest(hyperscan.__version__, parts, flags) + _SUFFIX)
    try:
        database = hyperscan.loadb(path.read_bytes(), hyperscan.HS_MODE_BLOCK)
    except FileNotFoundError:
        pass
    except (OSError, hyperscan.error) as exc:
        log.info("pii: the compiled prescreen at %s does not load (%s); compiling it again", path, exc)
    else:
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: kept
        return database
    database = compile()
    try:
        _store(folder, path, hyperscan.dumpb(database))
    except OSError as exc:
        log.info("pii: the compiled prescreen could not be kept in %s (%s)", folder, exc)
    return database


def _digest(release: str, parts: Sequence[str], flags: int) -> str:
    key = hashlib.sha256()
    for part in (_FORMAT, release, unicodedata.unidata_version, str(flags), *parts):
        key.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return key.hexdigest()


def _store(folder: Path, path: Path, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)  # whole or not at all, for another process loading it meanwhile
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    stored = sorted(folder.glob("*" + _SUFFIX), key=_modified, reverse=True)
    for old in stored[KEPT_FILES:]:
        old.unlink(missing_ok=True)
    for left in folder.glob("*.tmp"):  # a process stopped between writing and renaming (one writing now is younger)
        if time.time() - _modified(left) > _LEFT_AFTER_SECONDS:
            left.unlink(missing_ok=True)


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed by another process meanwhile
        return 0.0

"""Make sqlite-vec available on every SQLite connection of this process.

Python builds whose `sqlite3` lacks `enable_load_extension` (pyenv's, macOS's system Python) cannot
load extensions per connection. SQLite's own `sqlite3_auto_extension` still works: we hand it
`sqlite3_vec_init` from sqlite-vec's shared library through ctypes, and SQLite runs it on every
connection opened afterwards, in any thread (the writer's among them). The shared library
is found through the `sqlite_vec` package, which PyInstaller bundles next to the code.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sqlite3
import sys
import threading
from pathlib import Path

import sqlite_vec

_lock = threading.Lock()
_loaded = False


class VecUnavailable(RuntimeError):
    pass


def _sqlite_library() -> ctypes.CDLL:
    """The SQLite library the stdlib `sqlite3` module is linked against."""
    import _sqlite3

    candidates: list[str | None] = [_sqlite3.__file__]
    if sys.platform == "win32":
        candidates.append("sqlite3.dll")
    candidates.append(ctypes.util.find_library("sqlite3"))
    for candidate in candidates:
        if not candidate:
            continue
        try:
            library = ctypes.CDLL(candidate)
            library.sqlite3_auto_extension  # noqa: B018 - raises AttributeError if not exported
            return library
        except (OSError, AttributeError):
            continue
    raise VecUnavailable("cannot find the SQLite library behind Python's sqlite3 module")


def _vec_library_path() -> str:
    base = Path(sqlite_vec.loadable_path())
    for suffix in (".so", ".dylib", ".dll", ""):
        candidate = base.with_name(base.name + suffix)
        if candidate.is_file():
            return str(candidate)
    raise VecUnavailable(f"sqlite-vec's library is missing (looked for {base}.so/.dylib/.dll)")


def ensure_vec_loaded() -> None:
    """Register sqlite-vec with SQLite once per process; connections opened later get it."""
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        vec = ctypes.CDLL(_vec_library_path())
        library = _sqlite_library()
        library.sqlite3_auto_extension.argtypes = [ctypes.c_void_p]
        library.sqlite3_auto_extension.restype = ctypes.c_int
        rc = library.sqlite3_auto_extension(ctypes.cast(vec.sqlite3_vec_init, ctypes.c_void_p))
        if rc != 0:
            raise VecUnavailable(f"sqlite3_auto_extension failed with code {rc}")
        probe = sqlite3.connect(":memory:")
        try:
            probe.execute("select vec_version()")
        except sqlite3.OperationalError as exc:
            raise VecUnavailable(f"sqlite-vec registered but not usable: {exc}") from None
        finally:
            probe.close()
        # Keep the library mapped for the life of the process.
        globals()["_vec_handle"] = vec
        _loaded = True

"""Process-wide settings for the libraries Helix loads: where they may write, and whether they may go online.

`contain()` runs first thing in the `helix` command, before onnxruntime or fastembed is imported:
- onnxruntime's telemetry (on Linux it writes ~/.cache/Microsoft/DeveloperTools/.onnxruntime/) is off;
- fastembed's cache (by default $TMPDIR/fastembed_cache, created even when a model path is given)
  lives in Helix's cache dir.
A variable the user set already is left as it is.

`go_offline_unless_reachable()` makes a missing model fail in milliseconds instead of after the
Hugging Face hub client's ~40 s of retries: HF_HUB_OFFLINE is honoured as is, otherwise one short
connection probe decides, and an unreachable hub sets HF_HUB_OFFLINE=1 for the rest of the process.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

HUB_URL = "https://huggingface.co"
_PR_SET_PDEATHSIG = 1
PROBE_SECONDS = 1.5
_TRUE = frozenset({"1", "TRUE", "YES", "ON"})


def cache_dir() -> Path:
    """Helix's cache dir: $HELIX_HOME/cache when HELIX_HOME is set, else the platform's (~/.cache/helix)."""
    home = os.environ.get("HELIX_HOME")
    if home:
        return Path(home).expanduser() / "cache"
    return Path(platformdirs.user_cache_dir("helix", appauthor=False))


def contain() -> None:
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("FASTEMBED_CACHE_PATH", str(cache_dir() / "fastembed"))
    # Presidio's email/URL recognizers would otherwise fetch the public suffix list from GitHub.
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")


def tie_to_launcher() -> None:
    """In a one-file binary, Python runs in a child of the bootloader that unpacked it to a temporary
    folder, and only the bootloader deletes that folder. If the bootloader is killed outright
    (SIGKILL), this process gets SIGINT (a clean shutdown, as on Ctrl-C) and deletes the folder itself
    on the way out. Linux only; a no-op anywhere else and outside a one-file binary."""
    bundle = getattr(sys, "_MEIPASS", None)
    # One-file builds unpack to $TMPDIR/_MEIxxxxxx; a one-folder build's files sit in <folder>/_internal,
    # which must never be deleted.
    if not sys.platform.startswith("linux") or bundle is None or not Path(bundle).name.startswith("_MEI"):
        return
    launcher = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGINT, 0, 0, 0)

    def remove_bundle() -> None:
        if os.getppid() != launcher:
            shutil.rmtree(bundle, ignore_errors=True)

    atexit.register(remove_bundle)
    if os.getppid() != launcher:  # the launcher died before prctl took effect
        os.kill(os.getpid(), signal.SIGINT)


def release_memory() -> None:
    """Return the C heap's freed pages to the system (glibc's malloc_trim); elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):  # not glibc: musl has no malloc_trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def offline_by_env() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in _TRUE


def hub_reachable(timeout: float = PROBE_SECONDS) -> bool:
    """One TCP connection to the hub (HF_ENDPOINT if set), bounded by `timeout`; never retried."""
    if offline_by_env():
        return False
    parts = urlsplit(os.environ.get("HF_ENDPOINT") or HUB_URL)
    address = (parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection(address, timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    # The name lookup is not bound by the socket's timeout (a dead resolver takes 5 s per try):
    # probe in a daemon thread and stop waiting for it after `timeout`.
    thread = threading.Thread(target=probe, name="helix-hub-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def go_offline_unless_reachable() -> bool:
    """True when downloads may be tried; otherwise HF_HUB_OFFLINE=1 is set so loaders fail fast."""
    if hub_reachable():
        return True
    os.environ["HF_HUB_OFFLINE"] = "1"
    return False

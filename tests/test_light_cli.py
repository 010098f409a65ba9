"""`helix serve` opens its port before the heavy libraries load (helix/startup.py), so importing the CLI
must not pull them in: one stray module-level import made `/health` a second later."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("presidio_analyzer", "spacy", "litestar", "nicegui", "onnxruntime", "fastembed")


def test_importing_the_cli_loads_no_engine() -> None:
    probe = f"import sys, helix.cli; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert loaded.stdout.split() == []

"""The PyInstaller binary as released: build it (one folder with both models inside, packed as a tar.gz)
unless dist/helix-onedir/helix is newer than every source, then smoke-test it under an empty HOME.

Slow (a build takes minutes on 2 cores): runs only with `pytest --run-slow tests/test_binary.py`.
The smoke test itself is packaging/smoke.py; see docs/packaging.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BINARY = REPO / "dist" / "helix-onedir" / "helix"
BUILD_TIMEOUT = 1800
SMOKE_TIMEOUT = 600


def _sources() -> list[Path]:
    files = [REPO / "pyproject.toml", REPO / "helix.example.toml", *REPO.joinpath("packaging").rglob("*")]
    files += [p for p in REPO.joinpath("helix").rglob("*") if p.suffix in (".py", ".toml", ".css", ".js")]
    return [p for p in files if p.is_file() and p.name != "smoke.py" and "__pycache__" not in p.parts]


def _binary_is_fresh() -> bool:
    if not os.access(BINARY, os.X_OK):
        return False
    built = BINARY.stat().st_mtime
    return all(p.stat().st_mtime <= built for p in _sources())


def _run(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    # The build uses the Python running the tests (its environment holds Helix's dependencies).
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT + SMOKE_TIMEOUT + 60)
def test_single_binary_builds_and_passes_the_smoke_test() -> None:
    if not _binary_is_fresh():
        started = time.time()
        build = _run(["bash", str(REPO / "packaging" / "build.sh"), "--onedir"], BUILD_TIMEOUT)
        assert build.returncode == 0, f"packaging/build.sh failed:\n{build.stdout[-4000:]}\n{build.stderr[-4000:]}"
        # Not _binary_is_fresh(): a source edited during the build would fail this for no fault of the build.
        assert os.access(BINARY, os.X_OK) and BINARY.stat().st_mtime >= started, "no new dist/helix-onedir"
    smoke = _run([sys.executable, str(REPO / "packaging" / "smoke.py"), str(BINARY)], SMOKE_TIMEOUT)
    assert smoke.returncode == 0, f"packaging/smoke.py failed:\n{smoke.stdout}\n{smoke.stderr}"
    assert "PASS" in smoke.stdout

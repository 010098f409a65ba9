#!/usr/bin/env python3
"""Check the pip/pipx install: build the wheel, install it into a clean virtualenv, smoke-test that `helix`.

    python packaging/wheel_check.py [--models ../shared/models] [--keep]

1. `pip wheel --no-deps .` builds dist/helix_gateway-<version>-py3-none-any.whl from this checkout
   (every file inside the helix package comes along: the config template, model files...);
2. a new virtualenv (no system site-packages) gets that wheel with `pip install`, its dependencies
   from the package index (or pip's cache);
3. packaging/smoke.py runs the installed `helix` as a user would after `helix models pull --from
   MODELS`: --version, doctor, serve in front of the fake upstream with a request, a cache hit, a
   semantic hit, PII redaction, the dashboard, logs (see smoke.py).
Exit status 0 when all of it passes. Standard library only. `.ci/run` runs it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODELS = Path(os.environ.get("HELIX_SHARED_MODELS", REPO.parent / "shared" / "models"))


def step(title: str, argv: list[str], **kwargs: object) -> None:
    started = time.perf_counter()
    print(f"==> {title}", flush=True)
    subprocess.run(argv, check=True, **kwargs)  # type: ignore[call-overload]
    print(f"    done in {time.perf_counter() - started:.0f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=str(DEFAULT_MODELS), help="folder holding the two offline models")
    parser.add_argument("--keep", action="store_true", help="keep the temporary virtualenv")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="helix-wheel-"))
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    try:
        dist = REPO / "dist"
        for old in dist.glob("helix_gateway-*.whl"):
            old.unlink()
        step("build the wheel", [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(REPO), "-w", str(dist)])
        wheel = next(dist.glob("helix_gateway-*.whl"))
        print(f"    {wheel.relative_to(REPO)} ({wheel.stat().st_size / 1e3:.0f} KB)")
        venv = work / "venv"
        step("a clean virtualenv", [sys.executable, "-m", "venv", str(venv)])
        step(f"pip install {wheel.name}", [str(venv / "bin" / "pip"), "install", "-q", str(wheel)], env=env)
        # Run from outside the checkout, so nothing is imported from the source tree by accident.
        smoke = [sys.executable, str(REPO / "packaging" / "smoke.py"), str(venv / "bin" / "helix")]
        step("smoke-test the installed helix", [*smoke, "--models-from", "pull", "--models", args.models], cwd=work)
    except subprocess.CalledProcessError as exc:
        print(f"FAIL  {' '.join(map(str, exc.cmd))} exited {exc.returncode}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("PASS: the wheel installs into a clean virtualenv and works")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`helix serve` as a real process for tests that need one (kill -9, the HTTP protocol's caps)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import wait_until_healthy
from tests.test_cli import free_port


@contextmanager
def helix_process(tmp_path: Path, upstream_url: str, toml: str = "") -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`helix serve` (PII and dashboard off, to start fast) on a free port; killed by its PID on exit if alive."""
    config = tmp_path / "helix.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "helix.db"}"\n[pii]\nenabled = false\n{toml}')
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELIX_", "OPENAI_", "ANTHROPIC_"))}
    env.update(
        HELIX_HOME=str(tmp_path / "home"),
        HELIX_PROVIDERS__OPENAI__BASE_URL=f"{upstream_url}/v1",
        HELIX_DASHBOARD__ENABLED="false",
        OPENAI_API_KEY="sk-test",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "helix", "serve", "--port", str(port), "--config", str(config)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        yield url, process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=20)

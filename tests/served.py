"""`helix serve` as a real process for tests that need one (kill -9, the HTTP protocol's caps, several
instances on one PostgreSQL database)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import isolated_env, serve_process, wait_until_healthy
from tests.test_cli import free_port


@contextmanager
def helix_process(
    tmp_path: Path, upstream_url: str, toml: str = "", *, storage: str | None = None, graceful: bool = False
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`helix serve` (PII and dashboard off, to start fast) on a free port, storing in `storage` (a database
    URL; by default a SQLite file in `tmp_path`). On exit, if still alive, it is stopped by its PID: as an
    operator would (SIGTERM, requests drained) when `graceful`, else killed."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "helix.toml"
    where = f'url = "{storage}"' if storage is not None else f'path = "{tmp_path / "helix.db"}"'
    config.write_text(f"[storage]\n{where}\n[pii]\nenabled = false\n{toml}")
    port = free_port()
    env = isolated_env(tmp_path / "home", upstream_url, HELIX_DASHBOARD__ENABLED="false")
    process = serve_process(env, tmp_path, port, "--config", str(config))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        yield url, process
    finally:
        if process.poll() is None:
            if graceful:
                process.terminate()
            else:
                process.kill()
        output, _ = process.communicate(timeout=30)
        print(f"--- helix serve on port {port}, its last output:\n{(output or '')[-4000:]}")  # shown when a test fails

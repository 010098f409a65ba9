"""Shared fixtures: a fake upstream on 127.0.0.1 and a real Helix server in front of it.

Nothing here reaches the internet: models load from ../shared/models with HF_HUB_OFFLINE=1, and
every server binds 127.0.0.1 and is stopped at the end of its scope.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""

from helix.app import create_app, served
from helix.config import load_config
from helix.dburl import Location, PostgresUrl
from helix.gateway import Gateway
from tests import postgres
from tests.fake_upstream import FakeState, FakeUpstream, ServerThread

REPO = Path(__file__).resolve().parents[1]
SHARED_MODELS = Path(os.environ.get("HELIX_SHARED_MODELS", REPO.parent / "shared" / "models"))
EMBEDDING_MODEL = SHARED_MODELS / "all-MiniLM-L6-v2-onnx"
SPACY_MODEL = SHARED_MODELS / "spacy-en_core_web_sm-3.8.0"
# A test that needs a model fails when it is missing, so a run without the models cannot pass unnoticed;
# HELIX_SKIP_MODEL_TESTS=1 skips those tests instead, on a machine that has no copy of the models.
SKIP_MODEL_TESTS = os.environ.get("HELIX_SKIP_MODEL_TESTS") == "1"


def require_model(path: Path) -> Path:
    """`path`, a model folder this test needs: fail (or skip, with HELIX_SKIP_MODEL_TESTS=1) when missing."""
    if not path.is_dir():
        message = (
            f"model folder {path} is missing: set HELIX_SHARED_MODELS to the folder holding the models, "
            "or HELIX_SKIP_MODEL_TESTS=1 to skip the tests that need one"
        )
        if SKIP_MODEL_TESTS:
            pytest.skip(message)
        pytest.fail(message)
    return path


@pytest.fixture
def pg_url() -> Iterator[PostgresUrl]:
    """A fresh PostgreSQL schema for this test (tests/postgres.py)."""
    with postgres.schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Location]:
    """Each storage test runs on both backends: a SQLite file, and a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield tmp_path / "helix.db"
        return
    with postgres.schema() as url:
        yield url


@pytest.fixture(scope="session")
def embedding_model() -> Path:
    return require_model(EMBEDDING_MODEL)


@pytest.fixture(scope="session")
def spacy_model() -> Path:
    return require_model(SPACY_MODEL)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")
    parser.addoption(
        "--screenshots", metavar="DIR", default=None, help="save the browser tests' dashboard screenshots in DIR"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def upstream() -> Iterator[tuple[ServerThread, FakeState]]:
    state = FakeState()
    server = ServerThread(FakeUpstream(state)).start()
    yield server, state
    server.stop()


@pytest.fixture
def fake(upstream: tuple[ServerThread, FakeState]) -> FakeState:
    """The fake upstream's record of requests, emptied for each test."""
    upstream[1].requests.clear()
    return upstream[1]


@dataclass
class Helix:
    server: ServerThread
    gateway: Gateway
    db_path: Path

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, api_key: str = "anything", **kwargs: Any) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=api_key, max_retries=0, timeout=30, **kwargs)

    def flush(self) -> None:
        self.server.run(self.gateway.writer.flush())

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        self.flush()
        conn = sqlite3.connect(self.db_path)
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()


def start_helix(tmp_path: Path, upstream_url: str, toml: str = "", env: dict[str, str] | None = None) -> Helix:
    config_file = tmp_path / "helix.toml"
    config_file.write_text(
        f"""
[storage]
path = "{tmp_path / "helix.db"}"

[upstream]
read_timeout = 2.0
connect_timeout = 2.0

[dashboard]
# NiceGUI allows one dashboard per process: tests/test_dashboard.py runs `helix serve` processes instead.
enabled = false

[providers.openai]
base_url = "{upstream_url}/v1"
api_key = "sk-test"

[providers.anthropic]
base_url = "{upstream_url}"
api_key = "sk-ant-test"

[cache]
# The semantic cache loads an embedding model (~0.3 s, ~200 MB): only the tests that need it turn it on,
# with HELIX_CACHE__SEMANTIC=true in the environment they pass.
semantic = false
embedding_model_path = "{EMBEDDING_MODEL}"
{toml}
"""
    )
    config = load_config(config_file, env=env or {})
    app = create_app(config, env=env or {})
    server = ServerThread(served(app)).start()
    return Helix(server=server, gateway=app.state.gateway, db_path=config.db_path())


@pytest.fixture
def helix(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> Iterator[Helix]:
    instance = start_helix(tmp_path, upstream[0].url)
    yield instance
    instance.server.stop()


def add_key(instance: Helix, name: str, **spec: Any) -> str:
    """Create a virtual key in `instance`'s database (as the CLI would) and have the server load it now."""
    from helix.store import keys as key_store
    from helix.store.db import connect
    from helix.virtual_keys import KeySpec

    conn = connect(instance.db_path)
    try:
        _, secret = key_store.create(conn, name, KeySpec(**spec))
    finally:
        conn.close()
    instance.server.run(instance.gateway.keys.reload())
    return secret


def start_semantic(tmp_path: Path, upstream_url: str, env: dict[str, str] | None = None) -> Helix:
    """A Helix with the semantic cache on, returned once its embedding model and index are loaded."""
    require_model(EMBEDDING_MODEL)
    instance = start_helix(tmp_path, upstream_url, env={"HELIX_CACHE__SEMANTIC": "true", **(env or {})})
    deadline = time.monotonic() + 60
    while not instance.gateway.cache or not instance.gateway.cache.semantic_ready:
        if time.monotonic() > deadline:
            instance.server.stop()
            raise AssertionError("the embedding model did not load")
        time.sleep(0.05)
    return instance


def isolated_env(home: Path, upstream_url: str, **extra: str) -> dict[str, str]:
    """The environment of a `helix serve` subprocess: none of this shell's Helix or provider settings, its
    state under `home`, and the fake upstream as OpenAI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELIX_", "OPENAI_", "ANTHROPIC_"))}
    env.update(HELIX_HOME=str(home), HELIX_PROVIDERS__OPENAI__BASE_URL=f"{upstream_url}/v1", OPENAI_API_KEY="sk-test")
    env.update(extra)
    return env


def serve_process(
    env: dict[str, str], cwd: Path, port: int, *args: str, own_group: bool = False
) -> subprocess.Popen[str]:
    """`helix serve --port PORT [ARGS]` as a subprocess from `cwd`, its output (stdout and stderr) readable as text
    (leading a process group of its own with `own_group`, as a shell's foreground job does)."""
    return subprocess.Popen(
        [sys.executable, "-m", "helix", "serve", "--port", str(port), *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        process_group=0 if own_group else None,
    )


def wait_until_healthy(url: str, process: subprocess.Popen[str], seconds: float = 60) -> None:
    """Wait until a `helix serve` subprocess has loaded everything (/health/ready no longer says
    "loading"; the port opens before the app is built); fail with its output if it dies first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health/ready", timeout=1).json().get("status") != "loading":
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
    raise AssertionError(f"{url} was not ready within {seconds} s")

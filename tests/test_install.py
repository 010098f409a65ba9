"""Installing and starting Helix as a new user would: --version, finding models, `helix models`, fast start.

Every `helix` here is a real subprocess with its own empty HOME and HELIX_HOME; the models come from
../shared/models through `helix models pull --from`, never from the network (HF_HUB_OFFLINE=1).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from helix import __version__
from helix import models as helix_models
from helix.config import load_config
from helix.models import EMBEDDING, SPACY, locate, resolve
from tests.conftest import EMBEDDING_MODEL, SHARED_MODELS, SPACY_MODEL, serve_process
from tests.fake_upstream import FakeState, ServerThread, serve_lifespan
from tests.test_cli import free_port, helix_cmd


@pytest.fixture
def user_env(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> dict[str, str]:
    """A new user's environment: empty HOME and TMPDIR, no config, an OpenAI key for the fake upstream."""
    home = tmp_path / "user"
    (home / "tmp").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELIX_", "OPENAI_", "ANTHROPIC_", "XDG_"))}
    env.pop("ORT_DISABLE_TELEMETRY", None)
    env.pop("FASTEMBED_CACHE_PATH", None)
    env.update(
        HOME=str(home),
        TMPDIR=str(home / "tmp"),
        HF_HUB_OFFLINE="1",
        COLUMNS="200",
        HELIX_PROVIDERS__OPENAI__BASE_URL=f"{upstream[0].url}/v1",
        OPENAI_API_KEY="sk-test",
    )
    return env


def test_version_flags(user_env: dict[str, str]) -> None:
    for flag in ("--version", "-V"):
        result = helix_cmd(flag, env=user_env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == __version__


def test_models_pull_from_a_folder_then_list(user_env: dict[str, str], tmp_path: Path) -> None:
    listed = helix_cmd("models", "list", env=user_env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("missing") == 2

    empty = tmp_path / "empty"
    empty.mkdir()
    refused = helix_cmd("models", "pull", "--from", str(empty), env=user_env)
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"error: no model found in {empty}")

    pulled = helix_cmd("models", "pull", "--from", str(SHARED_MODELS), env=user_env)
    assert pulled.returncode == 0, pulled.stderr
    target = Path(user_env["HOME"]) / ".local" / "share" / "helix" / "models"
    assert "copied embedding" in pulled.stdout and "copied spacy" in pulled.stdout
    assert (target / EMBEDDING.folder / "model.onnx").stat().st_size > 80_000_000
    assert (target / SPACY.folder / "LICENSE").is_file() and (target / EMBEDDING.folder / "LICENSE").is_file()
    assert not list(target.glob(".*partial*"))

    again = helix_cmd("models", "pull", "--from", str(SHARED_MODELS), env=user_env)
    assert again.stdout.count("have ") == 2

    listed = helix_cmd("models", "list", env=user_env)
    assert listed.stdout.count("data dir") == 2 and "missing" not in listed.stdout
    doctor = helix_cmd("doctor", env=user_env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "OK  model embedding" in doctor.stdout and "(data dir)" in doctor.stdout
    assert "exact + semantic" in doctor.stdout and "ner (" in doctor.stdout


class ModelMirror:
    """Serves the shared model folders the way `helix models pull` downloads them: the embedding model's
    files at the hub's /<repo>/resolve/main/<file>, the spaCy model as a wheel at its release path."""

    def __init__(self, wheel: Path) -> None:
        self.files = {f"/{path}": EMBEDDING_MODEL / path.rsplit("/", 1)[-1] for path in EMBEDDING.remote.paths}
        self.files[f"/{SPACY.remote.paths[0]}"] = wheel
        self.requested: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        self.requested.append(scope["path"])
        file = self.files.get(scope["path"])
        body = file.read_bytes() if file else b"not found"
        headers = [(b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200 if file else 404, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _spacy_wheel(tmp_path: Path) -> Path:
    wheel = tmp_path / "en_core_web_sm-3.8.0-py3-none-any.whl"
    assert SPACY.remote.wheel_folder is not None
    with zipfile.ZipFile(wheel, "w") as archive:
        for path in SPACY_MODEL.rglob("*"):
            if path.is_file():
                archive.write(path, SPACY.remote.wheel_folder + str(path.relative_to(SPACY_MODEL)))
        archive.writestr("en_core_web_sm-3.8.0.dist-info/METADATA", "Name: en_core_web_sm\n")
    return wheel


def test_models_pull_downloads_both_models(user_env: dict[str, str], tmp_path: Path) -> None:
    mirror = ModelMirror(_spacy_wheel(tmp_path))
    server = ServerThread(mirror).start()
    try:
        offline = helix_cmd("models", "pull", env=user_env)
        assert offline.returncode == 1 and "offline" in offline.stderr and "--from DIR" in offline.stderr

        env = {k: v for k, v in user_env.items() if k != "HF_HUB_OFFLINE"}
        env.update(HF_ENDPOINT=server.url, HELIX_SPACY_MODELS_URL=server.url)
        pulled = helix_cmd("models", "pull", env=env)
        assert pulled.returncode == 0, pulled.stdout + pulled.stderr
        assert "downloaded embedding" in pulled.stdout and "downloaded spacy" in pulled.stdout
        assert sorted(mirror.requested) == sorted(mirror.files)
        target = Path(user_env["HOME"]) / ".local" / "share" / "helix" / "models"
        assert (target / EMBEDDING.folder / "model.onnx").read_bytes() == (EMBEDDING_MODEL / "model.onnx").read_bytes()
        assert (target / SPACY.folder / "meta.json").read_bytes() == (SPACY_MODEL / "meta.json").read_bytes()
        assert sorted(p.name for p in target.iterdir()) == [EMBEDDING.folder, SPACY.folder]

        mirror.files.pop(f"/{SPACY.remote.paths[0]}")
        broken = helix_cmd("models", "pull", "--force", env=env)
        assert broken.returncode == 1 and "answered HTTP 404" in broken.stderr
        assert sorted(p.name for p in target.iterdir()) == [EMBEDDING.folder, SPACY.folder]  # no partial left
        assert helix_cmd("models", "list", env=user_env).stdout.count("data dir") == 2
    finally:
        server.stop()


def test_one_resolution_order_per_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELIX_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(helix_models, "BUNDLED_DIR", tmp_path / "bundled")
    data = tmp_path / "home" / "models"
    bare = load_config(env={})

    assert locate(EMBEDDING, bare, {}).source == "missing"
    data.mkdir(parents=True)
    (data / EMBEDDING.folder).symlink_to(EMBEDDING_MODEL)
    (data / SPACY.folder).mkdir()  # an empty folder is not a model
    assert locate(EMBEDDING, bare, {}).source == "data dir"
    assert locate(SPACY, bare, {}).source == "missing"

    (tmp_path / "bundled").mkdir()
    (tmp_path / "bundled" / EMBEDDING.folder).symlink_to(EMBEDDING_MODEL)
    (tmp_path / "bundled" / SPACY.folder).symlink_to(SPACY_MODEL)
    assert locate(EMBEDDING, bare, {}).location == str(tmp_path / "bundled" / EMBEDDING.folder)

    env = {EMBEDDING.env: "/opt/elsewhere", SPACY.env: "~/spacy"}
    assert locate(EMBEDDING, bare, env).location == "/opt/elsewhere"
    assert locate(SPACY, bare, env).location == str(Path("~/spacy").expanduser())

    configured = load_config(env={"HELIX_CACHE__EMBEDDING_MODEL_PATH": "/from/config", "HELIX_PII__ENABLED": "false"})
    found = locate(EMBEDDING, configured, env)
    assert (found.source, found.location, found.used) == ("config", "/from/config", True)
    assert locate(SPACY, configured, env).used is False

    resolved = resolve(bare, {})
    assert resolved.cache.embedding_model_path == str(tmp_path / "bundled" / EMBEDDING.folder)
    assert resolved.pii.spacy_model == str(tmp_path / "bundled" / SPACY.folder)


def _wait_for(url: str, process: subprocess.Popen[str], status: int, seconds: float) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == status:
                return response
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    raise AssertionError(f"{url} did not answer {status} within {seconds} s")


@pytest.fixture
def pulled_server(user_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str], float]]:
    assert helix_cmd("models", "pull", "--from", str(SHARED_MODELS), env=user_env).returncode == 0
    port = free_port()
    started = time.monotonic()
    process = serve_process(user_env, tmp_path, port)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{url}/health", process, 200, 30)
        yield url, process, time.monotonic() - started
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=20)


def test_serve_listens_first_then_loads_the_pulled_models(
    pulled_server: tuple[str, subprocess.Popen[str], float], user_env: dict[str, str], fake: FakeState
) -> None:
    url, process, _ = pulled_server
    # A request sent while the models load waits for them rather than failing.
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0, timeout=60)
    early = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "What is the capital of France?"}]
    )
    assert early.headers["x-helix-cache"] == "MISS"
    ready = _wait_for(f"{url}/health/ready", process, 200, 60).json()
    assert ready["status"] == "ready" and ready["checks"]["embedding model"] == "ok"

    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "How do I reset my password?"}]
    )
    time.sleep(0.5)  # the single writer commits entries in batches: let it store this one
    paraphrase = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "I forgot my password, how can I reset it?"}]
    )
    assert paraphrase.headers["x-helix-cache"] == "HIT-SEMANTIC"
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Please write to Sarah Johnson about the invoice."}]
    )
    sent = fake.calls("/v1/chat/completions")[-1].body["messages"][-1]["content"]
    assert "Sarah Johnson" not in sent and "<PERSON" in sent

    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=20)[0]
    assert process.returncode == 0, output
    assert "model     embedding:" in output and "(data dir)" in output
    home = Path(user_env["HOME"])
    # Nothing outside Helix's own folders: no onnxruntime telemetry, no fastembed cache in $TMPDIR.
    assert not (home / ".cache" / "Microsoft").exists()
    assert list((home / "tmp").iterdir()) == []


def test_serve_reports_a_model_it_cannot_load_and_exits(user_env: dict[str, str], tmp_path: Path) -> None:
    env = {**user_env, SPACY.env: str(tmp_path / "no-such-model")}
    port = free_port()
    process = serve_process(env, tmp_path, port)
    try:
        _wait_for(f"http://127.0.0.1:{port}/health", process, 200, 30)
        output = process.communicate(timeout=60)[0]
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, output
    assert "error: cannot start: bad value for 'pii.spacy_model'" in output

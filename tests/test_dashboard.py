"""The dashboard at /dashboard: real `helix serve` processes (NiceGUI allows one dashboard per process),
its guard, and the data its page reads through the store's shared queries."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import websockets.exceptions
import websockets.sync.client

from helix.config import AuthConfig, Config, ConfigError, ServerConfig, load_config
from helix.pii.users import UserIds, user_key
from helix.store.db import connect
from helix.web import snapshot
from helix.web.guard import COOKIE, access, session_token
from helix.web.mount import Dashboard, Dispatcher
from tests.conftest import wait_until_healthy
from tests.fake_upstream import FakeState, ServerThread
from tests.test_cli import free_port

ADMIN = "hxa-dashboard-admin-key-0123456789"
HTML = {"accept": "text/html,application/xhtml+xml"}
ASSET = f"/dashboard/_nicegui/{version('nicegui')}/static/nicegui.js"
SOCKET = "/dashboard/_nicegui_ws/socket.io/?EIO=4&transport=polling"


@dataclass
class Served:
    url: str
    home: Path
    cwd: Path
    process: subprocess.Popen[str]
    output: str = field(default="")

    @property
    def db(self) -> Path:
        return self.home / "helix.db"

    def client(self, api_key: str = "anything") -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=api_key, max_retries=0, timeout=10)


@contextmanager
def serve(cwd: Path, upstream_url: str, **env: str) -> Iterator[Served]:
    """`helix serve` on a free port with its state in `cwd`, stopped by its PID; its output kept on exit."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("HELIX_", "OPENAI_", "ANTHROPIC_"))}
    environment.update(
        HELIX_HOME=str(cwd / "home"),
        HELIX_PROVIDERS__OPENAI__BASE_URL=f"{upstream_url}/v1",
        HELIX_CACHE__SEMANTIC="false",
        OPENAI_API_KEY="sk-test",
        COLUMNS="200",
        **env,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "helix", "serve", "--port", str(port)],
        env=environment,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    served = Served(f"http://127.0.0.1:{port}", cwd / "home", cwd, process)
    try:
        wait_until_healthy(served.url, process)
        yield served
    finally:
        process.send_signal(signal.SIGINT)
        served.output = process.communicate(timeout=20)[0]
    assert process.returncode == 0, served.output


@pytest.fixture(scope="module")
def laptop(tmp_path_factory: pytest.TempPathFactory, upstream: tuple[ServerThread, FakeState]) -> Iterator[Served]:
    """Bound to 127.0.0.1 with no admin key: the dashboard is open."""
    with serve(tmp_path_factory.mktemp("laptop"), upstream[0].url) as instance:
        yield instance
    assert f"dashboard {instance.url}/dashboard" in instance.output
    assert not (instance.cwd / ".nicegui").exists()  # NiceGUI's file storage stays unused


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory, upstream: tuple[ServerThread, FakeState]) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("guarded"), upstream[0].url, HELIX_AUTH__ADMIN_KEY=ADMIN) as instance:
        yield instance
    assert "log in with [auth] admin_key" in instance.output


def get(served: Served, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(served.url + path, timeout=10, **kwargs)


def test_laptop_mode_serves_the_page_and_nicegui_assets(laptop: Served) -> None:
    page = get(laptop, "/dashboard", follow_redirects=True)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<title>Helix dashboard</title>" in page.text
    assets = set(re.findall(r'(?:src|href)="(/dashboard/_nicegui/[^"]+)"', page.text))
    assert len(assets) >= 3, page.text[:2000]
    for asset in assets:
        assert get(laptop, asset).status_code == 200, asset
    handshake = get(laptop, SOCKET)
    assert handshake.status_code == 200 and handshake.text.startswith("0{")


def test_proxy_and_health_work_beside_the_dashboard(laptop: Served, fake: FakeState) -> None:
    assert get(laptop, "/health").status_code == 200
    reply = laptop.client().chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "beside the dashboard"}]
    )
    assert reply.http_response.status_code == 200 and reply.headers["x-helix-cache"] == "MISS"
    assert get(laptop, "/dashboardish").status_code == 404  # not the dashboard's: Litestar answers


def test_the_page_shows_requests_made_through_the_proxy(laptop: Served, fake: FakeState) -> None:
    for _ in range(2):
        laptop.client().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "shown on the page"}], user="page-alice"
        )
    time.sleep(1.2)  # the writer commits within 50 ms; the feed reuses a snapshot for half a refresh
    page = get(laptop, "/dashboard/").text
    conn = connect(laptop.db, readonly=True)
    try:
        alice = UserIds(user_key(conn, None)).stored("page-alice")  # shown as its stable short id
    finally:
        conn.close()
    assert str(alice) in page and "page-alice" not in page and "HIT-EXACT" in page and "openai/gpt-4o-mini" in page


def test_the_snapshot_reflects_the_proxy_traffic(laptop: Served, fake: FakeState) -> None:
    client = laptop.client()
    for _ in range(2):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "mail snap@example.com"}], user="snap-bob"
        )
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="nowhere/model", messages=[{"role": "user", "content": "x"}])
    time.sleep(0.5)
    conn = connect(laptop.db, readonly=True)
    try:
        shot = snapshot.load(conn)
        snap_bob = UserIds(user_key(conn, None)).stored("snap-bob")  # end-user ids are stored hashed
    finally:
        conn.close()
    assert shot.day["requests"] >= 3 and shot.day["errors"] >= 1 and shot.week["requests"] >= shot.day["requests"]
    (bob,) = [row for row in shot.by_user if row["grp"] == snap_bob]
    assert bob["requests"] == 2 and bob["cost"] > 0 and bob["saved"] > 0  # one miss, one exact hit
    assert any(row["grp"] == "openai/gpt-4o-mini" for row in shot.by_model)
    assert [row["user"] for row in shot.recent[-3:-1]] == [snap_bob, snap_bob]
    assert shot.recent[-1]["error_code"] == "unknown_provider"
    assert shot.cache["exact_hits"] >= 1 and shot.cache["entries"] >= 1
    assert any(row["entity_type"] == "EMAIL_ADDRESS" for row in shot.pii)
    assert shot.overhead_p50_ms is not None
    for by, length in (("hour", 24), ("day", snapshot.TIMELINE_DAYS)):
        buckets, spent, saved = shot.timeline(by)  # type: ignore[arg-type]
        assert len(buckets) == len(spent) == len(saved) == length
        assert spent[-1] > 0 and saved[-1] > 0, (by, buckets[-1], shot.hourly, shot.daily)


def test_a_guarded_dashboard_answers_only_with_a_session(guarded: Served) -> None:
    for path in ("/dashboard", "/dashboard/"):
        login = get(guarded, path, headers=HTML)
        assert login.status_code == 401 and 'action="/dashboard/login"' in login.text
    for path in (ASSET, SOCKET):
        refused = get(guarded, path)
        assert refused.status_code == 401 and "/dashboard/login" in refused.text
    with pytest.raises(websockets.exceptions.InvalidStatus) as raised:
        websockets.sync.client.connect(guarded.url.replace("http", "ws") + SOCKET.replace("polling", "websocket"))
    assert raised.value.response.status_code == 403
    forged = {"cookie": f"{COOKIE}={session_token('some-other-admin-key')}"}
    assert get(guarded, "/dashboard/", headers=forged).status_code == 401
    assert get(guarded, "/dashboard/", headers={"authorization": "Bearer wrong-key-0123456789"}).status_code == 401


def test_logging_in_with_the_admin_key_sets_a_session_cookie(guarded: Served) -> None:
    wrong = httpx.post(f"{guarded.url}/dashboard/login", data={"admin_key": "not-the-key-0123456789"})
    assert wrong.status_code == 401 and "not the admin key" in wrong.text and "set-cookie" not in wrong.headers

    right = httpx.post(f"{guarded.url}/dashboard/login", data={"admin_key": ADMIN})
    assert right.status_code == 303 and right.headers["location"] == "/dashboard/"
    cookie = right.headers["set-cookie"]
    assert ADMIN not in cookie and f"{COOKIE}={session_token(ADMIN)};" in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dashboard" in cookie

    session = {"cookie": f"{COOKIE}={session_token(ADMIN)}"}
    page = get(guarded, "/dashboard/", headers=session)
    assert page.status_code == 200 and "<title>Helix dashboard</title>" in page.text
    assert get(guarded, ASSET, headers=session).status_code == 200
    assert get(guarded, SOCKET, headers=session).status_code == 200
    assert get(guarded, "/dashboard/", headers={"authorization": f"Bearer {ADMIN}"}).status_code == 200

    logout = get(guarded, "/dashboard/logout")
    assert logout.status_code == 303 and f"{COOKIE}=;" in logout.headers["set-cookie"]


def test_the_guarded_page_lists_keys_without_secrets(guarded: Served, fake: FakeState) -> None:
    admin = {"authorization": f"Bearer {ADMIN}"}
    created = httpx.post(f"{guarded.url}/admin/keys", json={"name": "dash-app", "budget": 5}, headers=admin)
    assert created.status_code == 201, created.text
    secret = created.json()["key"]
    guarded.client(secret).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "k"}])
    assert get(guarded, "/health").status_code == 200
    time.sleep(1.2)
    page = get(guarded, "/dashboard/", headers=admin).text
    assert "dash-app" in page and secret[:8] in page and secret not in page
    conn = connect(guarded.db, readonly=True)
    try:
        shot = snapshot.load(conn)
    finally:
        conn.close()
    (key,) = shot.keys
    assert key["name"] == "dash-app" and key["budget_used"] > 0
    assert [row["keys"] for row in shot.by_key] == ["dash-app"]


@pytest.mark.parametrize(
    ("host", "admin_key", "require_keys", "expected"),
    [
        ("127.0.0.1", None, False, "open"),
        ("::1", None, False, "open"),
        ("localhost", None, False, "open"),
        ("0.0.0.0", None, False, "closed"),
        ("192.168.1.20", None, False, "closed"),
        ("127.0.0.1", None, True, "closed"),  # behind a local proxy: not only this machine
        ("0.0.0.0", ADMIN, False, "login"),
        ("127.0.0.1", ADMIN, False, "login"),
    ],
)
def test_who_may_open_the_dashboard(host: str, admin_key: str | None, require_keys: bool, expected: str) -> None:
    config = Config(server=ServerConfig(host=host), auth=AuthConfig(admin_key=admin_key, require_keys=require_keys))
    assert access(config) == expected


async def test_a_dashboard_beyond_loopback_without_an_admin_key_is_refused(tmp_path: Path) -> None:
    passed: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        passed.append(scope["type"])

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    dashboard = Dashboard(Config(server=ServerConfig(host="0.0.0.0")), tmp_path / "helix.db")
    dispatcher = Dispatcher(app, dashboard)
    await dispatcher({"type": "http", "path": "/dashboard/", "method": "GET", "headers": []}, receive, send)
    assert sent[0]["status"] == 403 and b"[auth] admin_key" in sent[1]["body"] and sent[1]["body"].count(b"\n") == 1
    await dispatcher({"type": "http", "path": "/v1/models", "method": "GET", "headers": []}, receive, send)
    await dispatcher({"type": "lifespan"}, receive, send)
    assert passed == ["http", "lifespan"]


def test_the_refresh_interval_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "helix.toml"
    path.write_text("[dashboard]\nrefresh_seconds = 0.1\n")
    with pytest.raises(ConfigError, match=r"dashboard\.refresh_seconds"):
        load_config(path, env={})

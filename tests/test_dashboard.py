"""The dashboard at /dashboard: real `helix serve` processes (NiceGUI allows one dashboard per process),
its guard, and the data its page reads through the store's shared queries."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

import httpx
import openai
import pytest
import websockets.exceptions
import websockets.sync.client

from helix.config import AuthConfig, Config, ConfigError, ServerConfig, StorageConfig, load_config
from helix.format import money
from helix.gateway import Gateway
from helix.pii.users import UserIds, user_key
from helix.store import keys as key_store
from helix.store import spend
from helix.store.db import connect
from helix.virtual_keys import KeySpec
from helix.web import data
from helix.web.guard import COOKIE, access
from helix.web.mount import Dashboard, Dispatcher
from helix.web.timerange import PRESETS, BadRange, parse
from tests.conftest import isolated_env, serve_process, wait_until_healthy
from tests.fake_upstream import FakeState, ServerThread
from tests.test_cli import free_port

T = TypeVar("T")
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
    environment = isolated_env(cwd / "home", upstream_url, HELIX_CACHE__SEMANTIC="false", COLUMNS="200", **env)
    process = serve_process(environment, cwd, port)
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
    alice = stored(laptop, "page-alice")  # end-user ids are stored, and shown, as stable short ids
    assert alice in page and "page-alice" not in page and "exact" in page and "openai/gpt-4o-mini" in page


def read(served: Served, work: Callable[[sqlite3.Connection], T]) -> T:
    conn = connect(served.db, reader=True)
    try:
        return work(conn)
    finally:
        conn.close()


def stored(served: Served, raw: str) -> str:
    """The id an end user is stored under (`helix pii user-id RAW`)."""
    return str(read(served, lambda conn: UserIds(user_key(conn, None)).stored(raw)))


def test_the_views_reflect_the_proxy_traffic(laptop: Served, fake: FakeState) -> None:
    client = laptop.client()
    for _ in range(2):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "mail snap@example.com"}], user="snap-bob"
        )
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="nowhere/model", messages=[{"role": "user", "content": "x"}])
    time.sleep(0.5)
    now = time.time()
    for name in PRESETS:
        rng = parse({"range": name}, now)
        view = read(laptop, lambda conn, rng=rng: data.view(conn, rng, now))  # type: ignore[misc]
        totals, results = view.summary.totals, view.summary.results
        # Every request has exactly one cache result: they add up to 100% (refusals included).
        assert sum(results.values()) == totals["requests"] >= 3 and results["rejected"] >= 1
        assert results["exact"] >= 1 and results["miss"] >= 1
        assert len(view.series.labels) == len(view.series.spent) == len(view.series.results["miss"])
        assert sum(view.series.spent) == pytest.approx(totals["spent_usd"])
        assert sum(view.series.saved) == pytest.approx(totals["saved_usd"]) and totals["saved_usd"] > 0
        assert sum(view.series.pii["EMAIL_ADDRESS"]) >= 2
        assert any(p is not None for p in view.series.latency_p95)
    snap_bob = stored(laptop, "snap-bob")
    (bob,) = [row for row in view.by_user if row["grp"] == snap_bob]
    assert bob["requests"] == 2 and bob["cost"] > 0 and bob["saved"] > 0  # one miss, one exact hit
    assert any(row["grp"] == "openai/gpt-4o-mini" for row in view.by_model)
    assert view.recent[0]["error_code"] == "unknown_provider" and view.recent[0]["cache_result"] == "rejected"
    assert view.summary.overhead_p50_ms is not None

    narrowed = read(laptop, lambda conn: data.view(conn, parse({}, now), now, user=snap_bob))
    assert narrowed.summary.totals["requests"] == 2 and narrowed.summary.results == {
        "exact": 1,
        "semantic": 0,
        "miss": 1,
        "bypass": 0,
        "rejected": 0,
    }
    past = read(laptop, lambda conn: data.view(conn, parse({"from": "2020-01-01", "to": "2020-01-31"}), now))
    assert past.summary.totals["requests"] == 0 and len(past.series.labels) == 31


def test_requests_can_be_filtered_paged_and_opened(laptop: Served, fake: FakeState) -> None:
    client = laptop.client()
    for i in range(3):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"page me {i}"}], user="pager"
        )
    time.sleep(0.5)
    rng = parse({"range": "1h"})
    pager = stored(laptop, "pager")
    found = read(laptop, lambda conn: data.request_page(conn, rng.filters(user=pager), page=1, per_page=2))
    assert (found.total, found.pages, len(found.rows)) == (3, 2, 2)
    last = read(laptop, lambda conn: data.request_page(conn, rng.filters(user=pager), page=9, per_page=2))
    assert last.page == 2 and len(last.rows) == 1
    misses = read(laptop, lambda conn: data.request_page(conn, rng.filters(user=pager, cache="miss"), 1, 50))
    assert misses.total == 3
    errors = read(laptop, lambda conn: data.request_page(conn, rng.filters(user=pager, status="error"), 1, 50))
    assert errors.total == 0

    detail = read(laptop, lambda conn: data.request_detail(conn, found.rows[0]["id"]))
    assert detail is not None and detail.row["user"] == pager
    assert detail.headers["x-helix-request-id"] == found.rows[0]["id"]
    assert detail.headers["x-helix-cache"] == "MISS" and detail.headers["x-helix-provider"] == "openai"
    assert read(laptop, lambda conn: data.request_detail(conn, "no-such-request")) is None
    page = get(laptop, f"/dashboard/request?id={found.rows[0]['id']}").text
    assert "x-helix-request-id" in page and "page me" not in page  # never the prompt


@pytest.mark.parametrize("query", ["status=404", "cache=bogus", "status=%00&cache=HIT-EXACT"])
def test_a_filter_value_its_menu_does_not_offer_is_no_filter_not_a_500(laptop: Served, query: str) -> None:
    """An edited URL (`?status=404`): the filter's menu raised on a value it does not offer, and the page was a 500."""
    response = get(laptop, f"/dashboard/requests?{query}")
    assert response.status_code == 200, response.text[-500:]
    assert "Matching requests" in response.text


def test_time_ranges_come_from_the_url() -> None:
    now = time.time()
    day = parse({}, now)
    assert (day.name, day.live, day.since) == ("24h", True, now - 86_400) and len(day.buckets(now)) in (24, 25)
    assert parse({"range": "1h"}, now).query() == {"range": "1h"}
    custom = parse({"from": "2026-11-01", "to": "2026-11-30"}, now)
    assert custom.until is not None and custom.until - custom.since == pytest.approx(30 * 86_400, abs=3_700)
    assert custom.query() == {"from": "2026-11-01", "to": "2026-11-30"} and custom.step == 86_400
    for bad in (
        {"range": "3y"},
        {"from": "2026-11-01"},
        {"from": "2026-11-30", "to": "2026-11-01"},
        {"from": "x", "to": "y"},
        {"from": "0001-01-02", "to": "2026-01-01"},  # a bucket starting in year 0 was a ValueError, the page a 500
    ):
        with pytest.raises(BadRange):
            parse(bad, now)
    ages = parse({"from": "1971-01-01", "to": "9999-12-31"}, now)  # a bucket a week was 417,000 buckets
    assert len(ages.buckets(now)) <= 61 and ages.bucket_label(ages.buckets(now)[-1])


@pytest.mark.parametrize("query", ["from=0001-01-02&to=2026-01-01", "from=1971-01-01&to=9999-12-31"])
def test_a_range_of_any_dates_is_a_page_not_a_500(laptop: Served, query: str) -> None:
    response = get(laptop, f"/dashboard/?{query}")
    assert response.status_code == 200, response.text[-500:]


def test_money_reads_the_same_in_the_cli_and_the_dashboard() -> None:
    assert [money(v) for v in (None, 0, 0.00366, 0.0366, 12.5, 1234.567)] == [
        "-",
        "$0.00",
        "$0.003660",
        "$0.0366",
        "$12.50",
        "$1,234.57",
    ]


def test_a_guarded_dashboard_answers_only_with_a_session(guarded: Served) -> None:
    for path in ("/dashboard", "/dashboard/"):
        sent = get(guarded, path, headers=HTML)
        assert sent.status_code == 303 and sent.headers["location"] == "/dashboard/login"
    login = get(guarded, "/dashboard/login", headers=HTML)
    assert login.status_code == 200 and 'action="/dashboard/login"' in login.text
    for path in (ASSET, SOCKET):
        refused = get(guarded, path)
        assert refused.status_code == 401 and "/dashboard/login" in refused.text
    with pytest.raises(websockets.exceptions.InvalidStatus) as raised:
        websockets.sync.client.connect(guarded.url.replace("http", "ws") + SOCKET.replace("polling", "websocket"))
    assert raised.value.response.status_code == 403
    forged = {"cookie": f"{COOKIE}=made-up-session-token"}
    assert get(guarded, "/dashboard/", headers=forged).status_code == 401
    assert get(guarded, "/dashboard/", headers={"authorization": "Bearer wrong-key-0123456789"}).status_code == 401


def log_in(served: Served) -> dict[str, str]:
    right = httpx.post(f"{served.url}/dashboard/login", data={"admin_key": ADMIN})
    assert right.status_code == 303 and right.headers["location"] == "/dashboard/"
    token = right.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    return {"cookie": f"{COOKIE}={token}"}


def test_logging_in_starts_a_server_side_session_and_logging_out_ends_it(guarded: Served) -> None:
    wrong = httpx.post(f"{guarded.url}/dashboard/login", data={"admin_key": "not-the-key-0123456789"})
    assert wrong.status_code == 401 and "not the admin key" in wrong.text and "set-cookie" not in wrong.headers

    right = httpx.post(f"{guarded.url}/dashboard/login", data={"admin_key": ADMIN})
    cookie = right.headers["set-cookie"]
    assert ADMIN not in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dashboard" in cookie
    assert "Max-Age=43200" in cookie  # [dashboard] session_ttl, 12h by default
    session = log_in(guarded)
    token = session["cookie"].split("=", 1)[1]
    stored = read(guarded, lambda conn: [r[0] for r in conn.execute("SELECT token_hash FROM dashboard_sessions")])
    assert token not in stored and len(stored) == 2  # only hashes are kept

    page = get(guarded, "/dashboard/", headers=session)
    assert page.status_code == 200 and "<title>Helix dashboard</title>" in page.text
    assert get(guarded, ASSET, headers=session).status_code == 200
    assert get(guarded, SOCKET, headers=session).status_code == 200
    assert get(guarded, "/dashboard/", headers={"authorization": f"Bearer {ADMIN}"}).status_code == 200

    logout = get(guarded, "/dashboard/logout", headers=session)
    assert logout.status_code == 303 and f"{COOKIE}=;" in logout.headers["set-cookie"]
    # The old cookie, replayed (as a copy of it would be), no longer opens anything.
    assert get(guarded, "/dashboard/", headers=session).status_code == 401
    assert get(guarded, SOCKET, headers=session).status_code == 401


def test_sessions_outlive_a_restart_but_not_a_logout(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> None:
    with serve(tmp_path, upstream[0].url, HELIX_AUTH__ADMIN_KEY=ADMIN) as first:
        session = log_in(first)
    with serve(tmp_path, upstream[0].url, HELIX_AUTH__ADMIN_KEY=ADMIN) as second:
        assert get(second, "/dashboard/", headers=session).status_code == 200  # read back from the SQLite file
        get(second, "/dashboard/logout", headers=session)
    with serve(tmp_path, upstream[0].url, HELIX_AUTH__ADMIN_KEY=ADMIN) as third:
        assert get(third, "/dashboard/", headers=session).status_code == 401


def test_sessions_expire(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> None:
    with serve(tmp_path, upstream[0].url, HELIX_AUTH__ADMIN_KEY=ADMIN, HELIX_DASHBOARD__SESSION_TTL="2s") as short:
        session = log_in(short)
        assert get(short, "/dashboard/", headers=session).status_code == 200
        time.sleep(2.2)
        assert get(short, "/dashboard/", headers=session).status_code == 401


def test_requests_from_another_site_are_refused(guarded: Served) -> None:
    """CSRF: a page elsewhere can make the admin's browser post or open a socket; the Origin gives it away."""
    session = log_in(guarded)
    host = guarded.url.removeprefix("http://")
    evil = {"origin": "https://evil.example", **session}
    login = httpx.post(
        f"{guarded.url}/dashboard/login", data={"admin_key": ADMIN}, headers={"origin": "https://evil.example"}
    )
    assert login.status_code == 403 and "another site" in login.text
    assert httpx.post(guarded.url + SOCKET, headers=evil, content=b"40").status_code == 403
    with pytest.raises(websockets.exceptions.InvalidStatus):
        websockets.sync.client.connect(
            guarded.url.replace("http", "ws") + SOCKET.replace("polling", "websocket"),
            additional_headers=session,
            origin="https://evil.example",  # type: ignore[arg-type]
        )
    same = {"origin": f"http://{host}", **session}
    assert get(guarded, SOCKET, headers=same).status_code == 200


def test_the_guarded_page_lists_keys_without_secrets(guarded: Served, fake: FakeState) -> None:
    admin = {"authorization": f"Bearer {ADMIN}"}
    created = httpx.post(f"{guarded.url}/admin/keys", json={"name": "dash-app", "budget": 5}, headers=admin)
    assert created.status_code == 201, created.text
    secret = created.json()["key"]
    guarded.client(secret).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "k"}])
    assert get(guarded, "/health").status_code == 200
    time.sleep(1.2)
    for path in ("/dashboard/", "/dashboard/keys", "/dashboard/key?name=dash-app"):
        page = get(guarded, path, headers=admin).text
        assert "dash-app" in page and secret[:8] in page and secret not in page, path
    (key,) = read(guarded, lambda conn: data.keys(conn, time.time()))
    assert key["name"] == "dash-app" and key["budget_used"] > 0
    view = read(guarded, lambda conn: data.view(conn, parse({}), time.time()))
    assert [row["keys"] for row in view.by_key] == ["dash-app"]
    detail = read(guarded, lambda conn: data.request_detail(conn, view.recent[0]["id"]))
    assert detail is not None and float(detail.headers["x-helix-budget-remaining-usd"]) <= 5


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

    config = Config(server=ServerConfig(host="0.0.0.0"), storage=StorageConfig(path=str(tmp_path / "helix.db")))
    dashboard = Dashboard(config, Gateway(config))
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
    path.write_text('[dashboard]\nsession_ttl = "forever"\n')
    with pytest.raises(ConfigError, match=r"dashboard\.session_ttl"):
        load_config(path, env={})


def test_a_key_that_may_spend_nothing_shows_on_every_page(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState]
) -> None:
    """A budget of $0 (a key frozen by its owner) made the overview and the keys page a 500, for good once the key
    was revoked (a revoked key cannot be changed)."""

    def every_page_shows_it() -> None:  # the overview lists active keys only
        for path in ("/dashboard/", "/dashboard/keys", "/dashboard/key?name=frozen"):
            response = get(instance, path)
            assert response.status_code == 200, (path, response.text[-300:])
            assert "frozen" in response.text or path == "/dashboard/", path

    with serve(tmp_path, upstream[0].url) as instance:
        conn = connect(instance.db)
        try:
            key_store.create(conn, "frozen", KeySpec(budget=0.0))
            conn.commit()
            every_page_shows_it()
            (row,) = spend.report(conn, key_store.list_keys(conn))
            assert row["budget_used"] == 1.0  # used up from the start
            key_store.revoke(conn, "frozen")
            conn.commit()
            every_page_shows_it()
        finally:
            conn.close()

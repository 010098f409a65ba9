"""The dashboard in a real headless Chromium (Debian's, driven by Playwright for Python): logging in, the
headline numbers against the admin API, the time range, a key's page, creating and revoking a key, a new
request appearing without a reload, a clean console, and a phone-sized screen. With `--screenshots DIR`,
each page is saved as a PNG (the README's pictures come from `.ci/run`)."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from PIL import Image

from helix.format import clock, count, money, ms
from tests.fake_upstream import FakeState, ServerThread
from tests.test_dashboard import Served, read, serve, stored

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN = "hxa-browser-admin-key-0123456789"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, upstream: tuple[ServerThread, FakeState]) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("browser")
    (folder / "helix.toml").write_text(  # read from the working directory
        '[models.mixed]\ndeployments = [{ target = "openai/fail-429", weight = 9 }, { target = "openai/gpt-4o" }]\n'
    )
    with serve(
        folder,
        upstream[0].url,
        HELIX_AUTH__ADMIN_KEY=ADMIN,
        HELIX_DASHBOARD__REFRESH_SECONDS="0.5",
    ) as instance:
        created = admin(instance, "POST", "/keys", json={"name": "checkout-app", "budget": 0.05, "period": "month"})
        client = instance.client(created.json()["key"])
        for i in range(6):
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": f"order {i % 3}: mail me at buyer{i % 3}@example.com"}],
                user=("ann", "ben", "cy")[i % 3],
            )
        # A second key close to its budget, PII of another type, and a request refused before the cache.
        support = admin(instance, "POST", "/keys", json={"name": "support-bot", "budget": 0.00002, "period": "day"})
        helper = instance.client(support.json()["key"])
        helper.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "call me on +1 415 555 0134"}], user="dee"
        )
        with pytest.raises(openai.BadRequestError):
            helper.chat.completions.create(model="nowhere/model", messages=[{"role": "user", "content": "?"}])
        yield instance


def admin(served: Served, method: str, path: str, **kwargs: object) -> httpx.Response:
    response = httpx.request(
        method, f"{served.url}/admin{path}", headers={"authorization": f"Bearer {ADMIN}"}, timeout=10, **kwargs
    )
    assert response.status_code < 300, response.text
    return response


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def console() -> list[str]:
    """Every console error and failed request of every page, checked at the end."""
    return []


@pytest.fixture
def page(browser: sync_api.Browser, site: Served, console: list[str]) -> Iterator[sync_api.Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    opened.on("pageerror", lambda e: console.append(f"page error: {e}"))
    opened.on("response", lambda r: console.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    log_in(opened, site)
    yield opened
    context.close()


def log_in(page: sync_api.Page, site: Served) -> None:
    page.goto(f"{site.url}/dashboard/")
    page.fill("#admin_key", ADMIN)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/dashboard/$"))
    page.get_by_text("Where the money goes").wait_for()


def card_value(page: sync_api.Page, caption: str) -> str:
    return page.locator(f'[data-card="{caption}"] [data-value]').inner_text()


def snap(page: sync_api.Page, request: pytest.FixtureRequest, name: str) -> None:
    """With --screenshots DIR: the whole page as DIR/name.png, in 64 colours (a fifth of the bytes)."""
    folder = request.config.getoption("--screenshots")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # charts finish drawing
    shot = Image.open(io.BytesIO(page.screenshot(full_page=True)))
    shot.convert("RGB").quantize(64).save(Path(folder) / f"{name}.png", optimize=True)


def test_headline_numbers_match_the_admin_api(
    page: sync_api.Page, site: Served, request: pytest.FixtureRequest
) -> None:
    stats = admin(site, "GET", "/stats", params={"since": "24h"}).json()
    assert card_value(page, "Requests") == count(stats["requests"]) == "8"
    assert card_value(page, "Spent") == money(stats["spent_usd"])
    assert card_value(page, "Saved by the cache") == money(stats["saved_usd"])
    page.locator("canvas").first.wait_for()
    assert page.locator("canvas").count() >= 5  # spend, cache results, latency, PII, top models
    week = admin(site, "GET", "/stats", params={"since": "7d"}).json()
    page.goto(f"{site.url}/dashboard/?range=7d")
    page.get_by_text("last 7d").first.wait_for()
    assert card_value(page, "Spent") == money(week["spent_usd"])
    assert card_value(page, "Saved by the cache") == money(week["saved_usd"])
    snap(page, request, "overview")


def test_the_time_range_is_in_the_url(page: sync_api.Page, site: Served) -> None:
    page.locator(".range-picker").get_by_text("1h", exact=True).click()
    page.wait_for_url(re.compile(r"range=1h"))
    page.get_by_text("last 1h").first.wait_for()
    assert card_value(page, "Requests") == "8"
    page.locator(".range-picker").get_by_text("custom", exact=True).click()
    page.get_by_label("from").fill("2020-01-01")
    page.get_by_label("to", exact=True).fill("2020-01-31")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"from=2020-01-01&to=2020-01-31"))
    page.get_by_text("2020-01-01 to 2020-01-31").first.wait_for()
    assert card_value(page, "Requests") == "0"


def test_a_key_page_shows_its_budget(page: sync_api.Page, site: Served, request: pytest.FixtureRequest) -> None:
    page.get_by_role("link", name="checkout-app").first.click()
    page.wait_for_url(re.compile(r"/dashboard/key\?range=24h&name=checkout-app"))
    page.get_by_text("Budget this period").wait_for()
    assert card_value(page, "Requests") == "6"
    page.get_by_text("$0.0500 per month").wait_for()
    snap(page, request, "key")
    ann = stored(site, "ann")  # end users appear under their stable short ids
    page.get_by_role("link", name=ann).first.click()
    page.wait_for_url(re.compile(rf"/dashboard/user\?.*id={ann}"))
    assert card_value(page, "Requests") == "2"
    snap(page, request, "user")
    page.get_by_role("link", name="openai/gpt-4o-mini").first.click()
    page.wait_for_url(re.compile(r"/dashboard/model\?"))
    snap(page, request, "model")


def test_creating_and_revoking_a_key(page: sync_api.Page, site: Served, request: pytest.FixtureRequest) -> None:
    page.get_by_role("link", name="Keys", exact=True).click()
    page.wait_for_url(re.compile(r"/dashboard/keys"))
    page.locator("[data-field=name] input, input[data-field=name]").first.fill("browser-made")
    page.locator("[data-action=create]").click()
    page.get_by_role("button", name="Yes").click()
    secret = page.locator("[data-secret] input, input[data-secret]").first
    secret.wait_for()
    value = secret.input_value()
    assert value.startswith("hx-")
    snap(page, request, "keys")
    page.get_by_role("button", name="I have stored it").click()
    secret.wait_for(state="detached")
    assert site.client(value).models.list() is not None  # the new key works at once
    listed = {k["name"]: k for k in admin(site, "GET", "/keys").json()["data"]}
    assert listed["browser-made"]["status"] == "active"
    assert value not in page.content()  # shown once, in the dialog only

    page.get_by_role("link", name="browser-made").click()
    page.wait_for_url(re.compile(r"name=browser-made"))
    page.get_by_role("button", name="Revoke").click()
    page.get_by_role("button", name="Yes").click()
    page.get_by_text("revoked key browser-made").wait_for()
    listed = {k["name"]: k for k in admin(site, "GET", "/keys", params={"all": "true"}).json()["data"]}
    assert listed["browser-made"]["status"] == "revoked"


def test_a_new_request_appears_without_a_reload(
    page: sync_api.Page, site: Served, request: pytest.FixtureRequest
) -> None:
    page.get_by_role("link", name="Requests", exact=True).click()
    page.wait_for_url(re.compile(r"/dashboard/requests"))
    newcomer = stored(site, "live-newcomer")
    assert page.get_by_text(newcomer).count() == 0
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    secret = admin(site, "POST", "/keys", json={"name": "live-app"}).json()["key"]
    site.client(secret).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "fresh"}], user="live-newcomer"
    )
    page.get_by_role("link", name=newcomer).wait_for(timeout=10_000)
    assert navigations == []
    snap(page, request, "requests")
    page.get_by_role("link", name=re.compile(r"^\d\d:\d\d:\d\d$")).first.click()
    page.wait_for_url(re.compile(r"/dashboard/request\?"))
    page.get_by_text("x-helix-request-id").wait_for()
    snap(page, request, "request")


def test_a_hidden_tab_pauses_and_catches_up_when_shown(page: sync_api.Page, site: Served) -> None:
    page.goto(f"{site.url}/dashboard/requests?range=1h")
    page.get_by_text("Matching requests").wait_for()
    page.evaluate(
        "Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});"
        " document.dispatchEvent(new Event('visibilitychange'))"
    )
    page.wait_for_timeout(300)
    secret = admin(site, "POST", "/keys", json={"name": "while-hidden"}).json()["key"]
    site.client(secret).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "unseen"}], user="hidden-visitor"
    )
    page.wait_for_timeout(2_000)  # four refresh intervals
    visitor = stored(site, "hidden-visitor")  # shown under its stable short id
    assert page.get_by_role("link", name=visitor).count() == 0
    page.evaluate(
        "Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});"
        " document.dispatchEvent(new Event('visibilitychange'))"
    )
    page.get_by_role("link", name=visitor).wait_for(timeout=10_000)


def test_rotating_a_key_and_changing_its_budget(page: sync_api.Page, site: Served) -> None:
    old = admin(site, "POST", "/keys", json={"name": "rotate-me", "budget": 1}).json()["key"]
    page.goto(f"{site.url}/dashboard/key?name=rotate-me")
    page.get_by_role("button", name="Change budget").click()
    page.locator("input[data-field=budget]").fill("2.5")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Yes").click()
    page.get_by_text("budget of rotate-me: $2.50").wait_for()
    key = admin(site, "GET", "/keys/rotate-me").json()
    assert (key["budget_usd"], key["budget_period"]) == (2.5, "month")
    page.get_by_text("$2.50 per month").wait_for()  # the page follows the change

    page.get_by_role("button", name="Rotate secret").click()
    page.get_by_role("button", name="Yes").click()
    secret = page.locator("input[data-secret]")
    new = secret.input_value()
    assert new.startswith("hx-") and new != old
    page.get_by_role("button", name="I have stored it").click()
    with pytest.raises(openai.AuthenticationError):
        site.client(old).models.list()
    assert site.client(new).models.list() is not None


def test_clearing_a_models_cache(page: sync_api.Page, site: Served) -> None:
    def entries() -> int:
        return read(site, lambda conn: conn.execute("SELECT count(*) FROM cache_entries").fetchone()[0])

    assert entries() > 0
    page.goto(f"{site.url}/dashboard/model?name=openai/gpt-4o-mini")
    page.locator("[data-action=clear-cache]").click()
    page.get_by_role("button", name="Yes").click()
    page.get_by_text(re.compile(r"deleted [1-9]\d* cache entries of openai/gpt-4o-mini")).wait_for()
    assert entries() == 0


def test_deployments_show_the_routers_state_live(
    page: sync_api.Page, site: Served, request: pytest.FixtureRequest
) -> None:
    page.get_by_role("link", name="Deployments", exact=True).click()
    page.wait_for_url(re.compile(r"/dashboard/deployments"))
    assert row_of(page, "openai/fail-429")[1:3] == ["mixed", "healthy"]
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    client = site.client(admin(site, "POST", "/keys", json={"name": "routing-app"}).json()["key"])
    for i in range(20):  # the balancer picks fail-429 first nine times in ten; its 429 cools it at once
        answer = client.chat.completions.with_raw_response.create(  # a new question each time: no cache hit
            model="mixed", messages=[{"role": "user", "content": f"route me {i}"}]
        )
        assert answer.headers["x-helix-model"] == "gpt-4o"
        ready = httpx.get(f"{site.url}/health/ready", timeout=10).json()["deployments"]
        if ready["openai/fail-429"]["state"] == "cooling":
            break
    cooling = ready["openai/fail-429"]
    expected = {f"cooling down until {clock(cooling['cooling_until'] + d)}" for d in (-1, 0, 1)}
    page.get_by_text(re.compile("cooling down until")).wait_for(timeout=10_000)  # without a reload
    assert navigations == []
    cells = row_of(page, "openai/fail-429")
    assert cells[2] in expected
    assert (cells[3], cells[5], cells[6]) == ("0", str(cooling["recent_failures"]), str(cooling["cooldowns"]))
    healthy = ready["openai/gpt-4o"]
    assert row_of(page, "openai/gpt-4o")[1:] == [
        "mixed",
        "healthy",
        "0",
        ms(healthy["latency_ms"]),
        str(healthy["recent_failures"]),
        "0",
    ]
    snap(page, request, "deployments")


def row_of(page: sync_api.Page, deployment: str) -> list[str]:
    row = page.locator("tr", has=page.get_by_role("cell", name=deployment, exact=True))
    row.wait_for()
    return [cell.strip() for cell in row.locator("td").all_inner_texts()]


def test_a_phone_sized_screen_needs_no_sideways_scrolling(
    browser: sync_api.Browser, site: Served, request: pytest.FixtureRequest
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    phone = context.new_page()
    log_in(phone, site)
    phone.locator("canvas").first.wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    snap(phone, request, "phone")
    for path in ("keys", "key?name=checkout-app", "user?id=ann", "requests", "deployments"):
        phone.goto(f"{site.url}/dashboard/{path}")
        phone.locator("table").first.wait_for()
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, path
    context.close()


def test_logging_out_ends_the_session(page: sync_api.Page, site: Served) -> None:
    cookies = page.context.cookies()
    other = page.context.new_page()  # a second tab of the same session
    other.goto(f"{site.url}/dashboard/keys")
    other.get_by_text("All keys").wait_for()
    page.get_by_role("link", name="Log out").click()
    page.wait_for_url(re.compile(r"/dashboard/login"))
    other.wait_for_url(re.compile(r"/dashboard/login"))  # the open tab notices on its next refresh
    replay = {c["name"]: c["value"] for c in cookies}
    assert httpx.get(f"{site.url}/dashboard/", cookies=replay).status_code == 401
    assert (
        httpx.get(f"{site.url}/dashboard/_nicegui_ws/socket.io/?EIO=4&transport=polling", cookies=replay).status_code
        == 401
    )


def test_the_console_stayed_clean(console: list[str]) -> None:
    assert console == [], "\n".join(console)

"""/admin: keys, spend and stats as JSON behind the admin key, through the real server."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import openai
import pytest

from tests.conftest import Helix, add_key, start_helix
from tests.fake_upstream import FakeState, ServerThread

ADMIN = "hxa-test-admin-key-0123456789abcdef"
HI = [{"role": "user", "content": "hello there"}]


@pytest.fixture
def admin(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> Iterator[Helix]:
    instance = start_helix(
        tmp_path,
        upstream[0].url,
        f'[auth]\nadmin_key = "{ADMIN}"\n[pricing."openai/gpt-4o-mini"]\ninput = 1000.0\noutput = 1000.0\n',
    )
    yield instance
    instance.server.stop()


def call(helix: Helix, method: str, path: str, key: str | None = ADMIN, **kwargs: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.request(method, f"{helix.url}/admin{path}", headers=headers, timeout=10, **kwargs)


def test_admin_needs_the_admin_key(admin: Helix) -> None:
    virtual = add_key(admin, "app")
    for key, code in ((None, "invalid_admin_key"), ("wrong-key", "invalid_admin_key"), (virtual, "invalid_admin_key")):
        response = call(admin, "GET", "/keys", key)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == code and response.json()["error"]["type"] == "authentication_error"
    assert call(admin, "POST", "/keys", "nope", json={"name": "sneaky"}).status_code == 401
    assert call(admin, "GET", "/keys").status_code == 200
    for path in ("/keys", "/keys/app", "/spend", "/stats"):  # every GET route answers HEAD (it was a 405)
        head, got = call(admin, "HEAD", path), call(admin, "GET", path)
        assert head.status_code == got.status_code == 200 and head.content == b"", path
    assert call(admin, "HEAD", "/keys", None).status_code == 401
    # The admin key opens /admin only: /v1 needs a virtual key.
    with pytest.raises(openai.AuthenticationError) as raised:
        admin.client(ADMIN).chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert "admin key" in raised.value.message


def test_admin_api_is_off_without_an_admin_key(helix: Helix) -> None:
    response = call(helix, "GET", "/keys", "anything-at-all-long")
    assert response.status_code == 401 and response.json()["error"]["code"] == "admin_key_not_set"
    assert "helix init" in response.json()["error"]["message"]


def test_admin_key_lifecycle_takes_effect_at_once(admin: Helix, fake: FakeState) -> None:
    created = call(
        admin,
        "POST",
        "/keys",
        json={"name": "svc", "budget": 10, "period": "week", "rpm": 100, "models": "gpt-4o-mini", "expires": "30d"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["key"]
    assert secret.startswith("hx-") and body["key_prefix"] == secret[:8] + "…" and "hash" not in body
    assert (body["budget_usd"], body["budget_period"], body["rpm"], body["models"]) == (
        10,
        "week",
        100,
        ["gpt-4o-mini"],
    )
    # No polling needed: the key works as soon as the answer arrives.
    admin.client(secret).chat.completions.create(model="gpt-4o-mini", messages=HI, user="u1")

    listed = call(admin, "GET", "/keys").json()["data"]
    (row,) = listed
    assert row["name"] == "svc" and row["requests"] == 1 and row["spent_usd"] > 0 and "key" not in row
    assert row["budget_used"] == pytest.approx(row["spent_usd"] / 10)
    shown = call(admin, "GET", "/keys/svc").json()
    assert shown["top_users"][0]["user"] == admin.gateway.users.stored("u1")
    assert shown["live"]["spent_usd"] == pytest.approx(row["spent_usd"]) and shown["live"]["reserved_usd"] == 0

    changed = call(admin, "PATCH", "/keys/svc", json={"budget": None, "models": None, "tpm": 5000})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["budget_usd"], changed.json()["models"], changed.json()["tpm"]) == (None, None, 5000)
    admin.client(secret).chat.completions.create(model="gpt-4o", messages=HI)  # any model now

    rotated = call(admin, "POST", "/keys/svc/rotate").json()
    assert rotated["key"] != secret and rotated["id"] == body["id"]
    with pytest.raises(openai.AuthenticationError):
        admin.client(secret).chat.completions.create(model="gpt-4o-mini", messages=HI)
    admin.client(rotated["key"]).chat.completions.create(model="gpt-4o-mini", messages=HI)

    revoked = call(admin, "DELETE", "/keys/svc")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    with pytest.raises(openai.AuthenticationError) as raised:
        admin.client(rotated["key"]).chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert raised.value.code == "key_revoked"
    assert call(admin, "GET", "/keys").json()["data"] == []
    assert call(admin, "GET", "/keys?all=true").json()["data"][0]["status"] == "revoked"


@pytest.mark.parametrize(
    ("method", "path", "payload", "status", "code"),
    [
        ("POST", "/keys", {"name": "dup"}, 409, "key_exists"),
        ("POST", "/keys", {"name": "x", "period": "fortnight"}, 400, None),
        ("POST", "/keys", {"name": "x", "colour": "red"}, 400, None),
        ("POST", "/keys", {"name": "x", "expires": "later"}, 400, None),
        ("POST", "/keys", {"name": "x", "rpm": 0}, 400, "invalid_key_settings"),
        ("POST", "/keys", {"budget": 1}, 400, None),
        ("GET", "/keys/ghost", None, 404, "key_not_found"),
        ("POST", "/keys/ghost/rotate", None, 404, "key_not_found"),
        ("PATCH", "/keys/dup", {"rpm": "many"}, 400, None),
        ("GET", "/spend?by=colour", None, 400, None),
        ("GET", "/stats?since=forever", None, 400, None),
    ],
)
def test_admin_errors_are_openai_shaped(
    admin: Helix, method: str, path: str, payload: Any, status: int, code: str | None
) -> None:
    add_key(admin, "dup")
    response = call(admin, method, path, json=payload)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"} and error["message"]
    if code:
        assert error["code"] == code


def test_admin_spend_and_stats(admin: Helix, fake: FakeState) -> None:
    web, batch = add_key(admin, "web"), add_key(admin, "batch", budget=0.025)
    for i in range(3):
        admin.client(web).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"hi {i}"}], user="alice"
        )
    admin.client(web).chat.completions.create(model="gpt-4o-mini", messages=HI, user="bob")
    admin.client(batch).chat.completions.create(model="gpt-4o-mini", messages=HI)
    admin.client(batch).chat.completions.create(model="gpt-4o-mini", messages=HI)  # a cache hit: saved, not spent
    with pytest.raises(openai.RateLimitError):
        long = [{"role": "user", "content": "a longer question that does not fit"}]
        admin.client(batch).chat.completions.create(model="gpt-4o-mini", messages=long)
    admin.flush()

    by_key = call(admin, "GET", "/spend?by=key&since=1h").json()
    assert by_key["by"] == "key" and by_key["since"] == "1h"
    names = [row["key_name"] for row in by_key["data"]]
    assert names == ["web", "batch"], "biggest spenders first, by name"
    assert by_key["data"][1]["saved_usd"] > 0 and by_key["data"][1]["cache_hits"] == 1
    assert by_key["total"]["spent_usd"] == pytest.approx(sum(r["spent_usd"] for r in by_key["data"]))
    by_user = call(admin, "GET", "/spend?by=user").json()["data"]
    named = [(r["user"], r["keys"]) for r in by_user if r["user"] != "(no user)"]
    alice, bob = admin.gateway.users.stored("alice"), admin.gateway.users.stored("bob")
    assert named == [(alice, ["web"]), (bob, ["web"])], "top spenders first, with the keys they used"
    assert {r["model"] for r in call(admin, "GET", "/spend?by=model").json()["data"]} == {"openai/gpt-4o-mini"}
    assert len(call(admin, "GET", "/spend?by=day").json()["data"]) == 1
    # the total is the window's, not the top groups' shown (`limit=1` counted only web's requests: faults round 21)
    top = call(admin, "GET", "/spend?by=key&limit=1").json()
    assert len(top["data"]) == 1 and top["total"]["requests"] == 7
    assert top["total"]["spent_usd"] == pytest.approx(sum(r["spent_usd"] for r in by_key["data"]))

    stats = call(admin, "GET", "/stats").json()
    assert stats["requests"] == 7 and stats["ok"] == 6 and stats["over_budget"] == 1 and stats["cache_hits"] == 1
    assert stats["keys"] == {"active": 2, "expired": 0, "revoked": 0} and stats["auth_required"] is True
    assert stats["spent_usd"] > 0 and stats["saved_usd"] > 0 and stats["latency_p50_ms"] > 0


def test_admin_clears_the_cache_of_one_model(admin: Helix, fake: FakeState) -> None:
    key = add_key(admin, "cacher")
    client = admin.client(key)
    for model in ("gpt-4o-mini", "gpt-4o"):
        client.chat.completions.create(model=model, messages=HI)
    admin.flush()
    (entries,) = admin.rows("SELECT count(*) AS n FROM cache_entries")
    assert entries["n"] == 2
    bad = call(admin, "POST", "/cache/clear", json={"older_than": "soon"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "older_than"
    assert call(admin, "POST", "/cache/clear", json={"nope": 1}).status_code == 400
    for pattern in ("%", "gpt_4o_mini", "%4o-mini", "gpt-4o-min"):  # no LIKE wildcards, no prefix of a name
        assert call(admin, "POST", "/cache/clear", json={"model": pattern}).json()["deleted"] == 0, pattern
    cleared = call(admin, "POST", "/cache/clear", json={"model": "openai/gpt-4o-mini"})
    assert cleared.status_code == 200 and cleared.json()["deleted"] == 1, cleared.text
    assert [r["model"] for r in admin.rows("SELECT model FROM cache_entries")] == ["openai/gpt-4o"]
    # The running server stops serving the cleared entry: the same question goes upstream again.
    fake.requests.clear()
    reply = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HI)
    assert reply.headers["x-helix-cache"] == "MISS" and len(fake.requests) == 1
    assert call(admin, "POST", "/cache/clear", json={"model": "gpt-4o"}).json()["deleted"] == 1  # the provider's prefix
    assert call(admin, "POST", "/cache/clear", json={}).json()["deleted"] >= 1


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("POST", "/keys", "é" * 5_000),
        ("POST", "/keys", "a\x00\x1b[31mb\x9b"),
        ("GET", "/keys/{}", "a" * 10_000),
        ("PATCH", "/keys/{}", "\x1b[31m"),
        ("DELETE", "/keys/{}", "z" * 10_000),
    ],
)
def test_a_key_name_that_cannot_be_one_is_not_quoted_back_as_sent(
    admin: Helix, method: str, path: str, name: str
) -> None:
    """A 400 or 404 quoted the name as sent: 10 KB of it, or its control characters."""
    if "{}" in path:
        response = call(
            admin, method, path.format(quote(name, safe="")), json={"rpm": 5} if method == "PATCH" else None
        )
    else:
        response = call(admin, method, path, json={"name": name})
    assert response.status_code in (400, 404), response.text
    message = response.json()["error"]["message"]
    assert len(message) < 300 and message.isprintable(), message


def test_a_database_locked_by_another_process_is_a_503_not_a_500(admin: Helix) -> None:
    """Round 19: while another process held the file (BEGIN EXCLUSIVE past the busy timeout), creating a key answered
    a 500 "internal error" with a traceback in the server's log; it is the 503 a database out of reach is."""
    holder = sqlite3.connect(admin.db_path, timeout=0)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        response = call(admin, "POST", "/keys", json={"name": "while-locked"})
    finally:
        holder.rollback()
        holder.close()
    assert response.status_code == 503 and response.json()["error"]["code"] == "database_unavailable"
    assert call(admin, "POST", "/keys", json={"name": "while-locked"}).status_code == 201


def test_a_database_file_deleted_under_the_server_makes_it_not_ready(admin: Helix) -> None:
    """Deleted while the server ran, the file went on being written (the deleted one) with /health/ready saying "ok",
    and the admin API opened a new empty file by its path: no keys, no spend (faults round 21)."""
    assert httpx.get(f"{admin.url}/health/ready", timeout=10).status_code == 200
    for suffix in ("", "-wal", "-shm"):
        Path(f"{admin.db_path}{suffix}").unlink(missing_ok=True)
    ready = httpx.get(f"{admin.url}/health/ready", timeout=10)
    assert ready.status_code == 503 and "was deleted while Helix ran" in ready.json()["checks"]["database"]
    spend = call(admin, "GET", "/spend")
    assert spend.status_code == 503 and spend.json()["error"]["code"] == "database_unavailable"
    assert not admin.db_path.exists()  # not made anew, empty, by the admin API

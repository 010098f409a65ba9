"""Out-of-range numbers and dates: a 400 or a clean CLI error everywhere; stored values never crash a reader."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from helix.format import when
from tests.conftest import Helix, start_helix
from tests.fake_upstream import FakeState, ServerThread
from tests.test_cli import helix_cmd

ADMIN = "hxa-test-admin-key-0123456789abcdef"
FAR = time.time() + 3_000_000 * 86400  # what `"expires": "3000000d"` stored before it was refused


@pytest.fixture
def admin(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> Iterator[Helix]:
    instance = start_helix(tmp_path, upstream[0].url, f'[auth]\nadmin_key = "{ADMIN}"\n')
    yield instance
    instance.server.stop()


def call(helix: Helix, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {ADMIN}"}
    return httpx.request(method, f"{helix.url}/admin{path}", headers=headers, timeout=10, **kwargs)


@pytest.mark.parametrize(
    "settings",
    [
        {"expires": "3000000d"},
        {"expires": "99999999999999999999999w"},
        {"rpm": 2**63},
        {"tpm": 2**64},
        {"rpm": 0},
        {"budget": 1e13},
        {"user_budget": -1},
    ],
)
def test_admin_refuses_out_of_range_key_settings(admin: Helix, settings: dict[str, Any]) -> None:
    created = call(admin, "POST", "/keys", json={"name": "app", **settings})
    assert created.status_code == 400, created.text
    assert created.json()["error"]["type"] == "invalid_request_error"
    assert call(admin, "POST", "/keys", json={"name": "fine"}).status_code == 201
    changed = call(admin, "PATCH", "/keys/fine", json=settings)
    assert changed.status_code == 400, changed.text


def test_since_beyond_a_century_is_a_400(admin: Helix) -> None:
    response = call(admin, "GET", "/spend", params={"since": "40000d"})
    assert response.status_code == 400


def store_far_future_key(db: Path, revoked: bool = True) -> None:
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO keys (id, name, hash, prefix, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ("key_far", "far", "0" * 64, "hx-far", time.time(), FAR, time.time() if revoked else None),
    )
    conn.commit()
    conn.close()


def test_a_stored_far_future_expiry_breaks_no_reader(admin: Helix, tmp_path: Path) -> None:
    store_far_future_key(admin.db_path)
    listed = call(admin, "GET", "/keys", params={"all": "true"})
    assert listed.status_code == 200 and listed.json()["data"][0]["name"] == "far"
    assert when(FAR) == "far future"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELIX_")}
    env.update(HELIX_STORAGE__PATH=str(admin.db_path), COLUMNS="200", HELIX_HOME=str(tmp_path / "home"))
    result = helix_cmd("keys", "list", "--all", env=env)
    assert result.returncode == 0, result.stderr
    assert "far future" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--expires", "3000000d"], "at most 100 years"),
        (["--rpm", str(2**63)], "rpm must be from 1 to"),
    ],
)
def test_cli_refuses_out_of_range_key_settings(tmp_path: Path, args: list[str], message: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELIX_")}
    env.update(HELIX_STORAGE__PATH=str(tmp_path / "helix.db"), HELIX_HOME=str(tmp_path / "home"), COLUMNS="200")
    result = helix_cmd("keys", "add", "app", *args, env=env)
    assert result.returncode != 0 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_the_dashboard_shows_a_stored_far_future_expiry(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState]
) -> None:
    from tests.test_dashboard import get, serve

    with serve(tmp_path, upstream[0].url, HELIX_PII__ENABLED="false") as served:
        served.client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
        store_far_future_key(served.db, revoked=False)
        for path in ("/dashboard/", "/dashboard/keys", "/dashboard/key?name=far"):
            page = get(served, path)
            assert page.status_code == 200, (path, page.text[:300])
        assert "far future" in page.text
